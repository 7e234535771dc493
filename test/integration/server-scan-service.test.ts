/**
 * ScanService semantics over a controllable backend (digest-pinned references, so no registry is
 * contacted): single flight, the bounded queue, deadlines → pending with the scan continuing, error
 * TTL, allow/deny TTLs after a verdict, cache keys that include the backend identity, and never a
 * rejected lookup.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import type { BackendScanResult, BackendState, ScanBackend } from '../../src/backends/index.ts';
import type { Finding } from '../../src/domain/index.ts';
import { createMetrics, metricValue } from '../../src/metrics/index.ts';
import { ScanService, parsePrescanList } from '../../src/server/scan-service.ts';
import { SqliteResultStore, type ResultStore } from '../../src/store/results-store.ts';
import { silentLogger } from '../../src/shared/log.ts';
import { ScannerError } from '../../src/shared/errors.ts';
import { trapUnhandledRejections } from '../e2e/helpers.ts';

const rejections = trapUnhandledRejections();
after(() => {
  rejections.stop();
  assert.deepEqual(rejections.list, []);
});

const ref = (n: number): string => `registry.example.test/acme/app@sha256:${n.toString(16).padStart(64, '0')}`;
const finding = (id: string): Finding => ({
  advisoryId: id,
  aliases: [],
  package: { type: 'deb', name: 'libidn2-0', version: '2.0.5-1', purl: 'pkg:deb/debian/libidn2-0@2.0.5-1', locations: [] },
  installedVersion: '2.0.5-1',
  status: 'fixed',
  severity: 'CRITICAL',
  severitySource: 'nvd',
});

/** Scans wait for release() (or the abort); `identity` can be changed to model a DB update. */
class GatedBackend implements ScanBackend {
  readonly name = 'builtin' as const;
  identity = 'db-1';
  calls: string[] = [];
  fail: Error | undefined;
  #waiters: (() => void)[] = [];
  autoRelease = false;
  async start(): Promise<void> {}
  state(): BackendState {
    return { ready: true, scannerVersion: 'test' };
  }
  cacheIdentity(): string {
    return this.identity;
  }
  release(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
  async scan(pinned: string, opts: { signal: AbortSignal }): Promise<BackendScanResult> {
    this.calls.push(pinned);
    if (!this.autoRelease) {
      await new Promise<void>((resolve, reject) => {
        this.#waiters.push(resolve);
        opts.signal.addEventListener('abort', () => reject(opts.signal.reason as Error));
      });
    }
    if (this.fail) throw this.fail;
    return { findings: [finding('CVE-2019-18224')] };
  }
  async close(): Promise<void> {}
}

function service(backend: ScanBackend, o: { workers?: number; queueSize?: number; now?: () => number; scanTimeout?: number; store?: ResultStore } = {}): { s: ScanService; m: ReturnType<typeof createMetrics> } {
  const m = createMetrics({ processMetrics: false });
  const s = new ScanService({
    backend,
    metrics: m,
    logger: silentLogger,
    registry: { allowPrivateRegistries: false, insecureRegistries: [] },
    cache: { allowTtl: 60_000, denyTtl: 5_000, errorTtl: 1_000, resolveTtl: 1_000, maxEntries: 100 },
    workers: o.workers ?? 2,
    queueSize: o.queueSize ?? 10,
    scanTimeout: o.scanTimeout ?? 60_000,
    ...(o.now ? { now: o.now } : {}),
    ...(o.store ? { store: o.store } : {}),
  });
  return { s, m };
}

const soon = (ms: number): number => Date.now() + ms;

describe('ScanService', () => {
  it('shares one scan between concurrent lookups of one digest', async () => {
    const b = new GatedBackend();
    const { s, m } = service(b);
    const all = Promise.all(Array.from({ length: 50 }, () => s.lookup(ref(1), { deadline: soon(5000) })));
    await new Promise((r) => setTimeout(r, 20));
    b.release();
    const checks = await all;
    assert.equal(b.calls.length, 1);
    for (const c of checks) assert.equal(c.state, 'scanned');
    assert.equal(await metricValue(m, 'portcullis_cache_lookups_total', { cache: 'result', result: 'shared' }), 49);
    const again = await s.lookup(ref(1), { deadline: soon(1000) });
    assert.equal(again.state === 'scanned' && again.fromCache, true);
  });

  it('answers pending at the deadline and keeps the scan running for the retry', async () => {
    const b = new GatedBackend();
    const { s, m } = service(b);
    const t0 = Date.now();
    const c = await s.lookup(ref(2), { deadline: soon(150) });
    assert.equal(c.state, 'pending');
    assert.ok(Date.now() - t0 < 300);
    assert.equal(await metricValue(m, 'portcullis_pending_total', { reason: 'scan' }), 1);
    b.release();
    await new Promise((r) => setTimeout(r, 10));
    const retry = await s.lookup(ref(2), { deadline: soon(150) });
    assert.equal(retry.state, 'scanned');
    assert.equal(retry.state === 'scanned' && retry.fromCache, true);
    assert.equal(b.calls.length, 1);
  });

  it('refuses work beyond workers + queue with QUEUE_FULL and counts it', async () => {
    const b = new GatedBackend();
    const { s, m } = service(b, { workers: 1, queueSize: 1 });
    const first = s.lookup(ref(10), { deadline: soon(2000) });
    const second = s.lookup(ref(11), { deadline: soon(2000) });
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(await metricValue(m, 'portcullis_scan_queue_depth'), 1);
    assert.equal(await metricValue(m, 'portcullis_scans_in_flight'), 1);
    const third = await s.lookup(ref(12), { deadline: soon(2000) });
    assert.equal(third.state, 'error');
    assert.equal(third.state === 'error' && third.code, 'QUEUE_FULL');
    assert.equal(await metricValue(m, 'portcullis_errors_total', { kind: 'queue_full' }), 1);
    b.release();
    await new Promise((r) => setTimeout(r, 10));
    b.release();
    assert.equal((await first).state, 'scanned');
    assert.equal((await second).state, 'scanned');
  });

  it('remembers a failure for errorTtl only, with a curated reason', async () => {
    let now = 1_000_000;
    const b = new GatedBackend();
    b.autoRelease = true;
    b.fail = new ScannerError('SCANNER_CRASHED', 'Trivy was killed by SIGSEGV at 0xdeadbeef');
    const { s } = service(b, { now: () => now });
    const c = await s.lookup(ref(3), { deadline: Date.now() + 1000 });
    assert.equal(c.state, 'error');
    assert.equal(c.state === 'error' && c.reason, 'the scanner failed');
    await s.lookup(ref(3), { deadline: Date.now() + 1000 });
    assert.equal(b.calls.length, 1, 'failure cached');
    now += 1_001;
    b.fail = undefined;
    const ok = await s.lookup(ref(3), { deadline: Date.now() + 1000 });
    assert.equal(ok.state, 'scanned');
    assert.equal(b.calls.length, 2);
  });

  it('keeps results allowTtl after an allow and denyTtl after a deny', async () => {
    let now = 5_000_000;
    const b = new GatedBackend();
    b.autoRelease = true;
    const { s } = service(b, { now: () => now });
    await s.lookup(ref(4), { deadline: Date.now() + 1000 });
    await s.lookup(ref(5), { deadline: Date.now() + 1000 });
    s.noteVerdicts([{ digest: ref(4).split('@')[1] as string, allowed: true }, { digest: ref(5).split('@')[1] as string, allowed: false }]);
    now += 10_000; // past denyTtl (5 s), within allowTtl (60 s)
    await s.lookup(ref(4), { deadline: Date.now() + 1000 });
    await s.lookup(ref(5), { deadline: Date.now() + 1000 });
    assert.deepEqual(b.calls, [ref(4), ref(5), ref(5)]);
  });

  it('lookup.cached: the cached check at once for a known digest, undefined (nothing counted) otherwise', async () => {
    const b = new GatedBackend();
    b.autoRelease = true;
    const { s, m } = service(b);
    const ctx = { deadline: soon(1000) };
    assert.equal(s.lookup.cached?.(ref(8), ctx), undefined, 'not scanned yet');
    assert.equal(s.lookup.cached?.('registry.example.test/acme/app:1', ctx), undefined, 'a tag never resolved');
    assert.equal(await metricValue(m, 'portcullis_cache_lookups_total'), 0, 'a miss counts nothing (the lookup that follows counts)');
    const first = await s.lookup(ref(8), ctx);
    assert.equal(first.state === 'scanned' && first.fromCache, false);
    const c = s.lookup.cached?.(ref(8), ctx);
    assert.deepEqual(c, { state: 'scanned', image: ref(8), digest: ref(8).split('@')[1], findings: [finding('CVE-2019-18224')], fromCache: true });
    assert.equal(await metricValue(m, 'portcullis_cache_lookups_total', { cache: 'result', result: 'hit' }), 1);
    const bad = s.lookup.cached?.('$(id)', ctx);
    assert.equal(bad?.state === 'error' && bad.code, 'INVALID_IMAGE');
    assert.equal(await metricValue(m, 'portcullis_errors_total', { kind: 'invalid_image' }), 1);
    b.identity = 'db-2';
    assert.equal(s.lookup.cached?.(ref(8), ctx), undefined, 'another DB: not known');
    assert.equal(b.calls.length, 1);
  });

  it('writes result expiries to the store when they move earlier or by more than a tenth of the TTL, not per decision', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-store-'));
    const path = join(dir, 'results.sqlite');
    const store = SqliteResultStore.open(path, silentLogger);
    assert.ok(store);
    try {
      let now = Date.now();
      const b = new GatedBackend();
      b.autoRelease = true;
      const { s } = service(b, { now: () => now, store });
      await s.lookup(ref(9), { deadline: Date.now() + 1000 });
      const digest = ref(9).split('@')[1] as string;
      const read = new DatabaseSync(path, { readOnly: true });
      const stored = (): number => (read.prepare('SELECT expires_at FROM results').get() as { expires_at: number }).expires_at;
      assert.equal(stored(), now + 5_000, 'first: min(allowTtl, denyTtl)');
      s.noteVerdicts([{ digest, allowed: true }]);
      assert.equal(stored(), now + 60_000, 'allow: allowTtl (moved by more than a tenth)');
      const t0 = now;
      now += 5_000;
      s.noteVerdicts([{ digest, allowed: true }]);
      assert.equal(stored(), t0 + 60_000, 'moved by 5 s < 6 s: not rewritten');
      now += 1_500;
      s.noteVerdicts([{ digest, allowed: true }]);
      assert.equal(stored(), now + 60_000, 'moved by 6.5 s: rewritten');
      s.noteVerdicts([{ digest, allowed: false }]);
      assert.equal(stored(), now + 5_000, 'a deny shortens it at once');
      read.close();
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never reuses a result computed with another DB (identity in the key)', async () => {
    const b = new GatedBackend();
    b.autoRelease = true;
    const { s } = service(b);
    await s.lookup(ref(6), { deadline: soon(1000) });
    b.identity = 'db-2';
    const c = await s.lookup(ref(6), { deadline: soon(1000) });
    assert.equal(c.state === 'scanned' && c.fromCache, false);
    assert.equal(b.calls.length, 2);
  });

  it('turns an unparseable image into an error check, never a rejection', async () => {
    const b = new GatedBackend();
    const { s } = service(b);
    for (const bad of ['', 'UPPER/Case:1', 'a'.repeat(5000), 'x:y:z@sha256:1', '$(id)']) {
      const c = await s.lookup(bad, { deadline: soon(100) });
      assert.equal(c.state, 'error');
      assert.equal(c.state === 'error' && c.code, 'INVALID_IMAGE');
    }
    assert.equal(b.calls.length, 0);
  });

  it('aborts running scans on close', async () => {
    const b = new GatedBackend();
    const { s } = service(b);
    const p = s.lookup(ref(7), { deadline: soon(2000) });
    await new Promise((r) => setTimeout(r, 10));
    s.close();
    const c = await p;
    assert.equal(c.state, 'error');
    assert.equal(c.state === 'error' && c.code, 'SCAN_ABORTED');
  });

  it('reads prescan lists: one image per line, comments and blanks ignored', () => {
    assert.deepEqual(parsePrescanList('# warm these\nalpine:3.19\n\n  nginx:1.25   # web\r\nghcr.io/a/b@sha256:' + '0'.repeat(64) + '\n'), [
      'alpine:3.19',
      'nginx:1.25',
      `ghcr.io/a/b@sha256:${'0'.repeat(64)}`,
    ]);
  });
});
