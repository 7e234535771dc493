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
