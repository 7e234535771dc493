/**
 * npm run bench:webhook — the admission server's cached-decision speed, side by side with a bare
 * node:http server returning a fixed JSON body, in one run on this machine:
 *
 *   1. throughput (autocannon, same connections and duration): bare vs ImageReview vs AdmissionReview;
 *      ratio ours / bare (target ≥ 0.5)
 *   2. latency at a fixed 1,000 requests/s: p50 / p99 (target p99 ≤ 10 ms)
 *   3. 100 concurrent first requests for one new image → how many scans (target exactly 1)
 *
 * Each server runs in its own child process (autocannon in this one), so they do not share an event
 * loop with the load generator. Our server uses its production settings: the builtin backend with the
 * fixture Trivy DB, a real registry (Debian's docker-registry) holding the images, decision logging on
 * (to /dev/null). Flags: --duration S (default 8), --connections N (default 32).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { table } from './lib.ts';

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Cannon = (opts: Record<string, unknown>) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

const SELF = fileURLToPath(import.meta.url);
const REPO = join(SELF, '..', '..');

// ---------------------------------------------------------------------------------------------
// child modes

async function serveBare(): Promise<void> {
  const body = JSON.stringify({
    apiVersion: 'imagepolicy.k8s.io/v1alpha1',
    kind: 'ImageReview',
    status: { allowed: true, auditAnnotations: { decision: 'allow', mode: 'enforce', code: 'clean' }, results: [{ image: 'registry/acme/clean:1.0', allowed: true, reason: 'clean' }] },
  });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 5000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

async function serveOurs(cacheDir: string, registryHost: string): Promise<void> {
  const [{ serverSchema }, { parsePolicy }, { startServer }, pinoMod, { metricValue }] = await Promise.all([
    import('../src/config/server-schema.ts'),
    import('../src/config/policy-schema.ts'),
    import('../src/server/index.ts'),
    import('pino'),
    import('../src/metrics/index.ts'),
  ]);
  const pino = pinoMod.default;
  const logger = pino({ level: 'info', base: null }, pino.destination({ dest: '/dev/null', sync: false })) as unknown as import('../src/shared/log.ts').Logger;
  const config = serverSchema.parse({ host: '127.0.0.1', port: 0, allowPrivateRegistries: true, insecureRegistries: [registryHost], cache: { persist: false } });
  const s = await startServer({ config, policy: parsePolicy({}), cacheDir, logger, processMetrics: false });
  process.stdout.write(`${JSON.stringify({ url: s.url })}\n`);
  // The parent asks for the scan count on stdin ("scans\n").
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    if (d.includes('scans')) void metricValue(s.metrics, 'portcullis_scans_total').then((n) => process.stdout.write(`${JSON.stringify({ scans: n })}\n`));
  });
  process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
}

// ---------------------------------------------------------------------------------------------
// parent

interface Child {
  proc: ChildProcess;
  url: string;
  ask(line: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

function startChild(args: string[]): Promise<Child> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [SELF, ...args], { stdio: ['pipe', 'pipe', 'inherit'], cwd: REPO });
    let buf = '';
    const waiters: ((v: Record<string, unknown>) => void)[] = [];
    let started = false;
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (!started && typeof msg['url'] === 'string') {
          started = true;
          resolve({
            proc,
            url: msg['url'],
            ask: (l) =>
              new Promise((r) => {
                waiters.push(r);
                proc.stdin?.write(`${l}\n`);
              }),
            stop: () =>
              new Promise((r) => {
                proc.once('exit', () => r());
                proc.kill('SIGTERM');
              }),
          });
        } else waiters.shift()?.(msg);
      }
    });
    proc.once('exit', (code) => {
      if (!started) reject(new Error(`bench child ${args[0]} exited with ${code}`));
    });
  });
}

async function cannon(url: string, body: string, o: { connections: number; duration: number; rate?: number }): Promise<CannonResult> {
  return autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: o.connections,
    duration: o.duration,
    pipelining: 1,
    ...(o.rate ? { overallRate: o.rate } : {}),
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { duration: { type: 'string', default: '8' }, connections: { type: 'string', default: '32' } } });
  const duration = Number(values.duration);
  const connections = Number(values.connections);

  const { registryAvailable, startRegistry } = await import('../test/helpers/registry.ts');
  const { buildImage, cleanImageSpec } = await import('../test/helpers/image-builder.ts');
  const { tempCacheDir, rmTemp, vulnerableSpec, imageReview, podReview } = await import('../test/e2e/helpers.ts');
  const why = registryAvailable();
  if (why) {
    process.stderr.write(`bench:webhook needs a registry: ${why}\n`);
    process.exitCode = 1;
    return;
  }
  const reg = await startRegistry();
  const cacheDir = tempCacheDir({ trivyDb: true });
  let bare: Child | undefined;
  let ours: Child | undefined;
  try {
    await reg.pushImage(buildImage(cleanImageSpec()), 'acme/clean:1.0');
    await reg.pushImage(buildImage(vulnerableSpec()), 'acme/buster:1.0');
    const clean = `${reg.host}/acme/clean:1.0`;
    const vuln = `${reg.host}/acme/buster:1.0`;
    const irBody = JSON.stringify(imageReview([clean]));
    const arBody = JSON.stringify(podReview('bench-uid', [clean, vuln]));

    bare = await startChild(['serve-bare']);
    ours = await startChild(['serve-ours', cacheDir, reg.host]);
    // Warm: one scan per image, then every answer is a cached decision.
    for (const b of [irBody, arBody]) {
      const r = await fetch(`${ours.url}/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b === irBody ? JSON.stringify(podReview('warm', [clean])) : b });
      if (!r.ok) throw new Error(`warm-up failed: HTTP ${r.status}`);
    }
    const warmScans = Number((await ours.ask('scans'))['scans']);

    process.stderr.write(`throughput: ${connections} connections, ${duration} s each …\n`);
    const tBare = await cannon(`${bare.url}/`, irBody, { connections, duration });
    const tIr = await cannon(`${ours.url}/scan?timeout=30s`, irBody, { connections, duration });
    const tAr = await cannon(`${ours.url}/validate?timeout=10s`, arBody, { connections, duration });

    process.stderr.write('latency at 1,000 requests/s …\n');
    const lBare = await cannon(`${bare.url}/`, irBody, { connections: 10, duration, rate: 1000 });
    const lIr = await cannon(`${ours.url}/scan?timeout=30s`, irBody, { connections: 10, duration, rate: 1000 });
    const lAr = await cannon(`${ours.url}/validate?timeout=10s`, arBody, { connections: 10, duration, rate: 1000 });

    const cachedScans = Number((await ours.ask('scans'))['scans']);

    process.stderr.write('100 concurrent first requests for one new image …\n');
    await reg.pushImage(buildImage({ layers: [...vulnerableSpec().layers, [{ path: 'etc/bench', content: `${Date.now()}\n` }]] }), 'acme/new:1');
    const fresh = JSON.stringify(imageReview([`${reg.host}/acme/new:1`]));
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => fetch(`${ours!.url}/scan?timeout=30s`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: fresh }).then((r) => r.json() as Promise<{ status: { allowed: boolean } }>)),
    );
    const newScans = Number((await ours.ask('scans'))['scans']) - cachedScans;
    const denied = answers.filter((a) => a.status.allowed === false).length;

    const bad = (r: CannonResult): number => r.non2xx + r.errors + r.timeouts;
    const rows: (string | number)[][] = [
      ['bare node:http (fixed JSON)', tBare.requests.average, 1, lBare.latency.p50, lBare.latency.p99, bad(tBare) + bad(lBare)],
      ['POST /scan ImageReview (cached)', tIr.requests.average, tIr.requests.average / tBare.requests.average, lIr.latency.p50, lIr.latency.p99, bad(tIr) + bad(lIr)],
      ['POST /validate AdmissionReview, 2 images (cached)', tAr.requests.average, tAr.requests.average / tBare.requests.average, lAr.latency.p50, lAr.latency.p99, bad(tAr) + bad(lAr)],
    ];
    process.stdout.write(`\nbench:webhook — ${connections} connections × ${duration} s; latency at 1,000 req/s (10 connections); ${process.version}, ${(await import('node:os')).cpus().length} CPUs\n\n`);
    process.stdout.write(`${table(['server', 'req/s', 'ratio vs bare (≥ 0.5)', 'p50 ms @1k/s', 'p99 ms @1k/s (≤ 10)', 'errors'], rows)}\n\n`);
    process.stdout.write(
      `${table(
        ['check', 'value', 'target'],
        [
          ['scans during the cached runs', cachedScans - warmScans, '0'],
          ['scans for 100 concurrent first requests of a new image', newScans, '1'],
          ['of those 100 answers, denied (vulnerable image)', denied, '100'],
        ],
      )}\n`,
    );
    const ok =
      tIr.requests.average / tBare.requests.average >= 0.5 &&
      tAr.requests.average / tBare.requests.average >= 0.5 &&
      lIr.latency.p99 <= 10 &&
      lAr.latency.p99 <= 10 &&
      newScans === 1 &&
      cachedScans === warmScans;
    process.stdout.write(`\n${ok ? 'all targets met' : 'TARGETS MISSED (see above)'}\n`);
  } finally {
    await ours?.stop();
    await bare?.stop();
    await reg.stop();
    rmTemp(cacheDir);
  }
}

const mode = process.argv[2];
if (mode === 'serve-bare') await serveBare();
else if (mode === 'serve-ours') await serveOurs(process.argv[3] as string, process.argv[4] as string);
else await main();
