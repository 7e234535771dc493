/**
 * `portcullis k8s …` end to end: the real CLI writes certificates and YAML; openssl verifies the
 * certificates; a node:https server with them is trusted by a client holding ca.crt (and verifies the
 * API server's client certificate); the generated webhook kubeconfig is used the way the API server uses
 * it to POST the original example's ImageReview.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseImageReview, reviewImageReview } from '../../src/admission/index.ts';
import { defaultPolicy } from '../../src/config/policy-schema.ts';
import { REPO_ROOT } from '../helpers/paths.ts';

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
