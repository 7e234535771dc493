/**
 * The `server:` section of portcullis.yaml (the admission server), declared once. Keys are camelCase;
 * durations are strings with units ('500ms', '30s', '5m', '1h', '1h30m') or plain numbers of seconds,
 * and come out as milliseconds. Unknown keys are refused: a typo must not silently do nothing.
 * Flags of `portcullis server` override these values (src/cli/commands/server.ts).
 */
import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** '1m30s' / '500ms' / '10s' / '2h' (Go's time.ParseDuration subset, plus 'd') → ms; undefined if invalid. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '' || s.length > 40) return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    pos = re.lastIndex;
  }
  if (pos !== s.length || !Number.isFinite(total)) return undefined;
  return Math.round(total);
}

/** A duration key: number of seconds or a string with units → milliseconds. */
export const duration = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? Math.round(v * 1000) : parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${String(v)}" is not a duration (use e.g. 500ms, 30s, 5m, 1h)` });
    return z.NEVER;
  }
  return ms;
});

const hostPort = z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/, 'expected HOST or HOST:PORT');

export const BACKENDS = ['builtin', 'trivy'] as const;
export type BackendName = (typeof BACKENDS)[number];

const tlsSchema = z
  .object({
    /** PEM certificate chain and key of the serving certificate. Both or neither. */
    cert: z.string().optional(),
    key: z.string().optional(),
    /** PEM CA bundle: when set, clients must present a certificate it signed (mTLS). */
    clientCa: z.string().optional(),
    /** How often the files are checked for changes (they are reloaded without a restart). */
    reloadInterval: duration.prefault('5s'),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
  })
  .strict()
  .refine((t) => (t.cert === undefined) === (t.key === undefined), { message: 'tls.cert and tls.key go together' });

const trivySchema = z
  .object({
    /** The Trivy executable (a path, or a name looked up in PATH). */
    binary: z.string().min(1).default('trivy'),
    /** Trivy server for client mode (`trivy image --server URL`). */
    serverUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** File holding the Trivy server token (given to Trivy as TRIVY_TOKEN, never on its command line). */
    tokenFile: z.string().optional(),
    /** Trivy's --cache-dir (its DB and scan cache); default <cache dir>/trivy. */
    cacheDir: z.string().optional(),
    /** Per-scan timeout (the process is killed when it passes). */
    timeout: duration.prefault('5m'),
    skipDbUpdate: z.boolean().default(true),
    offlineScan: z.boolean().default(false),
    /** Largest JSON report accepted on stdout. */
    maxOutputBytes: z.number().int().positive().default(64 * 1024 * 1024),
  })
  .strict();

const cacheSchema = z
  .object({
    /** How long a scan result whose last decision was allow is kept. */
    allowTtl: duration.prefault('1h'),
    /** How long a scan result whose last decision was deny is kept. */
    denyTtl: duration.prefault('15m'),
    /** How long a failed scan is remembered (so a broken image is not rescanned on every retry). */
    errorTtl: duration.prefault('10s'),
    /** Identical reviews within this time get the same answer without being decided again (bursts); 0 = off. */
    decisionTtl: duration.prefault('1s'),
    /** How long tag → digest resolutions are reused (tags move: keep this short). */
    resolveTtl: duration.prefault('30s'),
    /** Entries kept in memory (least recently used dropped first). */
    maxEntries: z.number().int().positive().default(10_000),
    /** Keep scan results in SQLite under the cache dir, so a restart does not rescan everything. */
    persist: z.boolean().default(true),
  })
  .strict();

const timeoutsSchema = z
  .object({
    /** Deadline used when the API server sends no ?timeout= (validating webhooks default to 10 s). */
    validate: duration.prefault('10s'),
    /** Same for ImagePolicyWebhook (/image-policy, /scan). */
    imagePolicy: duration.prefault('30s'),
    /** Time reserved between our deadline and the API server's (the answer is sent this much earlier at least). */
    margin: duration.prefault('1500ms'),
    /** Whole request (headers + body) must arrive within this; slow senders are cut off. */
    request: duration.prefault('30s'),
    headers: duration.prefault('10s'),
    keepAlive: duration.prefault('5s'),
    /** A scan that runs longer than this is aborted. */
    scan: duration.prefault('5m'),
    /** On SIGTERM: how long in-flight requests may take before the process exits anyway. */
    shutdown: duration.prefault('25s'),
  })
  .strict();

export const serverSchema = z
  .object({
    host: z.string().min(1).default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(8443),
    tls: tlsSchema.prefault({}),
    backend: z.enum(BACKENDS).default('builtin'),
    /** builtin backend: which advisory data decides ('auto' = Trivy DB if installed, else OSV). */
    dbSource: z.enum(['auto', 'osv', 'trivy', 'merge']).default('auto'),
    trivy: trivySchema.prefault({}),
    /** Registries on loopback, private or link-local addresses may be contacted (SSRF guard off). */
    allowPrivateRegistries: z.boolean().default(false),
    /** Registries that may be reached over plain HTTP ('registry.local:5000'). */
    insecureRegistries: z.array(hostPort).default([]),
    /** docker config.json or a Kubernetes .dockerconfigjson with registry credentials. */
    registryConfig: z.string().optional(),
    platform: z.string().default('linux/amd64'),
    cache: cacheSchema.prefault({}),
    /** Scans running at the same time. */
    workers: z.number().int().min(1).max(64).default(2),
    /** Scans waiting for a worker; beyond this a request gets the error answer (QUEUE_FULL). */
    queueSize: z.number().int().min(0).max(100_000).default(100),
    timeouts: timeoutsSchema.prefault({}),
    /** Largest request body accepted (bytes). */
    bodyLimit: z.number().int().min(1024).max(64 * 1024 * 1024).default(3 * 1024 * 1024),
    /** Serve POST /mutate (JSONPatch pinning tags to the scanned digests). */
    mutate: z.boolean().default(false),
    /** File with one image per line (# comments) scanned at start-up to warm the cache. */
    prescan: z.string().optional(),
  })
  .strict();

export type ServerConfig = z.infer<typeof serverSchema>;
