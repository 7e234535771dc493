/**
 * The server's own security and HTTP behaviour: protocol errors as 4xx `{code, message}`, a 10 MB body
 * refused with 413 without being buffered, slow senders cut off, internal failures never leaking
 * exception text, one decision log line without credentials, graceful shutdown finishing in-flight
 * requests, TLS from files reloaded on change, client certificates required with a client CA.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { BackendScanResult, BackendState, ScanBackend } from '../../src/backends/index.ts';
import type { Logger } from '../../src/shared/log.ts';
import { fingerprintOf, makeCa, makeLeaf, opensslAvailable, type Pem } from '../e2e/certs.ts';
import { eventually, imageReview, podReview, post, rmTemp, startTestServer, trapUnhandledRejections, type TestServer } from '../e2e/helpers.ts';

const rejections = trapUnhandledRejections();
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const PINNED = `registry.example.test/acme/app@${DIGEST}`;

/** A backend for HTTP-level tests: its scans wait `delayMs`, then succeed or throw what it is told. */
class ControlledBackend implements ScanBackend {
  readonly name = 'builtin' as const;
  delayMs = 0;
  failWith: Error | undefined;
  scans = 0;
  async start(): Promise<void> {}
  state(): BackendState {
    return { ready: true, scannerVersion: 'test', db: { source: 'test', builtAt: '2024-01-01T00:00:00Z' } };
  }
  cacheIdentity(): string {
    return 'test';
  }
  async scan(_ref: string, opts: { signal: AbortSignal }): Promise<BackendScanResult> {
    this.scans++;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, this.delayMs);
      opts.signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new Error('aborted'));
      });
    });
    if (this.failWith) throw this.failWith;
    return { findings: [] };
  }
  async close(): Promise<void> {}
}

function memoryLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c.toString());
      cb();
    },
  });
  const logger = pino({ level: 'info', base: null, redact: { paths: ['authorization', '*.authorization', 'headers.authorization'], censor: '[redacted]' } }, stream) as unknown as Logger;
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function rawRequest(port: number, head: string, body: Buffer | string = ''): Promise<{ status: number; text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(head);
      if (body.length) s.write(body);
    });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text, closedAfterMs: Date.now() - t0 });
    });
    s.setTimeout(20_000, () => {
      s.destroy();
      reject(new Error('server never closed the connection'));
    });
  });
}

describe('server HTTP behaviour', () => {
  let srv: TestServer;
  let backend: ControlledBackend;
  let log: ReturnType<typeof memoryLogger>;

  before(async () => {
    backend = new ControlledBackend();
    log = memoryLogger();
    srv = await startTestServer({
      logger: log.logger,
      server: { timeouts: { request: '1s', headers: '1s' }, cache: { persist: false } },
      extra: { backend },
    });
  });

  after(async () => {
    await srv?.close();
    if (srv) rmTemp(srv.cacheDir);
    rejections.stop();
    assert.deepEqual(rejections.list, [], 'no unhandled rejections');
  });

  it('protocol errors get a 4xx with {code, message}', async () => {
    const cases: [string, unknown, Record<string, string>, number, string][] = [
      ['/scan', '{"kind": "ImageReview", ', {}, 400, 'MALFORMED_JSON'],
      ['/scan', '', {}, 400, 'EMPTY_BODY'],
      ['/scan', '[1,2]', {}, 400, 'ADMISSION_BAD_REQUEST'],
      ['/scan', { apiVersion: 'imagepolicy.k8s.io/v1beta9', kind: 'ImageReview', spec: {} }, {}, 422, 'ADMISSION_WRONG_KIND'],
      ['/validate', { apiVersion: 'admission.k8s.io/v1', kind: 'ImageReview' }, {}, 422, 'ADMISSION_WRONG_KIND'],
      ['/validate', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: { group: '', version: 'v1', kind: 'Pod' } } }, {}, 400, 'ADMISSION_BAD_REQUEST'],
      ['/scan', 'apiVersion: x', { 'content-type': 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['/scan', '<xml/>', { 'content-type': 'application/xml' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['/mutate', podReview('u', ['a']), {}, 404, 'NOT_FOUND'],
    ];
    for (const [path, body, headers, status, code] of cases) {
      const r = await post(`${srv.url}${path}`, body, { headers });
      assert.equal(r.status, status, `${path} ${JSON.stringify(body).slice(0, 60)}`);
      assert.equal((r.json as { code: string }).code, code);
      assert.equal(typeof (r.json as { message: string }).message, 'string');
      assert.doesNotMatch(r.text, /at .*\.ts:\d+|FST_ERR|stack/, 'no internals');
    }
    assert.ok((await srv.metric('portcullis_protocol_errors_total')) >= 8);
  });

  it('a 10 MB body gets 413 before it has been sent (not buffered)', async () => {
    const size = 10 * 1024 * 1024;
    const res = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      let sent = 0;
      const req = http.request(`${srv.url}/validate`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(size) } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString(), sent }));
      });
      req.on('error', (err) => reject(err));
      // Send 1 MB, then stop: the answer must come anyway.
      const mb = Buffer.alloc(1024 * 1024, 0x20);
      req.write(mb, () => {
        sent += mb.length;
      });
    });
    assert.equal(res.status, 413);
    assert.equal((JSON.parse(res.body) as { code: string }).code, 'BODY_TOO_LARGE');
    assert.ok(res.sent < size);

    // Chunked (no Content-Length): cut off once the limit is passed.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${srv.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      const part = Buffer.alloc(512 * 1024, 0x20);
      let n = 0;
      const pump = (): void => {
        if (n++ < 20 && !req.destroyed) req.write(part, pump);
      };
      pump();
    });
    assert.equal(chunked, 413);
  });

  it('a request that never finishes sending is cut off', async () => {
    const port = srv.port;
    const slowBody = await rawRequest(port, `POST /scan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`, '{"kind":');
    assert.ok(slowBody.status === 408 || slowBody.status === 0, `408 or closed, got ${slowBody.status}`);
    assert.ok(slowBody.closedAfterMs < 5000, `closed after ${slowBody.closedAfterMs} ms`);
    const slowHeaders = await rawRequest(port, `POST /scan HTTP/1.1\r\nHost: x\r\nX-Slow: `);
    assert.ok(slowHeaders.closedAfterMs < 5000, `closed after ${slowHeaders.closedAfterMs} ms`);
    // The server still answers.
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  });

  it('an internal failure gives the fail-policy answer, never exception text', async () => {
    backend.failWith = new Error('connect to postgres://admin:hunter2@10.0.0.5 failed');
    try {
      const r = await post(`${srv.url}/validate?timeout=10s`, podReview('uid-internal', [PINNED]));
      assert.equal(r.status, 200);
      const a = r.json as { response: { uid: string; allowed: boolean; status: { message: string } } };
      assert.equal(a.response.uid, 'uid-internal');
      assert.equal(a.response.allowed, false);
      assert.doesNotMatch(r.text, /hunter2|postgres|10\.0\.0\.5/);
      assert.match(a.response.status.message, /scan failed/);
    } finally {
      backend.failWith = undefined;
    }
  });

  it('logs one JSON line per decision (uid, namespace, images, digests, decision, reason, duration), no credentials', async () => {
    const image = `registry.example.test/acme/logged@sha256:${'12'.repeat(32)}`;
    await post(`${srv.url}/validate`, podReview('uid-log', [image], 'team-a'), { headers: { authorization: 'Bearer sekrit-token-123' } });
    const lines = log.lines().filter((l) => l['msg'] === 'decision' && l['uid'] === 'uid-log');
    assert.equal(lines.length, 1);
    const l = lines[0] as Record<string, unknown>;
    assert.equal(l['namespace'], 'team-a');
    assert.deepEqual(l['images'], [image]);
    assert.deepEqual(l['digests'], [`sha256:${'12'.repeat(32)}`]);
    assert.equal(l['decision'], 'allow');
    assert.equal(typeof l['reason'], 'string');
    assert.equal(typeof l['durationMs'], 'number');
    assert.doesNotMatch(JSON.stringify(log.lines()), /sekrit-token-123/);
  });

  it('honours ?timeout=: a slow scan is answered pending before the API server gives up', async () => {
    backend.delayMs = 3000;
    try {
      const image = `registry.example.test/acme/slow@sha256:${'cd'.repeat(32)}`;
      const t0 = Date.now();
      const r = await post(`${srv.url}/validate?timeout=2s`, podReview('uid-slow', [image]));
      const took = Date.now() - t0;
      const a = r.json as { response: { uid: string; allowed: boolean; status: { message: string } } };
      assert.equal(a.response.uid, 'uid-slow');
      assert.equal(a.response.allowed, false);
      assert.match(a.response.status.message, /scan in progress, retry/);
      assert.ok(took >= 400 && took < 1500, `answered at the 500 ms budget (took ${took} ms)`);
    } finally {
      backend.delayMs = 0;
    }
  });

  it('graceful shutdown finishes in-flight requests and then refuses new ones', async () => {
    const b = new ControlledBackend();
    b.delayMs = 800;
    const s = await startTestServer({ server: { cache: { persist: false } }, extra: { backend: b } });
    try {
      const inflight = post(`${s.url}/scan?timeout=30s`, imageReview([`registry.example.test/acme/x@sha256:${'ef'.repeat(32)}`]));
      await eventually(() => b.scans === 1, 5000, 10);
      const closing = s.close();
      const r = await inflight;
      assert.equal(r.status, 200);
      assert.equal((r.json as { status: { allowed: boolean } }).status.allowed, true);
      await closing;
      await assert.rejects(fetch(`${s.url}/healthz`));
    } finally {
      await s.close();
      rmTemp(s.cacheDir);
    }
  });
});

describe('break-glass', () => {
  it('admits the Kubernetes 1.25 ImageReview carrying the break-glass annotation, logs and counts it every time', async () => {
    const backend = new ControlledBackend();
    const log = memoryLogger();
    const srv = await startTestServer({
      logger: log.logger,
      policy: { breakGlass: { enabled: true, annotation: 'mycluster.image-policy.k8s.io/ticket-1234', value: 'break-glass' } },
      server: { cache: { persist: false } },
      extra: { backend },
    });
    try {
      const wire =
        '{"kind":"ImageReview","apiVersion":"imagepolicy.k8s.io/v1alpha1","metadata":{"creationTimestamp":null},' +
        '"spec":{"containers":[{"image":"ghcr.io/acme/a:2"},{"image":"b"}],' +
        '"annotations":{"mycluster.image-policy.k8s.io/ticket-1234":"break-glass"},"namespace":"default"},"status":{"allowed":false}}';
      for (let i = 0; i < 2; i++) {
        const a = (await post(`${srv.url}/scan?timeout=30s`, wire)).json as { status: { allowed: boolean; auditAnnotations: Record<string, string> } };
        assert.equal(a.status.allowed, true);
        assert.match(a.status.auditAnnotations['break-glass'] ?? '', /ticket-1234=break-glass/);
      }
      assert.equal(backend.scans, 0, 'nothing scanned');
      assert.equal(await srv.metric('portcullis_break_glass_total', { route: 'image-policy' }), 2);
      const lines = log.lines().filter((l) => l['msg'] === 'decision');
      assert.equal(lines.length, 2);
      for (const l of lines) assert.equal(l['breakGlass'], true);
    } finally {
      await srv.close();
      rmTemp(srv.cacheDir);
    }
  });
});

describe('decision memo and the two HTTP paths', () => {
  let srv: TestServer;
  let backend: ControlledBackend;
  let log: ReturnType<typeof memoryLogger>;
  const img = `registry.example.test/acme/memo@sha256:${'34'.repeat(32)}`;

  before(async () => {
    backend = new ControlledBackend();
    log = memoryLogger();
    srv = await startTestServer({ logger: log.logger, server: { mutate: true, cache: { persist: false, decisionTtl: '5s' } }, extra: { backend } });
  });
  after(async () => {
    await srv?.close();
    if (srv) rmTemp(srv.cacheDir);
  });

  it('answers an identical ImageReview from the memo, logged and counted as a decision', async () => {
    const body = JSON.stringify(imageReview([img]));
    const a = await post(`${srv.url}/scan`, body);
    const b = await post(`${srv.url}/image-policy?timeout=30s`, body);
    assert.equal(b.text, a.text);
    assert.equal(await srv.metric('portcullis_cache_lookups_total', { cache: 'decision', result: 'hit' }), 1);
    assert.equal(await srv.metric('portcullis_decisions_total', { route: 'image-policy' }), 2);
    const lines = log.lines().filter((l) => l['msg'] === 'decision' && Array.isArray(l['images']) && (l['images'] as string[])[0] === img);
    assert.equal(lines.length, 2);
    assert.equal(lines[1]?.['memo'], true);
    assert.equal(lines[1]?.['decision'], 'allow');
  });

  it('answers the same AdmissionReview with another uid from the memo once it repeats, echoing the new uid', async () => {
    // The first two are decided (an AdmissionReview is memoized on its second sighting), the others come from the memo.
    const uids = ['0f5e3c1a-1111-4a4a-8b8b-000000000001', '0f5e3c1a-1111-4a4a-8b8b-000000000002', '0f5e3c1a-1111-4a4a-8b8b-000000000003', '0f5e3c1a-1111-4a4a-8b8b-000000000004'];
    const hitsBefore = await srv.metric('portcullis_cache_lookups_total', { cache: 'decision', result: 'hit' });
    const answers = [];
    for (const uid of uids) answers.push((await post(`${srv.url}/mutate`, podReview(uid, [`registry.example.test/acme/memo2@sha256:${'56'.repeat(32)}`]))).json as { response: { uid: string; allowed: boolean } });
    assert.deepEqual(answers.map((x) => x.response.uid), uids);
    for (const x of answers) assert.equal(x.response.allowed, true);
    assert.equal((await srv.metric('portcullis_cache_lookups_total', { cache: 'decision', result: 'hit' })) - hitsBefore, 2);
    // /validate and /mutate never share entries.
    const v = (await post(`${srv.url}/validate`, podReview(uids[0] as string, [`registry.example.test/acme/memo2@sha256:${'56'.repeat(32)}`]))).json as { response: { uid: string; patch?: string } };
    assert.equal(v.response.uid, uids[0]);
    assert.equal(v.response.patch, undefined);
  });

  it('never memoizes a review whose uid is not a UUID, and never a pending or failed decision', async () => {
    const hits = (): Promise<number> => srv.metric('portcullis_cache_lookups_total', { cache: 'decision', result: 'hit' });
    const before = await hits();
    for (const uid of ['a', 'b']) {
      const r = (await post(`${srv.url}/validate`, podReview(uid, [`registry.example.test/acme/memo3@sha256:${'78'.repeat(32)}`]))).json as { response: { uid: string } };
      assert.equal(r.response.uid, uid);
    }
    assert.equal(await hits(), before);
    backend.failWith = new Error('boom');
    try {
      const body = JSON.stringify(imageReview([`registry.example.test/acme/memo4@sha256:${'9a'.repeat(32)}`]));
      await post(`${srv.url}/scan`, body);
      await post(`${srv.url}/scan`, body);
      assert.equal(await hits(), before, 'failed decisions are decided again');
    } finally {
      backend.failWith = undefined;
    }
  });

  it('echoes request.uid however the body is crafted: an escaped uid after another UUID "uid", a userInfo uid first, duplicate keys', async () => {
    const hits = (): Promise<number> => srv.metric('portcullis_cache_lookups_total', { cache: 'decision', result: 'hit' });
    const image = `registry.example.test/acme/crafted@sha256:${'de'.repeat(32)}`;
    const A = '5d6e7f80-1111-4a4a-8b8b-00000000000a';
    const others = ['5d6e7f80-1111-4a4a-8b8b-00000000000b', '5d6e7f80-1111-4a4a-8b8b-00000000000c'];
    const escaped = [...A].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    const { uid: _uid, ...rest } = podReview(A, [image])['request'] as Record<string, unknown> & { object: { metadata: Record<string, unknown> } };
    const wrap = (request: Record<string, unknown>): string => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
    const crafted: ((x: string) => string)[] = [
      // request.uid written with escapes, after a pod uid: the first `"uid":"<UUID>"` is the pod's.
      (x) => wrap({ ...rest, object: { ...rest.object, metadata: { ...rest.object.metadata, uid: x } }, uid: 'ESCAPED' }).replace('"ESCAPED"', `"${escaped}"`),
      // userInfo.uid before request.uid.
      (x) => wrap({ ...rest, userInfo: { username: 'alice', uid: x }, uid: A }),
      // two "uid" keys in request: JSON.parse keeps the last.
      (x) => wrap({ uid: x, ...rest }).replace(/}}$/, `,"uid":"${A}"}}`),
    ];
    const before = await hits();
    for (const make of crafted) {
      for (const x of [A, ...others]) {
        const r = await post(`${srv.url}/validate`, make(x));
        assert.equal(r.status, 200, r.text);
        assert.equal((r.json as { response: { uid: string } }).response.uid, A, make(x));
      }
    }
    assert.equal(await hits(), before, 'none of these is memoized: its first UUID "uid" is not request.uid');
  });

  it('gives the same answer to a chunked request (fastify path) as to a Content-Length one (pre-router)', async () => {
    const body = JSON.stringify(imageReview([`registry.example.test/acme/paths@sha256:${'bc'.repeat(32)}`]));
    const viaHot = await post(`${srv.url}/scan`, body);
    const viaFastify = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${srv.url}/scan/`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', 'transfer-encoding': 'chunked' } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve(Buffer.concat(chunks).toString()));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      req.end(body.slice(10));
    });
    assert.equal(viaFastify, viaHot.text);
    const bad = await new Promise<number>((resolve) => {
      const req = http.request(`${srv.url}/validate`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.end('{"kind":');
    });
    assert.equal(bad, 400);
  });
});

describe('server TLS', { skip: opensslAvailable() }, () => {
  let dir: string;
  let ca: Pem;
  let serverA: Pem;
  let serverB: Pem;
  let client: Pem;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pc-tls-'));
    ca = await makeCa(dir, 'test-ca');
    serverA = await makeLeaf(dir, 'server-a', ca, 'server');
    serverB = await makeLeaf(dir, 'server-b', ca, 'server');
    client = await makeLeaf(dir, 'client', ca, 'client');
  });
  after(() => rmTemp(dir));

  const peerFingerprint = (port: number, opts: tls.ConnectionOptions = {}): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(ca.cert), ...opts }, () => {
        const fp = s.getPeerX509Certificate()?.fingerprint256 ?? '';
        s.end();
        resolve(fp);
      });
      s.on('error', reject);
    });

  it('serves the certificate from files and reloads it when the files change', async () => {
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    copyFileSync(serverA.cert, certFile);
    copyFileSync(serverA.key, keyFile);
    const s = await startTestServer({ server: { tls: { cert: certFile, key: keyFile, reloadInterval: '100ms' }, cache: { persist: false } } });
    try {
      assert.match(s.url, /^https:/);
      const fpA = await peerFingerprint(s.port, { ca: readFileSync(ca.cert) });
      assert.equal(fpA, fingerprintOf(serverA.cert));
      const ok = await new Promise<number>((resolve, reject) => {
        https.get(`${s.url}/healthz`, { ca: readFileSync(ca.cert) }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        }).on('error', reject);
      });
      assert.equal(ok, 200);
      // Replace both files the way a Secret update does (new files renamed into place).
      copyFileSync(serverB.cert, `${certFile}.tmp`);
      copyFileSync(serverB.key, `${keyFile}.tmp`);
      renameSync(`${keyFile}.tmp`, keyFile);
      renameSync(`${certFile}.tmp`, certFile);
      await eventually(async () => (await peerFingerprint(s.port, { ca: readFileSync(ca.cert) })) === fingerprintOf(serverB.cert), 5000, 100);
      assert.ok((await s.metric('portcullis_tls_reloads_total', { result: 'ok' })) >= 1);
    } finally {
      await s.close();
      rmTemp(s.cacheDir);
    }
  });

  it('with a client CA, a client without a certificate is refused and one with a certificate is served', async () => {
    const s = await startTestServer({ server: { tls: { cert: serverA.cert, key: serverA.key, clientCa: ca.cert }, cache: { persist: false } } });
    try {
      const get = (opts: https.RequestOptions): Promise<number> =>
        new Promise((resolve, reject) => {
          const req = https.get(`${s.url}/healthz`, { ca: readFileSync(ca.cert), ...opts }, (r) => {
            r.resume();
            resolve(r.statusCode ?? 0);
          });
          req.on('error', reject);
        });
      await assert.rejects(get({}), /certificate|alert|socket hang up|ECONNRESET/i);
      assert.equal(await get({ cert: readFileSync(client.cert), key: readFileSync(client.key) }), 200);
      // A certificate from another CA is refused too.
      const other = await makeCa(dir, 'other-ca');
      const stranger = await makeLeaf(dir, 'stranger', other, 'client');
      await assert.rejects(get({ cert: readFileSync(stranger.cert), key: readFileSync(stranger.key) }), /certificate|alert|socket hang up|ECONNRESET/i);
    } finally {
      await s.close();
      rmTemp(s.cacheDir);
    }
  });
});
