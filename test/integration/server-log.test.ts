/**
 * The server's log: the LineWriter (ordered, chunked, flushed on close, bounded) and the decision
 * lines the review core writes itself for memo hits, which must be exactly what pino would write.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import type { BackendScanResult, BackendState, ScanBackend } from '../../src/backends/index.ts';
import { createServerLogger, decisionLineSink, LineWriter } from '../../src/server/log.ts';
import { imageReview, podReview, post, rmTemp, startTestServer } from '../e2e/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'pc-log-'));
after(() => rmTemp(dir));

const linesOf = (file: string): Record<string, unknown>[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

class CleanBackend implements ScanBackend {
  readonly name = 'builtin' as const;
  async start(): Promise<void> {}
  state(): BackendState {
    return { ready: true, scannerVersion: 'test', db: { source: 'test', builtAt: '2024-01-01T00:00:00Z' } };
  }
  cacheIdentity(): string {
    return 'test';
  }
  async scan(): Promise<BackendScanResult> {
    return { findings: [] };
  }
  async close(): Promise<void> {}
}

describe('LineWriter', () => {
  it('writes every line once, in order, in chunks, and what is pending on close', async () => {
    const file = join(dir, 'order.log');
    const w = new LineWriter({ dest: file, chunkBytes: 1000 });
    for (let i = 0; i < 5000; i++) w.write(`{"n":${i}}\n`);
    await new Promise<void>((r) => w.flush(() => r()));
    for (let i = 5000; i < 5010; i++) w.write(`{"n":${i}}\n`);
    assert.ok(w.pendingLength > 0, 'below the chunk size: still pending');
    w.close();
    assert.deepEqual(linesOf(file).map((l) => l['n']), Array.from({ length: 5010 }, (_, i) => i));
    assert.equal(w.write('late\n'), false, 'closed');
  });

  it('drops lines beyond its bound and says how many', () => {
    const file = join(dir, 'drop.log');
    const w = new LineWriter({ dest: file, chunkBytes: 1 << 20, maxPendingBytes: 100 });
    let kept = 0;
    for (let i = 0; i < 50; i++) if (w.write(`{"n":"${String(i).padStart(3, "0")}"}\n`)) kept++;
    w.close();
    const lines = linesOf(file);
    assert.equal(kept, 8, '8 lines of 12 bytes fit in 100');
    assert.equal(lines.length, 9);
    assert.equal(lines[8]?.['dropped'], 42);
    assert.match(String(lines[8]?.['msg']), /dropped/);
  });
});

describe('decision lines of memo hits', () => {
  it('are the lines pino would write (same fields, same order), one per decision, none below info', async () => {
    const file = join(dir, 'decisions.log');
    const logger = createServerLogger({ level: 'info', dest: file, chunkBytes: 0 });
    assert.ok(decisionLineSink(logger));
    assert.equal(decisionLineSink(logger.child({ component: 'x' })), undefined, 'only the root logger has the sink');
    const srv = await startTestServer({ logger, server: { mutate: true, cache: { persist: false, decisionTtl: '5s' } }, extra: { backend: new CleanBackend() } });
    const image = `registry.example.test/acme/log@sha256:${'12'.repeat(32)}`;
    // An AdmissionReview is memoized on its second sighting: the third and fourth come from the memo.
    const uids = ['7b0c4c1e-0000-4000-8000-000000000001', '7b0c4c1e-0000-4000-8000-000000000002', '7b0c4c1e-0000-4000-8000-000000000003', '7b0c4c1e-0000-4000-8000-000000000004'];
    try {
      for (const uid of uids) assert.equal((await post(`${srv.url}/validate`, podReview(uid, [image], 'team-a'))).status, 200);
      for (let i = 0; i < 2; i++) assert.equal((await post(`${srv.url}/scan`, imageReview([image], { namespace: 'team-b' }))).status, 200);
    } finally {
      await srv.close();
    }
    (logger as unknown as { flush(): void }).flush();
    await new Promise((r) => setTimeout(r, 100));
    const decisions = linesOf(file).filter((l) => l['msg'] === 'decision');
    assert.equal(decisions.length, 6);
    // The entry was made by the second decision (the review had repeated).
    const first = decisions[1];
    const memoized = decisions.filter((l) => l['memo'] === true);
    assert.equal(memoized.length, 3);
    assert.deepEqual(decisions.map((l) => l['uid']), [...uids, undefined, undefined]);
    assert.deepEqual(decisions.map((l) => l['memo']), [undefined, undefined, true, true, undefined, true]);

    // What pino writes for the same fields through a child logger, as the fallback path does.
    const expected = (line: Record<string, unknown>): Record<string, unknown> => {
      const chunks: string[] = [];
      const p = pino({ level: 'info', base: null }, new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c.toString()), cb()) }));
      const { level: _l, time: _t, component: _c, uid, memo: _m, durationMs, msg: _msg, ...fields } = line;
      p.child({ component: 'http' }).child(fields).info(uid === undefined ? { memo: true, durationMs } : { uid, memo: true, durationMs }, 'decision');
      return JSON.parse(chunks.join('')) as Record<string, unknown>;
    };
    for (const line of memoized) {
      const want = expected(line);
      assert.deepEqual(Object.keys(line), Object.keys(want), 'same keys in the same order');
      assert.deepEqual({ ...line, time: 0 }, { ...want, time: 0 });
      assert.equal(typeof line['time'], 'number');
      assert.equal(typeof line['durationMs'], 'number');
    }
    // A memo line carries the decision of the line that decided it.
    const { uid: _u, durationMs: _d, time: _t, ...decided } = first as Record<string, unknown>;
    const { uid: _u2, durationMs: _d2, time: _t2, memo, ...fromMemo } = memoized[0] as Record<string, unknown>;
    assert.equal(memo, true);
    assert.deepEqual(fromMemo, decided);
    assert.equal(fromMemo['namespace'], 'team-a');
    assert.deepEqual(fromMemo['images'], [image]);
  });

  it('decided lines (memo off) are the lines pino would write, for names that need escaping too', async () => {
    const file = join(dir, 'decided.log');
    const logger = createServerLogger({ level: 'info', dest: file, chunkBytes: 0 });
    const srv = await startTestServer({ logger, server: { mutate: true, cache: { persist: false, decisionTtl: '0s' } }, extra: { backend: new CleanBackend() } });
    const image = `registry.example.test/acme/log@sha256:${'56'.repeat(32)}`;
    const names = ['web', 'we"b\\x', 'caf\u00e9-\u2028-\u65e5\u672c', `n${'x'.repeat(150)}`];
    try {
      for (const [i, name] of names.entries()) {
        const review = podReview(`7b0c4c1e-0000-4000-8000-00000000002${i}`, [image, 'bad image!'], 'team-c') as { request: Record<string, unknown> };
        review.request['name'] = name;
        assert.equal((await post(`${srv.url}/${i % 2 ? 'mutate' : 'validate'}`, review)).status, 200);
      }
      assert.equal((await post(`${srv.url}/scan`, imageReview([image], { namespace: 'team-"d"' }))).status, 200);
    } finally {
      await srv.close();
    }
    await new Promise((r) => setTimeout(r, 100));
    const raw = readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"msg":"decision"'));
    assert.equal(raw.length, names.length + 1);
    for (const text of raw) {
      const line = JSON.parse(text) as Record<string, unknown>;
      const chunks: string[] = [];
      const p = pino({ level: 'info', base: null }, new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c.toString()), cb()) }));
      const { level: _l, time, component: _c, msg: _msg, ...fields } = line;
      p.child({ component: 'http' }).info(fields, 'decision');
      const want = chunks.join('').trim();
      assert.equal(text.replace(/^\{"level":30,"time":\d+,/, '{'), want.replace(/^\{"level":30,"time":\d+,/, '{'), 'byte for byte but the time');
      assert.equal(typeof time, 'number');
      assert.equal(line['memo'], undefined);
    }
    assert.deepEqual(raw.map((l) => (JSON.parse(l) as { name?: unknown }).name), [...names, undefined]);
  });

  it('are not written when the level is above info', async () => {
    const file = join(dir, 'quiet.log');
    const logger = createServerLogger({ level: 'warn', dest: file, chunkBytes: 0 });
    const srv = await startTestServer({ logger, server: { cache: { persist: false, decisionTtl: '5s' } }, extra: { backend: new CleanBackend() } });
    try {
      for (let i = 0; i < 4; i++) assert.equal((await post(`${srv.url}/validate`, podReview(`7b0c4c1e-0000-4000-8000-00000000001${i}`, [`registry.example.test/acme/q@sha256:${'34'.repeat(32)}`]))).status, 200);
      assert.equal(await srv.metric('portcullis_cache_lookups_total', { cache: 'decision', result: 'hit' }), 2);
    } finally {
      await srv.close();
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(linesOf(file).filter((l) => l['msg'] === 'decision'), []);
  });
});
