/**
 * The Kubernetes objects that wire Portcullis in (pure builders; `portcullis k8s config` prints them):
 *
 *   imagePolicyAdmissionConfig  AdmissionConfiguration for the ImagePolicyWebhook plugin (as the original example)
 *   webhookKubeconfig           the kubeconfig that plugin reads (server URL, CA data, client certificate)
 *   webhookConfiguration        Validating/MutatingWebhookConfiguration (admissionregistration.k8s.io/v1)
 */
import { UserError } from '../shared/errors.ts';

export interface ImagePolicyOptions {
  kubeconfigPath: string;
  allowTTL: number;
  denyTTL: number;
  retryBackoff: number;
  defaultAllow: boolean;
}

export const IMAGE_POLICY_DEFAULTS: ImagePolicyOptions = {
  kubeconfigPath: '/etc/kubernetes/webhook-kubeconfig.yaml',
  allowTTL: 50,
  denyTTL: 50,
  retryBackoff: 500,
  defaultAllow: false,
};

export function imagePolicyAdmissionConfig(o: ImagePolicyOptions): Record<string, unknown> {
  return {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AdmissionConfiguration',
    plugins: [
      {
        name: 'ImagePolicyWebhook',
        configuration: {
          imagePolicy: {
            kubeConfigFile: o.kubeconfigPath,
            allowTTL: o.allowTTL,
            denyTTL: o.denyTTL,
            retryBackoff: o.retryBackoff,
            defaultAllow: o.defaultAllow,
          },
        },
      },
    ],
  };
}

export interface KubeconfigTls {
  /** PEM of the CA that signed the webhook's serving certificate. */
  caPem?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** The webhook kubeconfig: cluster = the webhook URL, user = the API server's client certificate (or none). */
export function webhookKubeconfig(url: string, tls: KubeconfigTls): Record<string, unknown> {
  const cluster: Record<string, unknown> = { server: url };
  if (tls.caPem) cluster['certificate-authority-data'] = b64(tls.caPem);
  const withUser = Boolean(tls.clientCertPem && tls.clientKeyPem);
  const doc: Record<string, unknown> = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'webhook', cluster }],
    contexts: [{ name: 'webhook', context: { cluster: 'webhook', user: withUser ? 'api-server' : '' } }],
    'current-context': 'webhook',
  };
  if (withUser) {
    doc['users'] = [
      { name: 'api-server', user: { 'client-certificate-data': b64(tls.clientCertPem ?? ''), 'client-key-data': b64(tls.clientKeyPem ?? '') } },
    ];
  }
  return doc;
}

/** A webhook URL the API server can call: http(s), no credentials, no fragment; '/image-policy' when no path. */
export function checkWebhookUrl(raw: string, defaultPath: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UserError(`--url "${raw.slice(0, 200)}" is not a URL (e.g. https://portcullis.example:8443${defaultPath})`, { code: 'FLAG_INVALID' });
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new UserError(`--url must be https:// (or http:// for a lab), not ${u.protocol}`, { code: 'FLAG_INVALID' });
  if (u.username || u.password) throw new UserError('--url must not contain credentials', { code: 'FLAG_INVALID' });
  if (u.hash) throw new UserError('--url must not contain a #fragment', { code: 'FLAG_INVALID' });
  if (u.pathname === '/' || u.pathname === '') u.pathname = defaultPath;
  return u;
}

export type WebhookTarget = { url: string } | { service: { namespace: string; name: string; path: string; port: number } };

export interface WebhookOptions {
  kind: 'validating' | 'mutating';
  name: string;
  target: WebhookTarget;
  caPem: string;
  timeoutSeconds: number;
  failurePolicy: 'Fail' | 'Ignore';
  /** Namespaces the API server never sends (kube-system and Portcullis's own at least). */
  excludeNamespaces: string[];
}

export const WORKLOAD_RULES: readonly { apiGroups: string[]; apiVersions: string[]; resources: string[] }[] = [
  { apiGroups: [''], apiVersions: ['v1'], resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers', 'podtemplates'] },
  { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'] },
  { apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs', 'cronjobs'] },
];

export function webhookConfiguration(o: WebhookOptions): Record<string, unknown> {
  if (!Number.isInteger(o.timeoutSeconds) || o.timeoutSeconds < 1 || o.timeoutSeconds > 30) {
    throw new UserError('--timeout must be an integer from 1 to 30 seconds (the API server caps webhooks at 30)', { code: 'FLAG_INVALID' });
  }
  const clientConfig: Record<string, unknown> = 'url' in o.target ? { url: o.target.url } : { service: { ...o.target.service } };
  clientConfig['caBundle'] = b64(o.caPem);
  const webhook: Record<string, unknown> = {
    name: o.name,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: o.failurePolicy,
    matchPolicy: 'Equivalent',
    timeoutSeconds: o.timeoutSeconds,
    clientConfig,
    namespaceSelector: {
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...new Set(o.excludeNamespaces)] }],
    },
    rules: WORKLOAD_RULES.map((r) => ({ operations: ['CREATE', 'UPDATE'], ...r, scope: 'Namespaced' })),
  };
  if (o.kind === 'mutating') webhook['reinvocationPolicy'] = 'IfNeeded';
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: o.kind === 'mutating' ? 'MutatingWebhookConfiguration' : 'ValidatingWebhookConfiguration',
    metadata: { name: 'portcullis', labels: { 'app.kubernetes.io/name': 'portcullis' } },
    webhooks: [webhook],
  };
}

export interface DeploymentOptions {
  /** The Portcullis container image (its entrypoint is not used: `command` runs `portcullis`). */
  image: string;
  namespace: string;
  name: string;
  replicas: number;
  /** A kubernetes.io/tls Secret with tls.crt and tls.key (`portcullis k8s certs` writes them). */
  tlsSecret: string;
  /** A kubernetes.io/dockerconfigjson Secret with registry credentials, mounted for `--registry-config`. */
  registrySecret?: string;
  /** The sidecar's `db update` source and cadence. */
  dbSource: 'osv' | 'trivy';
  dbUpdateEvery: string;
  /** `db update --mirror` (osv) or `--repository` (trivy) for air-gapped sites. */
  dbMirror?: string;
  /** portcullis.yaml put in the ConfigMap (server:/policy: sections); the TLS paths are set by flags. */
  configYaml: string;
  /** The container command that runs the CLI. */
  command: string[];
}

const PORT = 8443;
const CACHE = '/var/cache/portcullis';

/**
 * Everything that runs the server in a cluster, one namespace: Namespace, ServiceAccount (no API token:
 * Portcullis never calls the API server), ConfigMap (portcullis.yaml), Deployment (the server + a
 * `db update --every` sidecar sharing the cache volume; the server turns ready once the first DB is
 * in and reloads each new one), Service (443 → 8443, what `k8s config validating --service` points
 * at) and, with more than one replica, a PodDisruptionBudget. Hardened: non-root, read-only root
 * filesystem, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp.
 */
export function deploymentManifests(o: DeploymentOptions): Record<string, unknown>[] {
  const labels = { 'app.kubernetes.io/name': 'portcullis', 'app.kubernetes.io/instance': o.name };
  const meta = (name: string): Record<string, unknown> => ({ name, namespace: o.namespace, labels });
  const securityContext = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  };
  const env = [{ name: 'PORTCULLIS_CACHE_DIR', value: CACHE }];
  const cacheMounts = [
    { name: 'cache', mountPath: CACHE },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  const serverArgs = ['server', '--config', '/etc/portcullis/config/portcullis.yaml', '--host', '0.0.0.0', '--port', String(PORT), '--tls-cert', '/etc/portcullis/tls/tls.crt', '--tls-key', '/etc/portcullis/tls/tls.key'];
  const serverMounts: Record<string, unknown>[] = [
    ...cacheMounts,
    { name: 'tls', mountPath: '/etc/portcullis/tls', readOnly: true },
    { name: 'config', mountPath: '/etc/portcullis/config', readOnly: true },
  ];
  const volumes: Record<string, unknown>[] = [
    { name: 'cache', emptyDir: { sizeLimit: '4Gi' } },
    { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
    { name: 'tls', secret: { secretName: o.tlsSecret, defaultMode: 0o440 } },
    { name: 'config', configMap: { name: o.name } },
  ];
  if (o.registrySecret) {
    serverArgs.push('--registry-config', '/etc/portcullis/registry/.dockerconfigjson');
    serverMounts.push({ name: 'registry', mountPath: '/etc/portcullis/registry', readOnly: true });
    volumes.push({ name: 'registry', secret: { secretName: o.registrySecret, defaultMode: 0o440 } });
  }
  const dbArgs = ['db', 'update', '--every', o.dbUpdateEvery];
  if (o.dbSource === 'trivy') dbArgs.push('--source', 'trivy');
  if (o.dbMirror) dbArgs.push(o.dbSource === 'trivy' ? '--repository' : '--mirror', o.dbMirror);
  const probe = (path: string, period: number): Record<string, unknown> => ({ httpGet: { path, port: 'https', scheme: 'HTTPS' }, periodSeconds: period, timeoutSeconds: 2, failureThreshold: 3 });
  const docs: Record<string, unknown>[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace, labels: { 'app.kubernetes.io/name': 'portcullis' } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(o.name), automountServiceAccountToken: false },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(o.name), data: { 'portcullis.yaml': o.configYaml } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(o.name),
      spec: {
        replicas: o.replicas,
        selector: { matchLabels: labels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: o.name,
            automountServiceAccountToken: false,
            // the server drains in timeouts.shutdown (25 s) after SIGTERM
            terminationGracePeriodSeconds: 30,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: labels } }],
            containers: [
              {
                name: 'server',
                image: o.image,
                command: o.command,
                args: serverArgs,
                env,
                ports: [{ name: 'https', containerPort: PORT, protocol: 'TCP' }],
                readinessProbe: probe('/readyz', 5),
                livenessProbe: probe('/healthz', 10),
                resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
                securityContext,
                volumeMounts: serverMounts,
              },
              {
                name: 'db-update',
                image: o.image,
                command: o.command,
                args: dbArgs,
                env,
                resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '1Gi' } },
                securityContext,
                volumeMounts: cacheMounts,
              },
            ],
            volumes,
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(o.name),
      spec: { selector: labels, ports: [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }] },
    },
  ];
  if (o.replicas > 1) {
    docs.push({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta(o.name), spec: { minAvailable: 1, selector: { matchLabels: labels } } });
  }
  return docs;
}
