/**
 * Blob downloads on the lean HTTP/1.1 reader (src/image/registry/lean-http.ts): against Debian's real
 * docker-registry (plain, token auth, TLS with a self-signed certificate), and against small local
 * servers on 127.0.0.1 for what a real registry never sends: chunked bodies with extensions and
 * trailers, malformed heads and framing, truncation, redirects to another origin, slow servers.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { RegistryClient } from '../../src/image/index.ts';
import { createAgents, destroyAgents, type HttpSettings } from '../../src/image/registry/http.ts';
import { ChunkedDecoder, leanRequest, leanTuning, parseHead } from '../../src/image/registry/lean-http.ts';
import { ScannerError } from '../../src/shared/errors.ts';
import { buildImage, osReleaseEntries, UBUNTU_1804 } from '../helpers/image-builder.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';

const skip = registryAvailable();
const work = mkdtempSync(join(tmpdir(), 'pc-lean-http-'));

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function errorOf(p: Promise<unknown>): Promise<ScannerError> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof ScannerError, `a ScannerError, got ${String(caught)}`);
  assert.ok(!caught.message.includes('\n'), 'one line');
  return caught;
}

/** Reads a stream of transient views, copying each (as a consumer must), with an optional pause per chunk. */
async function collect(src: AsyncIterable<Buffer>, pauseMs = 0): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) {
    parts.push(Buffer.from(c));
    if (pauseMs) await sleep(pauseMs);
  }
  return Buffer.concat(parts);
}

/** A blob of incompressible bytes (several MB: many socket reads, pauses and staging-buffer turns). */
function bigLayerImage(mb: number): { image: ReturnType<typeof buildImage>; layer: Buffer; digest: string } {
  const image = buildImage({
    layers: [{ entries: [...osReleaseEntries(UBUNTU_1804), { path: 'opt/noise.bin', content: randomBytes(mb << 20) }], compression: 'none' }],
  });
  const l = image.layers[0];
  assert.ok(l);
  return { image, layer: l.blob, digest: l.digest };
}

describe('lean blob downloads from docker-registry', { skip }, () => {
  let plain: TestRegistry;
  let token: TestRegistry;
  let tls: TestRegistry;
  const big = bigLayerImage(12);

  before(async () => {
    [plain, token, tls] = await Promise.all([startRegistry(), startRegistry({ auth: 'token' }), startRegistry({ tls: true })]);
    await Promise.all([plain.pushImage(big.image, 'lean/big:1'), token.pushImage(big.image, 'lean/big:1'), tls.pushImage(big.image, 'lean/big:1')]);
  });
  after(async () => {
    await Promise.all([plain?.stop(), token?.stop(), tls?.stop()]);
  });

  const desc = { digest: big.digest, size: big.layer.length };
  const repo = (reg: TestRegistry): { registry: string; repository: string } => ({ registry: reg.host, repository: 'lean/big' });

  it('a 12 MB layer arrives byte for byte, as transient views read slowly and as owned copies', async () => {
    const c = new RegistryClient({ allowPrivateRegistries: true });
    try {
      const views = await collect(await c.fetchBlobRaw(repo(plain), desc, undefined, { transient: true }), 0);
      assert.equal(sha256(views), big.digest);
      // a slow consumer: the socket pauses, the read timeout must not fire while we are the slow side
      const slow = new RegistryClient({ allowPrivateRegistries: true, readTimeoutMs: 150 });
      try {
        const parts: Buffer[] = [];
        let n = 0;
        for await (const v of await slow.fetchBlobRaw(repo(plain), desc, undefined, { transient: true })) {
          parts.push(Buffer.from(v));
          if (n++ < 3) await sleep(400);
        }
        assert.equal(sha256(Buffer.concat(parts)), big.digest);
      } finally {
        slow.close();
      }
      // owned copies may be kept past the next chunk
      const kept: Buffer[] = [];
      for await (const v of await c.fetchBlobRaw(repo(plain), desc)) kept.push(v);
      assert.equal(sha256(Buffer.concat(kept)), big.digest);
      // and the verified stream
      assert.equal(sha256(await collect(await c.fetchBlob(repo(plain), desc))), big.digest);
    } finally {
      c.close();
    }
  });

  it('token auth: the blob request is answered with the bearer token, then streams', async () => {
    const cfg = token.dockerConfig(join(work, 'tok'));
    const c = new RegistryClient({ allowPrivateRegistries: true, registryConfig: cfg });
    try {
      assert.equal(sha256(await collect(await c.fetchBlobRaw(repo(token), desc, undefined, { transient: true }))), big.digest);
      assert.ok(token.tokenRequests.some((r) => r.status === 200 && r.scopes.some((s) => s.includes('lean/big'))), 'a token was issued for the repository');
    } finally {
      c.close();
    }
    const anon = new RegistryClient({ allowPrivateRegistries: true });
    try {
      const e = await errorOf(anon.fetchBlobRaw(repo(token), desc));
      assert.equal(e.code, 'REGISTRY_UNAUTHORIZED');
    } finally {
      anon.close();
    }
  });

  it('TLS: a self-signed registry is refused unless insecure; insecure streams correctly through TLS records after pauses', async () => {
    const ip = '127.0.0.1';
    const host = tls.host;
    // loopback is insecure by default: verification off, bytes intact even though TLS hands over
    // records after the socket was paused (they go to the overflow list)
    const c = new RegistryClient({ allowPrivateRegistries: true });
    const saved = { ...leanTuning };
    try {
      assert.equal(sha256(await collect(await c.fetchBlobRaw(repo(tls), desc, undefined, { transient: true }), 1)), big.digest);
      // a staging buffer with no margin: every record TLS hands over after a pause takes the overflow path
      leanTuning.stageBytes = 20_000;
      leanTuning.stageLow = 20_000;
      assert.equal(sha256(await collect(await c.fetchBlobRaw(repo(tls), desc, undefined, { transient: true }), 1)), big.digest);
      assert.equal(sha256(await collect(await c.fetchBlobRaw(repo(plain), desc, undefined, { transient: true }))), big.digest);
    } finally {
      Object.assign(leanTuning, saved);
      c.close();
    }
    // the lean reader itself verifies certificates unless told otherwise
    const s: HttpSettings = { connectTimeoutMs: 2000, readTimeoutMs: 5000, allowPrivate: true, agents: createAgents(), tlsInsecure: false };
    try {
      const e = await errorOf(leanRequest(new URL(`https://${host}/v2/`), 'GET', {}, s, `registry ${ip}`));
      assert.equal(e.code, 'REGISTRY_UNREACHABLE');
      assert.match(e.message, /self-signed|SELF_SIGNED|certificate/i);
    } finally {
      destroyAgents(s.agents);
    }
  });

  it('a blob corrupted in storage is DIGEST_MISMATCH; a wrong size is refused before the body', async () => {
    const blobPath = plain.blobFile(big.digest);
    const orig = readFileSync(blobPath);
    const bad = Buffer.from(orig);
    bad[bad.length >> 1] = (bad[bad.length >> 1] ?? 0) ^ 0xff;
    writeFileSync(blobPath, bad);
    const c = new RegistryClient({ allowPrivateRegistries: true });
    try {
      const e = await errorOf(collect(await c.fetchBlob(repo(plain), desc)));
      assert.equal(e.code, 'DIGEST_MISMATCH');
      const e2 = await errorOf(c.fetchBlobRaw(repo(plain), { digest: big.digest, size: big.layer.length + 1 }));
      assert.equal(e2.code, 'BLOB_SIZE_MISMATCH');
    } finally {
      c.close();
      writeFileSync(blobPath, orig);
    }
  });
});

/** A raw TCP server on 127.0.0.1 that answers each connection with `answer(socket, requestHead)`. */
async function rawServer(answer: (sock: net.Socket, head: string) => void): Promise<{ url: string; stop: () => Promise<void>; heads: string[] }> {
  const heads: string[] = [];
  const socks = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (d) => {
      if (buf.includes('\r\n\r\n')) return;
      buf += d.toString('latin1');
      if (buf.includes('\r\n\r\n')) {
        heads.push(buf);
        answer(sock, buf);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    heads,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        srv.close(() => r());
      }),
  };
}

const settings = (extra: Partial<HttpSettings> = {}): HttpSettings => ({ connectTimeoutMs: 2000, readTimeoutMs: 3000, allowPrivate: true, agents: createAgents(), ...extra });

async function fetchLean(url: string, s: HttpSettings = settings()): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  try {
    const res = await leanRequest(new URL(url), 'GET', { 'user-agent': 'test' }, s, 'blob x');
    return { status: res.status, headers: res.headers, body: await collect(res.body) };
  } finally {
    destroyAgents(s.agents);
  }
}

describe('lean HTTP/1.1 reader against local servers', () => {
  const payload = randomBytes(300_000);

  it('chunked bodies (node:http), with chunk extensions and trailers, and Content-Length bodies', async () => {
    const srv = http.createServer((req, res) => {
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let i = 0; i < payload.length; i += 7000) res.write(payload.subarray(i, i + 7000));
        res.addTrailers({ 'x-checksum': 'abc' });
        res.end();
      } else {
        res.writeHead(200, { 'content-length': String(payload.length) });
        res.end(payload);
      }
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const a = await fetchLean(`${base}/chunked`);
      assert.equal(a.status, 200);
      assert.equal(a.headers['transfer-encoding'], 'chunked');
      assert.ok(a.body.equals(payload));
      const b = await fetchLean(`${base}/length`);
      assert.equal(b.headers['content-length'], String(payload.length));
      assert.ok(b.body.equals(payload));
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
    // extensions and trailers by hand, split at awkward places
    const dec = new ChunkedDecoder('x');
    const wire = Buffer.from('3;name=value\r\nabc\r\n0002\r\nde\r\n0\r\nTrailer-One: 1\r\n\r\n');
    const out: Buffer[] = [];
    for (let i = 0; i < wire.length; i += 3) dec.push(wire.subarray(i, i + 3), (v) => out.push(Buffer.from(v)));
    assert.ok(dec.done);
    assert.equal(Buffer.concat(out).toString(), 'abcde');
  });

  it('skips 100-continue, ignores bytes after the body, sends a strict request', async () => {
    const srv = await rawServer((sock) => {
      sock.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloGARBAGE`);
    });
    try {
      const r = await fetchLean(`${srv.url}/v2/x/blobs/sha256:00?a=1`);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'hello');
      const head = srv.heads[0] ?? '';
      assert.match(head, /^GET \/v2\/x\/blobs\/sha256:00\?a=1 HTTP\/1\.1\r\n/);
      assert.match(head, /\r\nHost: 127\.0\.0\.1:\d+\r\n/);
      assert.match(head, /\r\nConnection: close\r\n/);
      assert.match(head, /\r\nAccept-Encoding: identity\r\n/);
    } finally {
      await srv.stop();
    }
  });

  const malformed: [string, string, RegExp][] = [
    ['a bad status line', 'HTTP/1.1 2OO OK\r\nContent-Length: 1\r\n\r\nx', /bad status line/],
    ['HTTP/2 on a 1.1 connection', 'HTTP/2 200\r\n\r\n', /bad status line/],
    ['obsolete line folding', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 1\r\n\r\nx', /folding/],
    ['a bare LF in the head', 'HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\nx', /bare CR or LF|bad status line/],
    ['both Transfer-Encoding and Content-Length', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n', /both Transfer-Encoding and Content-Length/],
    ['a transfer coding other than chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', /unsupported Transfer-Encoding/],
    ['disagreeing Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', /bad Content-Length/],
    ['a signed Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc', /bad Content-Length/],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n', /bad chunk size/],
    ['a chunk without its CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n', /not followed by CRLF/],
    ['a bare LF in chunked framing', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n', /bare LF/],
    ['a control character in a header', 'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 0\r\n\r\n', /control character/],
    ['a 101 upgrade', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n', /unexpected 101/],
  ];
  for (const [name, wire, re] of malformed) {
    it(`refuses ${name} with one clear line`, async () => {
      const srv = await rawServer((sock) => sock.end(wire));
      try {
        const e = await errorOf(fetchLean(`${srv.url}/b`));
        assert.equal(e.code, 'REGISTRY_HTTP', e.message);
        assert.match(e.message, /^blob x: malformed HTTP response/);
        assert.match(e.message, re);
      } finally {
        await srv.stop();
      }
    });
  }

  it('refuses a head larger than 64 KiB and a chunk size line that never ends', async () => {
    const srv = await rawServer((sock) => sock.end(`HTTP/1.1 200 OK\r\n${'X-Pad: '.padEnd(1000, 'a')}\r\n`.repeat(70)));
    try {
      assert.match((await errorOf(fetchLean(`${srv.url}/b`))).message, /head larger than 65536 bytes|more than 200 header lines/);
    } finally {
      await srv.stop();
    }
    const srv2 = await rawServer((sock) => sock.end(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${'0'.repeat(5000)}`));
    try {
      assert.match((await errorOf(fetchLean(`${srv2.url}/b`))).message, /chunk size line too long/);
    } finally {
      await srv2.stop();
    }
  });

  it('a body cut short is BLOB_TRUNCATED (Content-Length and chunked); a close-delimited body ends at the close', async () => {
    const cut = await rawServer((sock) => sock.end(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'a'.repeat(400)}`));
    const cutChunked = await rawServer((sock) => sock.end(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`));
    const closeDelimited = await rawServer((sock) => sock.end(`HTTP/1.1 200 OK\r\n\r\nuntil-close`));
    try {
      const e = await errorOf(fetchLean(`${cut.url}/b`));
      assert.equal(e.code, 'BLOB_TRUNCATED');
      assert.match(e.message, /600 bytes of the body missing/);
      const e2 = await errorOf(fetchLean(`${cutChunked.url}/b`));
      assert.equal(e2.code, 'BLOB_TRUNCATED');
      assert.match(e2.message, /chunked body did not end/);
      assert.equal((await fetchLean(`${closeDelimited.url}/b`)).body.toString(), 'until-close');
    } finally {
      await Promise.all([cut.stop(), cutChunked.stop(), closeDelimited.stop()]);
    }
  });

  it('a server that stalls before the head or inside the body: REGISTRY_TIMEOUT; a slow but steady one is fine', async () => {
    const silent = await rawServer(() => {});
    const stall = await rawServer((sock) => sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc`));
    const drip = await rawServer((sock) => {
      sock.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
      let i = 0;
      const t = setInterval(() => {
        if (sock.destroyed) return clearInterval(t);
        sock.write('x');
        if (++i === 10) {
          clearInterval(t);
          sock.end();
        }
      }, 40);
    });
    try {
      const e = await errorOf(fetchLean(`${silent.url}/b`, settings({ readTimeoutMs: 200 })));
      assert.equal(e.code, 'REGISTRY_TIMEOUT');
      assert.match(e.message, /waiting for the response/);
      const e2 = await errorOf(fetchLean(`${stall.url}/b`, settings({ readTimeoutMs: 200 })));
      assert.equal(e2.code, 'REGISTRY_TIMEOUT');
      assert.match(e2.message, /waiting for data/);
      assert.equal((await fetchLean(`${drip.url}/b`, settings({ readTimeoutMs: 200 }))).body.toString(), 'x'.repeat(10));
    } finally {
      await Promise.all([silent.stop(), stall.stop(), drip.stop()]);
    }
  });

  it('cancellation stops a transfer with CANCELLED', async () => {
    const stall = await rawServer((sock) => sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc`));
    const ac = new AbortController();
    try {
      const p = fetchLean(`${stall.url}/b`, settings({ signal: ac.signal }));
      setTimeout(() => ac.abort(), 100);
      assert.equal((await errorOf(p)).code, 'CANCELLED');
    } finally {
      await stall.stop();
    }
  });

  it('SSRF guard: private addresses are refused, by literal and by name, unless allowed', async () => {
    const srv = await rawServer((sock) => sock.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const port = new URL(srv.url).port;
    try {
      const e = await errorOf(fetchLean(`http://127.0.0.1:${port}/b`, settings({ allowPrivate: false })));
      assert.equal(e.code, 'REGISTRY_ADDRESS_BLOCKED');
      const e2 = await errorOf(fetchLean(`http://localhost:${port}/b`, settings({ allowPrivate: false })));
      assert.equal(e2.code, 'REGISTRY_ADDRESS_BLOCKED');
      assert.equal(srv.heads.length, 0, 'nothing reached the server');
      assert.equal((await fetchLean(`http://localhost:${port}/b`)).status, 200);
    } finally {
      await srv.stop();
    }
  });

  it('parseHead keeps repeated headers joined and names lower-cased', () => {
    const h = parseHead('HTTP/1.1 307 Temporary Redirect\r\nLocation: /x\r\nX-A: 1\r\nx-a: 2', 'w');
    assert.equal(h.status, 307);
    assert.equal(h.headers['location'], '/x');
    assert.equal(h.headers['x-a'], '1, 2');
  });
});

describe('registry errors on the lean reader (RegistryClient)', () => {
  it('a 404 whose error body arrives in pieces is reported with the registry error code (bodies are copied, not views)', async () => {
    const body = JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: 'x'.repeat(3000) }] });
    const srv = http.createServer((req, res) => {
      if (req.url === '/v2/') return void res.writeHead(200).end('{}');
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.write(body.slice(0, 40));
      setTimeout(() => res.end(body.slice(40)), 60);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const c = new RegistryClient({ allowPrivateRegistries: true });
    try {
      const e = await errorOf(c.fetchBlobRaw({ registry: host, repository: 'app' }, { digest: sha256(Buffer.from('x')), size: 1 }, undefined, { transient: true }));
      assert.equal(e.code, 'REGISTRY_NOT_FOUND');
      assert.match(e.message, /404 Not Found \(BLOB_UNKNOWN: blob unknown to registry\)/);
    } finally {
      c.close();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

describe('redirects to blob storage on the lean reader (RegistryClient)', { skip }, () => {
  it('follows a redirect to another origin without the Authorization header, verifies the digest, refuses a tampered one', async () => {
    const { layer, digest } = bigLayerImage(2);
    const seen: { auth?: string | undefined; path: string }[] = [];
    // "blob storage": serves the bytes at a signed-looking URL, in chunks
    const storage = http.createServer((req, res) => {
      seen.push({ auth: req.headers.authorization, path: req.url ?? '' });
      const body = req.url?.includes('tampered') ? Buffer.concat([layer.subarray(0, -1), Buffer.from('!')]) : layer;
      res.writeHead(200);
      for (let i = 0; i < body.length; i += 65_000) res.write(body.subarray(i, i + 65_000));
      res.end();
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', r));
    const storageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`;
    // "registry": answers /v2/ and redirects blob requests; checks the bearer it was given
    const registry = http.createServer((req, res) => {
      if (req.url === '/v2/') return void res.writeHead(200).end('{}');
      if (req.headers.authorization !== 'Bearer tok') return void res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://127.0.0.1:9/token",service="r"' }).end();
      const tampered = req.url?.includes('tampered') ? '&tampered=1' : '';
      res.writeHead(307, { location: `${storageUrl}/store/${digest.slice(7)}?sig=abc${tampered}` }).end();
    });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
    const c = new RegistryClient({ allowPrivateRegistries: true, credentials: () => ({ registryToken: 'tok' }) });
    try {
      // a first request gets the 401 and answers it with the registry token, then follows the redirect
      const body = await collect(await c.fetchBlob({ registry: host, repository: 'app' }, { digest, size: layer.length }));
      assert.equal(sha256(body), digest);
      assert.ok(seen.length >= 1);
      assert.equal(seen[0]?.auth, undefined, 'Authorization is not sent to another origin');
      assert.match(seen[0]?.path ?? '', /^\/store\/[0-9a-f]{64}\?sig=abc$/);
      const e = await errorOf(collect(await c.fetchBlob({ registry: host, repository: 'tampered' }, { digest, size: layer.length })));
      assert.equal(e.code, 'DIGEST_MISMATCH');
    } finally {
      c.close();
      await new Promise<void>((r) => registry.close(() => r()));
      await new Promise<void>((r) => storage.close(() => r()));
    }
  });
});

after(() => rmSync(work, { recursive: true, force: true }));
