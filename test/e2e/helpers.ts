/**
 * Shared pieces of the server end-to-end tests: a real server on a free 127.0.0.1 port
 * (startServer, the same composition `portcullis server` runs), the fixture advisory DB installed in a
 * temp cache dir, images built from real package DBs, raw HTTP helpers that send exactly what an API
 * server sends, and a slow TCP proxy to put in front of the real registry.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, type Dirent } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverSchema, type ServerConfig } from '../../src/config/server-schema.ts';
import { parsePolicy } from '../../src/config/policy-schema.ts';
import type { Policy } from '../../src/domain/policy.ts';
import { metricValue } from '../../src/metrics/index.ts';
import { startServer, type RunningServer, type StartOptions } from '../../src/server/index.ts';
import { silentLogger, type Logger } from '../../src/shared/log.ts';
import { TESTDATA } from '../helpers/paths.ts';
import { buildImage, cleanImageSpec, type Entry, type ImageSpec } from '../helpers/image-builder.ts';

export const TRIVY_FIXTURE_DB = join(TESTDATA, 'trivy-db', 'db');

/** A temp cache dir; with `trivyDb`, the fixture Trivy DB installed where the builtin backend looks (trivy-db/). */
export function tempCacheDir(opts: { trivyDb?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'pc-server-'));
  if (opts.trivyDb) installTrivyDb(dir);
  return dir;
}

export function installTrivyDb(cacheDir: string, sub = 'trivy-db'): void {
  mkdirSync(join(cacheDir, sub), { recursive: true });
  cpSync(TRIVY_FIXTURE_DB, join(cacheDir, sub), { recursive: true });
}

export function rmTemp(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The files of a ../shared/testdata/trivy-db/rootfs tree as layer entries. */
export function rootfsEntries(name: string): Entry[] {
  const root = join(TESTDATA, 'trivy-db', 'rootfs', name);
  const out: Entry[] = [];
  const walk = (rel: string): void => {
    for (const d of (readdirSyncSafe(join(root, rel)) ?? [])) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(p);
      else if (d.isFile()) out.push({ path: p, content: readFileSync(join(root, p)) });
    }
  };
  walk('');
  return out;
}

function readdirSyncSafe(dir: string): Dirent[] | undefined {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
}

/**
 * Debian 10 with libidn2-0 2.0.5-1 (CVE-2019-18224, CRITICAL, fixed in 2.0.5-1+deb10u1) and bash 5.0-4
 * (CVE-2019-18276, LOW): the trivy-db fixture tree `debian-buster`, whose findings Trivy 0.44.1 gives
 * in ../shared/testdata/trivy-db/expected/debian-buster.json.
 */
export function vulnerableSpec(): ImageSpec {
  return { layers: [{ createdBy: 'ADD debian-buster rootfs (trivy-db fixture)', entries: rootfsEntries('debian-buster') }] };
}

export const VULN_IDS = ['CVE-2019-18224', 'CVE-2019-18276'];
export const VULN_DENYING_ID = 'CVE-2019-18224';

export { cleanImageSpec, buildImage };

export interface TestServer extends RunningServer {
  cacheDir: string;
  config: ServerConfig;
  policy: Policy;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

export interface TestServerOptions {
  server?: Record<string, unknown>;
  policy?: Record<string, unknown>;
  cacheDir?: string;
  logger?: Logger;
  extra?: Partial<StartOptions>;
}

/** startServer on 127.0.0.1:0 with plain HTTP; private registries allowed unless the test says otherwise. */
export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const cacheDir = o.cacheDir ?? tempCacheDir({ trivyDb: true });
  const config = serverSchema.parse({ host: '127.0.0.1', port: 0, allowPrivateRegistries: true, ...o.server });
  const policy = parsePolicy(o.policy ?? {});
  const s = await startServer({ config, policy, cacheDir, logger: o.logger ?? silentLogger, processMetrics: false, ...o.extra });
  return { ...s, close: s.close, cacheDir, config, policy, metric: (name, labels = {}) => metricValue(s.metrics, name, labels) };
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
}

/** POST a body exactly as given (string = already-serialised JSON). */
export function post(url: string, body: unknown, opts: { headers?: Record<string, string>; agent?: http.Agent } = {}): Promise<HttpResult> {
  const data = typeof body === 'string' ? Buffer.from(body) : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, */*', 'content-length': String(data.length), ...opts.headers },
      ...(opts.agent ? { agent: opts.agent } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

export async function get(url: string): Promise<HttpResult> {
  const res = await fetch(url);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: Object.fromEntries(res.headers) as http.IncomingHttpHeaders, text, json };
}

/** What a Kubernetes API server sends to an ImagePolicyWebhook backend (1.25 wire format). */
export function imageReview(images: string[], opts: { namespace?: string; annotations?: Record<string, string> } = {}): Record<string, unknown> {
  const spec: Record<string, unknown> = { containers: images.map((image) => ({ image })) };
  if (opts.annotations) spec['annotations'] = opts.annotations;
  spec['namespace'] = opts.namespace ?? 'default';
  return { kind: 'ImageReview', apiVersion: 'imagepolicy.k8s.io/v1alpha1', metadata: { creationTimestamp: null }, spec, status: { allowed: false } };
}

/** A real AdmissionRequest fixture (kubewarden test_data) wrapped as the API server wraps it, images replaced. */
export function admissionReviewFixture(file: string, images?: string[]): Record<string, unknown> & { request: Record<string, unknown> } {
  const request = JSON.parse(readFileSync(join(TESTDATA, 'k8s', 'admission', 'kubewarden-trusted-repos-policy', 'test_data', file), 'utf8')) as Record<string, unknown>;
  if (images) {
    let i = 0;
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        for (const [k, x] of Object.entries(o)) {
          if (k === 'image' && typeof x === 'string') o[k] = images[Math.min(i++, images.length - 1)];
          else visit(x);
        }
      }
    };
    visit(request['object']);
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

/** A Pod AdmissionReview with these container images. */
export function podReview(uid: string, images: string[], namespace = 'default'): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: 'web',
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'alice', groups: ['system:authenticated'] },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', namespace },
        spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
      },
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/**
 * A TCP proxy that waits `delayMs` before connecting each client to `target` (host:port): the real
 * registry, just slower than the deadline. `delayMs` can be changed while it runs.
 */
export async function startSlowProxy(target: string, delayMs: number): Promise<{ host: string; delayMs: number; stop(): Promise<void> }> {
  const [th, tp] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<net.Socket>();
  const state = { delayMs };
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const t = setTimeout(() => {
      if (client.destroyed) return;
      const up = net.connect(tp, th, () => {
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
      sockets.add(up);
      up.on('close', () => {
        sockets.delete(up);
        client.destroy();
      });
      up.on('error', () => client.destroy());
      client.on('close', () => up.destroy());
    }, state.delayMs);
    client.on('close', () => clearTimeout(t));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(v: number) {
      state.delayMs = v;
    },
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Poll `fn` until it returns a truthy value (or throw after `ms`). */
export async function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000, every = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Collect unhandled rejections for the duration of a test file (asserted empty in `after`). */
export function trapUnhandledRejections(): { list: unknown[]; stop(): void } {
  const list: unknown[] = [];
  const h = (reason: unknown): void => {
    list.push(reason);
  };
  process.on('unhandledRejection', h);
  return { list, stop: () => process.off('unhandledRejection', h) };
}
