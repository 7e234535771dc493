/**
 * `portcullis k8s …` end to end: the real CLI writes certificates and YAML; openssl verifies the
 * certificates; a node:https server with them is trusted by a client holding ca.crt (and verifies the
 * API server's client certificate); the generated webhook kubeconfig is used the way the API server uses
 * it to POST the original example's ImageReview.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseImageReview, reviewImageReview } from '../../src/admission/index.ts';
import { defaultPolicy, parsePolicy } from '../../src/config/policy-schema.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { osvFiles, writeZip } from './vulndb-helpers.ts';

const MAIN = join(REPO_ROOT, 'src', 'main.ts');

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const OPENSSL = hasOpenssl();

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { cwd: REPO_ROOT, timeout: 60_000, env: { ...process.env, PORTCULLIS_LOG_LEVEL: 'error' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function docs(yaml: string): Record<string, unknown>[] {
  return parseAllDocuments(yaml).map((d) => d.toJS() as Record<string, unknown>);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

function post(url: string, body: string, tls: { ca?: string; cert?: string; key?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json' }, ...tls, servername: 'localhost', timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('portcullis k8s certs', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-certs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const keyType of ['ecdsa', 'rsa'] as const) {
    it(`${keyType}: writes ca.crt, ca.key, tls.crt, tls.key (keys 0600) that openssl verifies, with the SANs asked for`, { skip: OPENSSL ? false : 'openssl not installed' }, async () => {
      const out = join(dir, keyType);
      const r = await cli(['k8s', 'certs', '--dns', 'portcullis.portcullis.svc', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', out, '--days', '30', '--key-type', keyType, '--client-cn', 'kube-apiserver']);
      assert.equal(r.code, 0, r.stderr);
      for (const f of ['ca.key', 'tls.key', 'client.key']) assert.equal(statSync(join(out, f)).mode & 0o777, 0o600, f);
      for (const f of ['ca.crt', 'tls.crt', 'client.crt']) assert.equal(statSync(join(out, f)).mode & 0o077, 0o044, f);
      const verify = execFileSync('openssl', ['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'tls.crt'), join(out, 'client.crt')], { encoding: 'utf8' });
      assert.match(verify, /tls\.crt: OK/);
      assert.match(verify, /client\.crt: OK/);
      const text = execFileSync('openssl', ['x509', '-in', join(out, 'tls.crt'), '-noout', '-text'], { encoding: 'utf8' });
      assert.match(text, /DNS:portcullis\.portcullis\.svc, DNS:localhost, IP Address:127\.0\.0\.1/);
      assert.match(text, /TLS Web Server Authentication/);
      assert.match(text, /CA:FALSE/);
      assert.match(text, keyType === 'rsa' ? /Public-Key: \(2048 bit\)/ : /Public-Key: \(256 bit\)[\s\S]*prime256v1|ASN1 OID: prime256v1/);
      const ca = execFileSync('openssl', ['x509', '-in', join(out, 'ca.crt'), '-noout', '-text'], { encoding: 'utf8' });
      assert.match(ca, /CA:TRUE/);
      assert.match(ca, /Certificate Sign/);
      const dates = execFileSync('openssl', ['x509', '-in', join(out, 'tls.crt'), '-noout', '-enddate'], { encoding: 'utf8' });
      const end = new Date(dates.replace('notAfter=', '').trim()).getTime();
      assert.ok(Math.abs(end - (Date.now() + 30 * 86_400_000)) < 86_400_000, 'valid --days 30');
      // The private key matches the certificate.
      const certPub = execFileSync('openssl', ['x509', '-in', join(out, 'tls.crt'), '-noout', '-pubkey'], { encoding: 'utf8' });
      const keyPub = execFileSync('openssl', ['pkey', '-in', join(out, 'tls.key'), '-pubout'], { encoding: 'utf8' });
      assert.equal(certPub, keyPub);
    });
  }

  it('a node:https server with tls.crt/tls.key is trusted by a client holding ca.crt, refused without it, and verifies the client certificate', async () => {
    const out = join(dir, 'tls');
    const r = await cli(['k8s', 'certs', '--dns', 'localhost', '--out', out, '--client-cn', 'kube-apiserver']);
    assert.equal(r.code, 0, r.stderr);
    const read = (f: string) => readFileSync(join(out, f), 'utf8');
    const server = createServer({ cert: read('tls.crt'), key: read('tls.key'), ca: read('ca.crt'), requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const sock = req.socket as import('node:tls').TLSSocket;
      res.end(JSON.stringify({ authorized: sock.authorized, cn: sock.getPeerCertificate().subject?.CN ?? null }));
    });
    const port = await listen(server);
    try {
      const url = `https://localhost:${port}/x`;
      const trusted = await post(url, '{}', { ca: read('ca.crt'), cert: read('client.crt'), key: read('client.key') });
      assert.deepEqual(JSON.parse(trusted.body), { authorized: true, cn: 'kube-apiserver' });
      const anonymous = await post(url, '{}', { ca: read('ca.crt') });
      assert.equal(JSON.parse(anonymous.body).authorized, false);
      await assert.rejects(post(url, '{}', {}), /self[- ]signed|unable to verify|UNABLE_TO_GET_ISSUER/i);
    } finally {
      await close(server);
    }
  });

  it('refuses to overwrite without --force, and bad flags are one-line errors with exit 1', async () => {
    const out = join(dir, 'again');
    assert.equal((await cli(['k8s', 'certs', '--dns', 'a.example', '--out', out])).code, 0);
    const before = readFileSync(join(out, 'ca.key'), 'utf8');
    const again = await cli(['k8s', 'certs', '--dns', 'a.example', '--out', out]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: .*ca\.crt.* already exist.*--force/m);
    assert.equal(readFileSync(join(out, 'ca.key'), 'utf8'), before, 'nothing replaced');
    assert.equal((await cli(['k8s', 'certs', '--dns', 'a.example', '--out', out, '--force'])).code, 0);
    assert.notEqual(readFileSync(join(out, 'ca.key'), 'utf8'), before);
    for (const [args, re] of [
      [['--dns', 'bad_name!', '--out', join(dir, 'x')], /--dns "bad_name!" is not a valid DNS name/],
      [['--out', join(dir, 'y')], /at least one --dns/],
      [['--dns', 'a.example', '--out', join(dir, 'z'), '--days', '0'], /--days must be an integer from 1 to 3650/],
      [['--dns', 'a.example', '--ip', '999.1.1.1', '--out', join(dir, 'w')], /--ip "999\.1\.1\.1" is not an IP address/],
    ] as [string[], RegExp][]) {
      const r = await cli(['k8s', 'certs', ...args]);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.equal(existsSync(join(dir, 'x', 'ca.key')), false);
  });
});

describe('portcullis k8s config image-policy', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-k8s-'));
    const r = await cli(['k8s', 'certs', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', join(dir, 'certs'), '--client-cn', 'kube-apiserver']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("plain http prints the original example's AdmissionConfiguration and kubeconfig", async () => {
    const r = await cli(['k8s', 'config', 'image-policy', '--url', 'http://192.168.108.48:5000/scan']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: plain http/);
    const [admission, kubeconfig] = docs(r.stdout);
    assert.deepEqual(admission, {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AdmissionConfiguration',
      plugins: [
        {
          name: 'ImagePolicyWebhook',
          configuration: { imagePolicy: { kubeConfigFile: '/etc/kubernetes/webhook-kubeconfig.yaml', allowTTL: 50, denyTTL: 50, retryBackoff: 500, defaultAllow: false } },
        },
      ],
    });
    assert.deepEqual(kubeconfig, {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'webhook', cluster: { server: 'http://192.168.108.48:5000/scan' } }],
      contexts: [{ name: 'webhook', context: { cluster: 'webhook', user: '' } }],
      'current-context': 'webhook',
    });
  });

  it('https with CA and client certificate: the kubeconfig works the way the API server uses it', async () => {
    const c = join(dir, 'certs');
    const r = await cli(['k8s', 'config', 'image-policy', '--url', 'https://127.0.0.1:1/', '--ca-bundle', join(c, 'ca.crt'), '--client-cert', join(c, 'client.crt'), '--client-key', join(c, 'client.key'), '--deny-ttl', '5']);
    assert.equal(r.code, 0, r.stderr);
    const [admission, kc] = docs(r.stdout) as [Record<string, unknown>, { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[]; contexts: { context: { user: string } }[] }];
    assert.match(JSON.stringify(admission), /"denyTTL":5/);
    const cluster = kc.clusters[0]!.cluster;
    assert.equal(cluster['server'], 'https://127.0.0.1:1/image-policy', 'a bare URL gets /image-policy');
    const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');
    assert.equal(b64(cluster['certificate-authority-data']), readFileSync(join(c, 'ca.crt'), 'utf8'));
    assert.equal(kc.contexts[0]!.context.user, 'api-server');
    const user = kc.users[0]!.user;
    assert.equal(b64(user['client-key-data']), readFileSync(join(c, 'client.key'), 'utf8'));

    // A webhook server with the serving certificate, requiring the client certificate, answering ImageReviews.
    const server = createServer(
      { cert: readFileSync(join(c, 'tls.crt')), key: readFileSync(join(c, 'tls.key')), ca: readFileSync(join(c, 'ca.crt')), requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (x: Buffer) => chunks.push(x));
        req.on('end', () => {
          void (async () => {
            const review = parseImageReview(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            const { response } = await reviewImageReview(
              review,
              async (image) =>
                image === 'nginx:latest'
                  ? { state: 'scanned', image, digest: `sha256:${'ab'.repeat(32)}`, fromCache: false, findings: [{ advisoryId: 'CVE-2023-1234', aliases: [], package: { type: 'deb', name: 'openssl', version: '3.0.2', purl: 'pkg:deb/debian/openssl@3.0.2', locations: [] }, installedVersion: '3.0.2', fixedVersion: '3.0.7', status: 'fixed', severity: 'CRITICAL', severitySource: 'nvd' }] }
                  : { state: 'scanned', image, digest: `sha256:${'cd'.repeat(32)}`, fromCache: false, findings: [] },
              defaultPolicy,
              { now: new Date(), deadline: Date.now() + 2000 },
            );
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify(response));
          })();
        });
      },
    );
    const port = await listen(server);
    try {
      const seedBody = '{"apiVersion": "imagepolicy.k8s.io/v1alpha1", "kind": "ImageReview", "spec": {"containers": [{"image": "alpine:3.22"}, {"image": "nginx:latest"}]}}';
      const got = await post(`https://127.0.0.1:${port}/image-policy`, seedBody, { ca: b64(cluster['certificate-authority-data']), cert: b64(user['client-certificate-data']), key: b64(user['client-key-data']) });
      assert.equal(got.status, 200);
      const answer = JSON.parse(got.body) as { status: { allowed: boolean; reason: string; results: { image: string; allowed: boolean }[] } };
      assert.equal(answer.status.allowed, false);
      assert.match(answer.status.reason, /nginx:latest \(sha256:abababababab\): 1 CRITICAL: CVE-2023-1234 \(openssl 3\.0\.2, fixed 3\.0\.7\)/);
      assert.deepEqual(answer.status.results.map((x) => x.allowed), [true, false]);
      // Without the client certificate the server refuses the TLS handshake.
      await assert.rejects(post(`https://127.0.0.1:${port}/image-policy`, seedBody, { ca: b64(cluster['certificate-authority-data']) }));
    } finally {
      await close(server);
    }
  });

  it('--output-dir writes both files atomically (kubeconfig with a client key is 0600)', async () => {
    const c = join(dir, 'certs');
    const out = join(dir, 'out');
    const r = await cli(['k8s', 'config', 'image-policy', '--url', 'https://portcullis.example:8443/scan', '--ca-bundle', join(c, 'ca.crt'), '--client-cert', join(c, 'client.crt'), '--client-key', join(c, 'client.key'), '--output-dir', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(statSync(join(out, 'webhook-kubeconfig.yaml')).mode & 0o777, 0o600);
    const [a] = docs(readFileSync(join(out, 'admission-control-config.yaml'), 'utf8'));
    assert.equal((a as { kind: string }).kind, 'AdmissionConfiguration');
    const [k] = docs(readFileSync(join(out, 'webhook-kubeconfig.yaml'), 'utf8')) as { clusters: { cluster: { server: string } }[] }[];
    assert.equal(k!.clusters[0]!.cluster.server, 'https://portcullis.example:8443/scan');
  });

  it('bad input: one-line errors, exit 1', async () => {
    const c = join(dir, 'certs');
    writeFileSync(join(dir, 'not-a-cert.pem'), '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n');
    const cases: [string[], RegExp][] = [
      [['--url', 'not a url'], /--url "not a url" is not a URL/],
      [['--url', 'ftp://x/y'], /--url must be https:\/\//],
      [['--url', 'https://u:p@x/y'], /must not contain credentials/],
      [['--url', 'http://x/scan', '--ca-bundle', join(c, 'ca.crt')], /need an https:\/\/ --url/],
      [['--url', 'https://x/scan', '--client-cert', join(c, 'client.crt')], /--client-cert and --client-key go together/],
      [['--url', 'https://x/scan', '--ca-bundle', join(c, 'ca.key')], /is not a PEM certificate/],
      [['--url', 'https://x/scan', '--ca-bundle', join(dir, 'not-a-cert.pem')], /does not contain a valid X\.509 certificate/],
      [['--url', 'https://x/scan', '--ca-bundle', join(dir, 'missing.pem')], /cannot read --ca-bundle .*ENOENT/],
      [['--url', 'https://x/scan', '--deny-ttl', '1801'], /--deny-ttl must be an integer from -1 to 1800/],
      [['--url', 'https://x/scan', '--retry-backoff', '1.5'], /--retry-backoff must be an integer/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(['k8s', 'config', 'image-policy', ...args]);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});

describe('portcullis k8s config validating', () => {
  let dir: string;
  let ca: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-vwc-'));
    const r = await cli(['k8s', 'certs', '--dns', 'portcullis.security.svc', '--out', join(dir, 'certs')]);
    assert.equal(r.code, 0, r.stderr);
    ca = join(dir, 'certs', 'ca.crt');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  type Webhook = {
    name: string;
    admissionReviewVersions: string[];
    sideEffects: string;
    failurePolicy: string;
    timeoutSeconds: number;
    reinvocationPolicy?: string;
    clientConfig: { url?: string; service?: { namespace: string; name: string; path: string; port: number }; caBundle: string };
    namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
    rules: { operations: string[]; apiGroups: string[]; apiVersions: string[]; resources: string[]; scope: string }[];
  };

  it('--service: ValidatingWebhookConfiguration v1, sideEffects None, v1 reviews, Fail, 10 s, own namespace and kube-system excluded, pods + workloads', async () => {
    const r = await cli(['k8s', 'config', 'validating', '--service', 'security/portcullis', '--ca-bundle', ca]);
    assert.equal(r.code, 0, r.stderr);
    const [doc] = docs(r.stdout) as { apiVersion: string; kind: string; webhooks: Webhook[] }[];
    assert.equal(doc!.apiVersion, 'admissionregistration.k8s.io/v1');
    assert.equal(doc!.kind, 'ValidatingWebhookConfiguration');
    const w = doc!.webhooks[0]!;
    assert.deepEqual([w.name, w.sideEffects, w.failurePolicy, w.timeoutSeconds], ['validate.portcullis.io', 'None', 'Fail', 10]);
    assert.deepEqual(w.admissionReviewVersions, ['v1']);
    assert.deepEqual(w.clientConfig.service, { namespace: 'security', name: 'portcullis', path: '/validate', port: 443 });
    assert.equal(Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8'), readFileSync(ca, 'utf8'));
    assert.deepEqual(w.namespaceSelector.matchExpressions, [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'security'] }]);
    const resources = w.rules.flatMap((x) => x.resources.map((res) => `${x.apiGroups[0] || 'core'}/${res}`));
    assert.deepEqual(resources.sort(), [
      'apps/daemonsets',
      'apps/deployments',
      'apps/replicasets',
      'apps/statefulsets',
      'batch/cronjobs',
      'batch/jobs',
      'core/pods',
      'core/pods/ephemeralcontainers',
      'core/podtemplates',
      'core/replicationcontrollers',
    ]);
    assert.ok(w.rules.every((x) => x.operations.join() === 'CREATE,UPDATE'));
  });

  it('--url, --timeout, --failure-policy, --exclude-namespace, --mutating on /mutate', async () => {
    const out = join(dir, 'mwc.yaml');
    const r = await cli(['k8s', 'config', 'validating', '--url', 'https://portcullis.example:8443', '--ca-bundle', ca, '--timeout', '30', '--failure-policy', 'Ignore', '--exclude-namespace', 'monitoring', '--mutating', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    const [doc] = docs(readFileSync(out, 'utf8')) as { kind: string; webhooks: Webhook[] }[];
    assert.equal(doc!.kind, 'MutatingWebhookConfiguration');
    const w = doc!.webhooks[0]!;
    assert.equal(w.clientConfig.url, 'https://portcullis.example:8443/mutate');
    assert.deepEqual([w.timeoutSeconds, w.failurePolicy, w.reinvocationPolicy, w.name], [30, 'Ignore', 'IfNeeded', 'mutate.portcullis.io']);
    assert.deepEqual(w.namespaceSelector.matchExpressions[0]!.values, ['kube-system', 'portcullis', 'monitoring']);
  });

  it('bad input: one-line errors, exit 1', async () => {
    const cases: [string[], RegExp][] = [
      [['--service', 'security/portcullis', '--ca-bundle', ca, '--timeout', '31'], /--timeout must be an integer from 1 to 30/],
      [['--service', 'security', '--ca-bundle', ca], /--service must be NAMESPACE\/NAME/],
      [['--url', 'https://x.example/v', '--service', 'a/b', '--ca-bundle', ca], /exactly one of --url URL or --service/],
      [['--ca-bundle', ca], /exactly one of --url URL or --service/],
      [['--url', 'http://x.example/v', '--ca-bundle', ca], /must be https:\/\//],
      [['--service', 'a/b', '--ca-bundle', ca, '--failure-policy', 'Maybe'], /Allowed choices are Fail, Ignore/],
      [['--service', 'a/b', '--ca-bundle', ca, '--name', 'portcullis'], /--name "portcullis" must be a fully qualified name/],
      [['--service', 'a/b'], /required option '--ca-bundle <file>'/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(['k8s', 'config', 'validating', ...args]);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
    }
  });
});

describe('portcullis k8s config deployment', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-deploy-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  type Container = { name: string; image: string; command: string[]; args: string[]; env: { name: string; value: string }[]; ports?: { name: string; containerPort: number }[]; readinessProbe?: { httpGet: { path: string; port: string; scheme: string } }; livenessProbe?: { httpGet: { path: string } }; securityContext: Record<string, unknown>; volumeMounts: { name: string; mountPath: string }[] };
  type Deployment = { metadata: { name: string; namespace: string; labels: Record<string, string> }; spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; automountServiceAccountToken: boolean; securityContext: Record<string, unknown>; containers: Container[]; volumes: { name: string; secret?: { secretName: string }; configMap?: { name: string } }[] } } } };

  async function generate(args: string[]): Promise<{ all: Record<string, unknown>[]; byKind: Map<string, Record<string, unknown>>; text: string }> {
    const r = await cli(['k8s', 'config', 'deployment', ...args]);
    assert.equal(r.code, 0, r.stderr);
    const all = docs(r.stdout);
    return { all, byKind: new Map(all.map((d) => [d['kind'] as string, d])), text: r.stdout };
  }

  it('defaults: the objects fit together (selectors, ports, names, the Service that `validating --service` points at), hardened, no YAML aliases', async () => {
    const { all, byKind, text } = await generate(['--image', 'registry.internal/portcullis:0.1.0']);
    assert.deepEqual(all.map((d) => d['kind']), ['Namespace', 'ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget']);
    assert.doesNotMatch(text, /^\s*(?:- )?[&*]a\d|: [&*]a\d/m, 'plain YAML, no anchors');
    for (const d of all.slice(1)) assert.equal((d['metadata'] as { namespace: string }).namespace, 'portcullis');
    const dep = byKind.get('Deployment') as unknown as Deployment;
    const pod = dep.spec.template;
    assert.deepEqual(dep.spec.selector.matchLabels, pod.metadata.labels);
    const svc = byKind.get('Service') as { metadata: { name: string }; spec: { selector: Record<string, string>; ports: { port: number; targetPort: string }[] } };
    assert.deepEqual(svc.spec.selector, pod.metadata.labels);
    assert.equal(svc.metadata.name, 'portcullis');
    assert.equal(svc.spec.ports[0]!.port, 443, 'the default --port of `k8s config validating --service`');
    const [server, sidecar] = pod.spec.containers;
    assert.equal(server!.ports!.find((p) => p.name === svc.spec.ports[0]!.targetPort)!.containerPort, 8443);
    assert.deepEqual([server!.readinessProbe!.httpGet.path, server!.readinessProbe!.httpGet.scheme, server!.livenessProbe!.httpGet.path], ['/readyz', 'HTTPS', '/healthz']);
    assert.deepEqual(sidecar!.args, ['db', 'update', '--every', '6h']);
    for (const c of [server!, sidecar!]) {
      assert.equal(c.image, 'registry.internal/portcullis:0.1.0');
      assert.deepEqual(c.command, ['portcullis']);
      assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      assert.ok(c.volumeMounts.some((m) => m.name === 'cache' && m.mountPath === c.env.find((e) => e.name === 'PORTCULLIS_CACHE_DIR')!.value), 'both share the cache volume');
      assert.ok(c.volumeMounts.some((m) => m.mountPath === '/tmp'), 'a writable /tmp on a read-only root');
    }
    assert.equal(pod.spec.automountServiceAccountToken, false);
    assert.equal(pod.spec.serviceAccountName, 'portcullis');
    assert.equal(pod.spec.volumes.find((v) => v.name === 'tls')!.secret!.secretName, 'portcullis-tls');
    const cm = byKind.get('ConfigMap') as { data: Record<string, string> };
    assert.equal(parsePolicyYaml(cm.data['portcullis.yaml']!).mode, 'enforce');
    const pdb = byKind.get('PodDisruptionBudget') as { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
    assert.deepEqual(pdb.spec.selector.matchLabels, pod.metadata.labels);
    const one = await generate(['--image', 'registry.internal/portcullis:0.1.0', '--replicas', '1']);
    assert.ok(!one.byKind.has('PodDisruptionBudget'), 'no PDB for a single replica');
  });

  it('flags: namespace, name, registry secret, trivy source with a mirror, a validated config file', async () => {
    const conf = join(dir, 'portcullis.yaml');
    writeFileSync(conf, 'policy:\n  mode: warn\n  severities: [CRITICAL]\nserver:\n  workers: 3\n');
    const { byKind } = await generate(['--image', 'r.example/p@sha256:' + 'a'.repeat(64), '--namespace', 'security', '--name', 'gate', '--registry-secret', 'pull', '--db-source', 'trivy', '--db-mirror', 'mirror.internal/trivy-db:2', '--db-update-every', '2h', '--config', conf]);
    const dep = byKind.get('Deployment') as unknown as Deployment;
    assert.deepEqual([dep.metadata.name, dep.metadata.namespace], ['gate', 'security']);
    const [server, sidecar] = dep.spec.template.spec.containers;
    assert.deepEqual(sidecar!.args, ['db', 'update', '--every', '2h', '--source', 'trivy', '--repository', 'mirror.internal/trivy-db:2']);
    const i = server!.args.indexOf('--registry-config');
    assert.equal(server!.args[i + 1], '/etc/portcullis/registry/.dockerconfigjson');
    assert.equal(dep.spec.template.spec.volumes.find((v) => v.name === 'registry')!.secret!.secretName, 'pull');
    assert.equal(dep.spec.template.spec.volumes.find((v) => v.name === 'config')!.configMap!.name, 'gate');
    assert.equal((byKind.get('ConfigMap') as { data: Record<string, string> }).data['portcullis.yaml'], readFileSync(conf, 'utf8'));
  });

  it('bad input: one-line errors, exit 1', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'policy:\n  mode: sometimes\n');
    const cases: [string[], RegExp][] = [
      [[], /required option '--image <ref>'/],
      [['--image', 'x;rm -rf /'], /--image: /],
      [['--image', 'p:1', '--namespace', 'Not_Valid'], /--namespace "Not_Valid" is not a valid name/],
      [['--image', 'p:1', '--replicas', '0'], /--replicas must be an integer from 1 to 50/],
      [['--image', 'p:1', '--db-update-every', '10s'], /--db-update-every "10s" is not a duration of at least 1m/],
      [['--image', 'p:1', '--db-source', 'nvd'], /Allowed choices are osv, trivy/],
      [['--image', 'p:1', '--config', bad], /policy\.mode/],
      [['--image', 'p:1', '--config', join(dir, 'missing.yaml')], /does not exist/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(['k8s', 'config', 'deployment', ...args]);
      assert.equal(r.code, 1, args.join(' '));
      const first = r.stderr.trim().split('\n')[0] ?? '';
      assert.match(first, /^error: /, r.stderr);
      assert.match(first, re, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stdout, '');
    }
  });

  it("the pod's two containers, run here with their own args: the server is live at once, ready once the sidecar's first db update lands, and both stop on SIGTERM with exit 0", async () => {
    const certs = join(dir, 'certs');
    assert.equal((await cli(['k8s', 'certs', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', certs])).code, 0);
    const mirror = join(dir, 'mirror');
    mkdirSync(join(mirror, 'PyPI'), { recursive: true });
    await writeZip(join(mirror, 'PyPI', 'all.zip'), osvFiles('PyPI'));
    const { byKind } = await generate(['--image', 'registry.internal/portcullis:0.1.0', '--db-mirror', mirror]);
    const dep = byKind.get('Deployment') as unknown as Deployment;
    const cm = byKind.get('ConfigMap') as { data: Record<string, string> };
    const confDir = join(dir, 'config');
    mkdirSync(confDir);
    writeFileSync(join(confDir, 'portcullis.yaml'), cm.data['portcullis.yaml']!);
    const port = await freePort();
    // The pod's mounts, here: the same paths under temp dirs; the port a free one; loopback only.
    const local = (args: string[]): string[] =>
      args.map((a, i) =>
        a.startsWith('/etc/portcullis/tls/') ? join(certs, a.slice('/etc/portcullis/tls/'.length)) : a.startsWith('/etc/portcullis/config/') ? join(confDir, a.slice('/etc/portcullis/config/'.length)) : args[i - 1] === '--port' ? String(port) : args[i - 1] === '--host' ? '127.0.0.1' : a,
      );
    const [server, sidecar] = dep.spec.template.spec.containers;
    const cache = join(dir, 'cache');
    const env = { ...process.env, PORTCULLIS_LOG_LEVEL: 'error', PORTCULLIS_CACHE_DIR: cache };
    assert.equal(server!.env[0]!.name, 'PORTCULLIS_CACHE_DIR');
    const srv = spawn(process.execPath, [MAIN, ...local(server!.args)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const srvExit = new Promise<number | null>((r) => srv.on('exit', (c) => r(c)));
    let side: ReturnType<typeof spawn> | undefined;
    try {
      const ca = readFileSync(join(certs, 'ca.crt'), 'utf8');
      const url = (p: string): string => `https://127.0.0.1:${port}${p}`;
      const until = async (p: string, status: number, ms: number): Promise<number> => {
        const end = Date.now() + ms;
        let last = 0;
        while (Date.now() < end) {
          last = await get(url(p), ca).catch(() => 0);
          if (last === status) return last;
          await new Promise((r) => setTimeout(r, 100));
        }
        return last;
      };
      assert.equal(await until('/healthz', 200, 30_000), 200, 'liveness probe');
      assert.equal(await get(url('/readyz'), ca), 503, 'not ready without a DB');
      side = spawn(process.execPath, [MAIN, ...local(sidecar!.args)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      const s = side;
      const sideExit = new Promise<number | null>((r) => s.on('exit', (c) => r(c)));
      assert.equal(await until('/readyz', 200, 40_000), 200, 'readiness probe once the first DB is in');
      srv.kill('SIGTERM');
      side.kill('SIGTERM');
      assert.equal(await srvExit, 0);
      assert.equal(await sideExit, 0);
    } finally {
      srv.kill('SIGKILL');
      side?.kill('SIGKILL');
    }
  });
});

function parsePolicyYaml(text: string): { mode: string } {
  const d = parseAllDocuments(text)[0]!.toJS() as { policy: unknown };
  return parsePolicy(d.policy);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function get(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'GET', ca, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
