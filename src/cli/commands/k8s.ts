/**
 * `portcullis k8s …`: wire Portcullis into a cluster.
 *
 *   k8s config image-policy --url URL [--ca-bundle F] [--client-cert F --client-key F] [--output-dir D]
 *       AdmissionConfiguration (ImagePolicyWebhook) + the webhook kubeconfig, as the original example
 *   k8s config validating --url URL | --service NS/NAME --ca-bundle F [--mutating] [--timeout 10] …
 *       Validating (or Mutating) WebhookConfiguration
 *   k8s config deployment --image REF [--namespace portcullis] [--replicas 2] [--db-source osv|trivy] …
 *       Namespace, ServiceAccount, ConfigMap, Deployment (server + db-update sidecar), Service, PDB
 *   k8s certs --dns NAME [--dns …] --out DIR [--days N] [--key-type ecdsa|rsa] [--client-cn CN]
 *       ca.crt, ca.key, tls.crt, tls.key (keys 0600, written atomically)
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Option } from 'commander';
import { UserError } from '../../shared/errors.ts';
import type { CliContext } from '../context.ts';
import type { RegisterCommand } from './index.ts';

const MAX_PEM = 1024 * 1024;

/** Writes `data` to `path` through a temp file in the same directory (never a half-written file). */
export function writeFileAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    writeSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new UserError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { code: 'OUTPUT_FAILED', cause: err });
  }
}

/** Reads a PEM file given on the command line; `what` names the flag in errors. */
export function readPem(file: string, what: string, kind: 'certificate' | 'key'): string {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new UserError(`${what} ${file} is not a regular file`, { code: 'FLAG_INVALID' });
    if (st.size > MAX_PEM) throw new UserError(`${what} ${file} is larger than 1 MB`, { code: 'FLAG_INVALID' });
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { code: 'FLAG_INVALID', cause: err });
  }
  const re = kind === 'certificate' ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;
  if (!re.test(text)) throw new UserError(`${what} ${file} is not a PEM ${kind}`, { code: 'FLAG_INVALID' });
  return text;
}

async function checkCertificate(pem: string, what: string, file: string): Promise<void> {
  const { X509Certificate } = await import('node:crypto');
  try {
    new X509Certificate(pem);
  } catch {
    throw new UserError(`${what} ${file} does not contain a valid X.509 certificate`, { code: 'FLAG_INVALID' });
  }
}

function intOption(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isInteger(n) || n < min || n > max) {
    throw new UserError(`${name} must be an integer from ${min} to ${max}, not "${v.slice(0, 40)}"`, { code: 'FLAG_INVALID' });
  }
  return n;
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

async function yamlDocs(docs: Record<string, unknown>[]): Promise<string> {
  const { stringify } = await import('yaml');
  return docs.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

interface ImagePolicyFlags {
  url: string;
  caBundle?: string;
  clientCert?: string;
  clientKey?: string;
  outputDir?: string;
  kubeconfigPath: string;
  allowTtl: string;
  denyTtl: string;
  retryBackoff: string;
  defaultAllow: boolean;
}

async function runImagePolicy(f: ImagePolicyFlags, ctx: CliContext): Promise<void> {
  const m = await import('../../admission/k8s-manifests.ts');
  const url = m.checkWebhookUrl(f.url, '/image-policy');
  if ((f.clientCert === undefined) !== (f.clientKey === undefined)) {
    throw new UserError('--client-cert and --client-key go together', { code: 'FLAG_INVALID' });
  }
  if (url.protocol === 'http:' && (f.caBundle || f.clientCert)) {
    throw new UserError('--ca-bundle / --client-cert need an https:// --url', { code: 'FLAG_INVALID' });
  }
  const tls: Parameters<typeof m.webhookKubeconfig>[1] = {};
  if (f.caBundle) {
    tls.caPem = readPem(f.caBundle, '--ca-bundle', 'certificate');
    await checkCertificate(tls.caPem, '--ca-bundle', f.caBundle);
  }
  if (f.clientCert && f.clientKey) {
    tls.clientCertPem = readPem(f.clientCert, '--client-cert', 'certificate');
    await checkCertificate(tls.clientCertPem, '--client-cert', f.clientCert);
    tls.clientKeyPem = readPem(f.clientKey, '--client-key', 'key');
  }
  const admission = m.imagePolicyAdmissionConfig({
    kubeconfigPath: f.kubeconfigPath,
    // The plugin's own bounds: -1 disables, 0 takes its default, else 1 s..30 min (TTLs) and 1 ms..5 min (backoff).
    allowTTL: intOption(f.allowTtl, '--allow-ttl', -1, 1800),
    denyTTL: intOption(f.denyTtl, '--deny-ttl', -1, 1800),
    retryBackoff: intOption(f.retryBackoff, '--retry-backoff', -1, 300_000),
    defaultAllow: f.defaultAllow,
  });
  const kubeconfig = m.webhookKubeconfig(url.toString(), tls);
  if (url.protocol === 'http:' && !ctx.quiet) {
    ctx.stderr.write('warning: plain http:// — anyone on the path can forge admission answers; use https:// outside a lab\n');
  }
  if (!f.outputDir) {
    ctx.stdout.write(await yamlDocs([admission, kubeconfig]));
    return;
  }
  mkdirSync(f.outputDir, { recursive: true });
  const a = join(f.outputDir, 'admission-control-config.yaml');
  const k = join(f.outputDir, 'webhook-kubeconfig.yaml');
  writeFileAtomic(a, await yamlDocs([admission]), 0o644);
  writeFileAtomic(k, await yamlDocs([kubeconfig]), tls.clientKeyPem ? 0o600 : 0o644);
  if (!ctx.quiet) ctx.stderr.write(`wrote ${a}\nwrote ${k}\n`);
}

interface WebhookFlags {
  url?: string;
  service?: string;
  path?: string;
  port: string;
  caBundle: string;
  timeout: string;
  failurePolicy: string;
  mutating: boolean;
  name?: string;
  excludeNamespace?: string[];
  namespace?: string;
  output?: string;
}

const K8S_NAME = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const WEBHOOK_NAME = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?){2,}$/;

async function runWebhook(f: WebhookFlags, ctx: CliContext): Promise<void> {
  const m = await import('../../admission/k8s-manifests.ts');
  const defaultPath = f.mutating ? '/mutate' : '/validate';
  if ((f.url === undefined) === (f.service === undefined)) throw new UserError('give exactly one of --url URL or --service NAMESPACE/NAME', { code: 'FLAG_INVALID' });
  let target: Parameters<typeof m.webhookConfiguration>[0]['target'];
  let ownNamespace = f.namespace ?? 'portcullis';
  if (f.url !== undefined) {
    if (f.path !== undefined) throw new UserError('--path goes with --service (put the path in --url)', { code: 'FLAG_INVALID' });
    const u = m.checkWebhookUrl(f.url, defaultPath);
    if (u.protocol !== 'https:') throw new UserError('admission webhooks must be https:// (the API server refuses plain http)', { code: 'FLAG_INVALID' });
    target = { url: u.toString() };
  } else {
    const [ns, name, ...rest] = (f.service ?? '').split('/');
    if (!ns || !name || rest.length || !K8S_NAME.test(ns) || !K8S_NAME.test(name)) {
      throw new UserError(`--service must be NAMESPACE/NAME (lower-case DNS labels), not "${(f.service ?? '').slice(0, 100)}"`, { code: 'FLAG_INVALID' });
    }
    const path = f.path ?? defaultPath;
    if (!path.startsWith('/') || /[\s?#]/.test(path)) throw new UserError(`--path must be an absolute path like ${defaultPath}`, { code: 'FLAG_INVALID' });
    target = { service: { namespace: ns, name, path, port: intOption(f.port, '--port', 1, 65_535) } };
    if (f.namespace === undefined) ownNamespace = ns;
  }
  const caPem = readPem(f.caBundle, '--ca-bundle', 'certificate');
  await checkCertificate(caPem, '--ca-bundle', f.caBundle);
  if (f.failurePolicy !== 'Fail' && f.failurePolicy !== 'Ignore') throw new UserError('--failure-policy must be Fail or Ignore', { code: 'FLAG_INVALID' });
  const name = f.name ?? (f.mutating ? 'mutate.portcullis.io' : 'validate.portcullis.io');
  if (!WEBHOOK_NAME.test(name)) throw new UserError(`--name "${name.slice(0, 100)}" must be a fully qualified name with at least three labels (validate.images.example.com)`, { code: 'FLAG_INVALID' });
  const exclude = ['kube-system', ownNamespace, ...(f.excludeNamespace ?? [])];
  for (const ns of exclude) if (!K8S_NAME.test(ns)) throw new UserError(`namespace "${ns.slice(0, 100)}" is not a valid name`, { code: 'FLAG_INVALID' });
  const doc = m.webhookConfiguration({
    kind: f.mutating ? 'mutating' : 'validating',
    name,
    target,
    caPem,
    timeoutSeconds: intOption(f.timeout, '--timeout', 1, 30),
    failurePolicy: f.failurePolicy,
    excludeNamespaces: exclude,
  });
  const text = await yamlDocs([doc]);
  if (f.output && f.output !== '-') writeFileAtomic(f.output, text, 0o644);
  else ctx.stdout.write(text);
}

interface DeploymentFlags {
  image: string;
  namespace: string;
  name: string;
  replicas: string;
  tlsSecret: string;
  registrySecret?: string;
  dbSource: string;
  dbUpdateEvery: string;
  dbMirror?: string;
  config?: string;
  command: string;
  output?: string;
}

const DEFAULT_SERVER_CONFIG = `# portcullis.yaml of the in-cluster server: docs/server.md (server:) and docs/policy.md (policy:)
policy:
  severities: [HIGH, CRITICAL]
  mode: enforce
`;

async function runDeployment(f: DeploymentFlags, ctx: CliContext): Promise<void> {
  const [m, { parseReference }, { parseDuration }] = await Promise.all([
    import('../../admission/k8s-manifests.ts'),
    import('../../image/reference.ts'),
    import('../../shared/duration.ts'),
  ]);
  try {
    parseReference(f.image);
  } catch (err) {
    throw new UserError(`--image: ${(err as Error).message}`, { code: 'FLAG_INVALID' });
  }
  for (const [flag, v] of [['--namespace', f.namespace], ['--name', f.name], ['--tls-secret', f.tlsSecret], ['--registry-secret', f.registrySecret]] as const) {
    if (v !== undefined && !K8S_NAME.test(v)) throw new UserError(`${flag} "${v.slice(0, 100)}" is not a valid name (lower-case DNS label)`, { code: 'FLAG_INVALID' });
  }
  if (f.dbSource !== 'osv' && f.dbSource !== 'trivy') throw new UserError('--db-source must be osv or trivy', { code: 'FLAG_INVALID' });
  const every = parseDuration(f.dbUpdateEvery);
  if (every === undefined || every < 60_000) throw new UserError(`--db-update-every "${f.dbUpdateEvery.slice(0, 40)}" is not a duration of at least 1m (e.g. 6h)`, { code: 'FLAG_INVALID' });
  const command = f.command.split(' ').filter(Boolean);
  if (command.length === 0) throw new UserError('--command must name the program that runs portcullis in the image', { code: 'FLAG_INVALID' });
  let configYaml = DEFAULT_SERVER_CONFIG;
  if (f.config !== undefined) {
    const [{ readConfigFile, configSection }, { serverSchema }, { policySchema }] = await Promise.all([
      import('../../config/load.ts'),
      import('../../config/server-schema.ts'),
      import('../../config/policy-schema.ts'),
    ]);
    const file = readConfigFile(f.config, process.cwd());
    configSection(file, 'server', serverSchema);
    configSection(file, 'policy', policySchema);
    configYaml = readFileSync(file.path ?? f.config, 'utf8');
  }
  const docs = m.deploymentManifests({
    image: f.image,
    namespace: f.namespace,
    name: f.name,
    replicas: intOption(f.replicas, '--replicas', 1, 50),
    tlsSecret: f.tlsSecret,
    ...(f.registrySecret !== undefined ? { registrySecret: f.registrySecret } : {}),
    dbSource: f.dbSource,
    dbUpdateEvery: f.dbUpdateEvery,
    ...(f.dbMirror !== undefined ? { dbMirror: f.dbMirror } : {}),
    configYaml,
    command,
  });
  const text = await yamlDocs(docs);
  if (f.output && f.output !== '-') writeFileAtomic(f.output, text, 0o644);
  else ctx.stdout.write(text);
}

interface CertFlags {
  dns?: string[];
  ip?: string[];
  out: string;
  days: string;
  keyType: string;
  clientCn?: string;
  force: boolean;
}

async function runCerts(f: CertFlags, ctx: CliContext): Promise<void> {
  if (f.keyType !== 'ecdsa' && f.keyType !== 'rsa') throw new UserError('--key-type must be ecdsa (P-256) or rsa (2048)', { code: 'FLAG_INVALID' });
  const names = ['ca.crt', 'ca.key', 'tls.crt', 'tls.key', ...(f.clientCn ? ['client.crt', 'client.key'] : [])];
  const paths = names.map((n) => join(f.out, n));
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length && !f.force) throw new UserError(`${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''} (use --force to replace)`, { code: 'OUTPUT_EXISTS' });
  const { generateCerts } = await import('../../admission/certs.ts');
  const req: Parameters<typeof generateCerts>[0] = { dns: f.dns ?? [], ips: f.ip ?? [], days: intOption(f.days, '--days', 1, 3650), keyType: f.keyType };
  if (f.clientCn) req.clientCommonName = f.clientCn;
  const g = await generateCerts(req);
  mkdirSync(f.out, { recursive: true, mode: 0o700 });
  const files: [string, string, number][] = [
    ['ca.crt', g.ca.cert, 0o644],
    ['ca.key', g.ca.key, 0o600],
    ['tls.crt', g.server.cert, 0o644],
    ['tls.key', g.server.key, 0o600],
  ];
  if (g.client) files.push(['client.crt', g.client.cert, 0o644], ['client.key', g.client.key, 0o600]);
  for (const [n, data, mode] of files) writeFileAtomic(join(f.out, n), data, mode);
  if (!ctx.quiet) ctx.stderr.write(`wrote ${files.map(([n]) => join(f.out, n)).join(', ')}\n`);
}

export const register: RegisterCommand = (program, getCtx) => {
  const k8s = program.command('k8s').summary('Kubernetes wiring: webhook configurations and certificates').description(
    'Print what connects a cluster to `portcullis server`: the ImagePolicyWebhook AdmissionConfiguration and ' +
      'kubeconfig, a Validating/MutatingWebhookConfiguration, and a CA with a serving certificate.',
  );
  const config = k8s.command('config').summary('print webhook configuration YAML');

  config
    .command('image-policy')
    .summary('AdmissionConfiguration + webhook kubeconfig for the ImagePolicyWebhook plugin')
    .requiredOption('--url <url>', 'webhook endpoint the API server calls (https://host:8443/image-policy; /scan works too)')
    .option('--ca-bundle <file>', 'CA certificate (PEM) that signed the server certificate → certificate-authority-data')
    .option('--client-cert <file>', 'client certificate (PEM) the API server presents → client-certificate-data')
    .option('--client-key <file>', 'its private key (PEM) → client-key-data')
    .option('--kubeconfig-path <path>', 'where the kubeconfig lives on the control-plane host', '/etc/kubernetes/webhook-kubeconfig.yaml')
    .option('--allow-ttl <seconds>', 'how long the API server caches an allow (1..1800; -1 = no cache)', '50')
    .option('--deny-ttl <seconds>', 'how long the API server caches a deny, also "scan in progress, retry" (1..1800; -1 = no cache)', '50')
    .option('--retry-backoff <ms>', 'API server back-off between retries (1..300000)', '500')
    .option('--default-allow', 'admit when the webhook is unreachable (default: fail closed)', false)
    .option('--output-dir <dir>', 'write admission-control-config.yaml and webhook-kubeconfig.yaml there instead of printing')
    .action(async (opts: ImagePolicyFlags) => runImagePolicy(opts, getCtx()));

  config
    .command('validating')
    .summary('ValidatingWebhookConfiguration (or --mutating: MutatingWebhookConfiguration on /mutate)')
    .option('--url <url>', 'https URL of the webhook (outside the cluster)')
    .option('--service <ns/name>', 'in-cluster Service NAMESPACE/NAME')
    .option('--path <path>', 'path with --service (default /validate, /mutate with --mutating)')
    .option('--port <n>', 'Service port with --service', '443')
    .requiredOption('--ca-bundle <file>', 'CA certificate (PEM) that signed the serving certificate → caBundle')
    .option('--timeout <seconds>', 'timeoutSeconds, 1..30 (the server answers before it)', '10')
    .addOption(new Option('--failure-policy <policy>', 'what the API server does when the webhook is unreachable').choices(['Fail', 'Ignore']).default('Fail'))
    .option('--mutating', 'MutatingWebhookConfiguration on /mutate (pins each image to the scanned digest)', false)
    .option('--name <name>', 'webhook name (validate.portcullis.io / mutate.portcullis.io)')
    .option('--namespace <ns>', "Portcullis's own namespace, never sent (default: the --service namespace, else portcullis)")
    .option('--exclude-namespace <ns>', 'another namespace the API server never sends (repeatable); kube-system always', collect)
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .action(async (opts: WebhookFlags) => runWebhook(opts, getCtx()));

  config
    .command('deployment')
    .summary('Namespace, ServiceAccount, ConfigMap, Deployment (server + db-update sidecar), Service, PodDisruptionBudget')
    .description(
      'Everything that runs `portcullis server` in the cluster. Create the TLS Secret first ' +
        '(`portcullis k8s certs --dns NAME.NAMESPACE.svc --out certs`, then `kubectl -n NAMESPACE create secret tls NAME-tls ' +
        '--cert certs/tls.crt --key certs/tls.key`), apply this, then `k8s config validating --service NAMESPACE/NAME`.',
    )
    .requiredOption('--image <ref>', 'the Portcullis container image (e.g. registry.internal/portcullis:0.1.0@sha256:…)')
    .option('--namespace <ns>', 'namespace to run in (excluded from the webhook by `k8s config validating --service`)', 'portcullis')
    .option('--name <name>', 'name of the Deployment, Service, ConfigMap, ServiceAccount', 'portcullis')
    .option('--replicas <n>', 'server replicas (a PodDisruptionBudget keeps one up when > 1)', '2')
    .option('--tls-secret <name>', 'kubernetes.io/tls Secret with the serving certificate', 'portcullis-tls')
    .option('--registry-secret <name>', 'kubernetes.io/dockerconfigjson Secret with registry credentials (→ --registry-config)')
    .addOption(new Option('--db-source <source>', 'advisory DB the sidecar keeps current').choices(['osv', 'trivy']).default('osv'))
    .option('--db-update-every <duration>', 'how often the sidecar runs `db update` (>= 1m)', '6h')
    .option('--db-mirror <url>', 'osv: `db update --mirror` base; trivy: `--repository` of the trivy-db mirror')
    .option('--config <file>', 'portcullis.yaml to put in the ConfigMap (validated; default: HIGH,CRITICAL enforce)')
    .option('--command <words>', 'how the image runs the CLI (space-separated)', 'portcullis')
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .action(async (opts: DeploymentFlags) => runDeployment(opts, getCtx()));

  k8s
    .command('certs')
    .summary('write a CA and a serving certificate (ca.crt, ca.key, tls.crt, tls.key)')
    .option('--dns <name>', 'DNS name for the certificate (repeatable): NAME.NAMESPACE.svc for a Service', collect)
    .option('--ip <address>', 'IP address SAN (repeatable)', collect)
    .requiredOption('--out <dir>', 'directory to write to (keys are 0600)')
    .option('--days <n>', 'validity of the serving certificate (the CA: 10 years)', '365')
    .addOption(new Option('--key-type <type>', 'ecdsa (P-256) or rsa (2048)').choices(['ecdsa', 'rsa']).default('ecdsa'))
    .option('--client-cn <cn>', 'also write client.crt/client.key for the API server (ImagePolicyWebhook kubeconfig)')
    .option('--force', 'replace existing files', false)
    .action(async (opts: CertFlags) => runCerts(opts, getCtx()));
};

