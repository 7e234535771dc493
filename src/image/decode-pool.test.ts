import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { ScannerError } from '../shared/errors.ts';
import { DecodePool, type DecodeJob } from './decode-pool.ts';

const dir = mkdtempSync(join(tmpdir(), 'pc-decode-'));
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
// compressible but not trivial: 24 MiB of repeated random 64 KiB blocks
const block = randomBytes(64 << 10);
const tar = Buffer.concat(Array.from({ length: 384 }, () => block));
const tarGz = gzipSync(tar, { level: 1 });

function file(name: string, b: Buffer): { path: string; start: number; length: number } {
  const path = join(dir, name);
  writeFileSync(path, b);
  return { path, start: 0, length: b.length };
}

async function* chunked(b: Buffer, size = 100_000): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function drain(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c)); // a chunk is only valid until the next one
  return Buffer.concat(parts);
}

describe('DecodePool', () => {
  const pool = new DecodePool(2);
  after(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('decodes gzip, zstd and plain blobs from files and from streams, verifying both digests', async () => {
    const blobs: [string, Buffer][] = [['gz', tarGz], ['zst', zstdCompressSync(tar)], ['tar', tar]];
    for (const [name, blob] of blobs) {
      for (const how of ['file', 'stream'] as const) {
        let raw = 0;
        const job: DecodeJob = { what: `L-${name}`, digest: sha(blob), size: blob.length, diffId: sha(tar), onRaw: (n) => (raw = n) };
        if (how === 'file') job.file = file(name, blob);
        else job.source = chunked(blob);
        const out = await drain(pool.decode(job));
        assert.ok(out.equals(tar), `${name} via ${how}`);
        assert.equal(raw, blob.length);
      }
    }
  });

  it('reads a byte range of a file (an archive member)', async () => {
    const blob = tarGz;
    const f = file('member', Buffer.concat([Buffer.alloc(1000, 7), blob, Buffer.alloc(500, 9)]));
    const out = await drain(pool.decode({ what: 'member', digest: sha(blob), size: blob.length, file: { path: f.path, start: 1000, length: blob.length } }));
    assert.ok(out.equals(tar));
  });

  it('runs two layers at once and more layers than workers', async () => {
    const blob = tarGz;
    const f = file('par', blob);
    const outs = await Promise.all(Array.from({ length: 5 }, (_, i) => drain(pool.decode({ what: `p${i}`, digest: sha(blob), size: blob.length, file: f }))));
    for (const o of outs) assert.ok(o.equals(tar));
  });

  it('a blob that does not match its digest is DIGEST_MISMATCH, even when zlib also chokes on it', async () => {
    const blob = Buffer.from(tarGz);
    const good = sha(blob);
    blob.fill(0x41, 2000, 2100);
    for (const src of ['file', 'stream'] as const) {
      const job: DecodeJob = { what: 'layer X', digest: good, size: blob.length };
      if (src === 'file') job.file = file('bad', blob);
      else job.source = chunked(blob);
      await assert.rejects(drain(pool.decode(job)), (e: unknown) => e instanceof ScannerError && e.code === 'DIGEST_MISMATCH' && /^layer X: digest mismatch \(expected sha256:/.test(e.message));
    }
  });

  it('truncated, corrupt, oversize and short blobs', async () => {
    const gz = tarGz;
    const cut = gz.subarray(0, gz.length - 1000);
    await assert.rejects(drain(pool.decode({ what: 'T', digest: sha(cut), size: cut.length, file: file('cut', cut) })), /ScannerError: T: gzip stream is truncated/);
    const corrupt = Buffer.from(gz);
    corrupt.fill(0x42, 100, 400);
    await assert.rejects(drain(pool.decode({ what: 'C', digest: sha(corrupt), size: corrupt.length, source: chunked(corrupt) })), (e: unknown) => e instanceof ScannerError && e.code === 'LAYER_CORRUPT' && /^C: gzip stream is corrupt/.test(e.message));
    await assert.rejects(drain(pool.decode({ what: 'O', size: 1000, source: chunked(gz) })), (e: unknown) => e instanceof ScannerError && e.code === 'SIZE_LIMIT' && e.message === 'O: larger than its declared size (1000 bytes)');
    await assert.rejects(drain(pool.decode({ what: 'S', size: gz.length + 10, source: chunked(gz) })), /ScannerError: S: truncated \(\d+ of \d+ bytes\)/);
    await assert.rejects(drain(pool.decode({ what: 'D', diffId: sha(Buffer.from('x')), file: file('d', gz) })), /ScannerError: D: the layer's content hashes to sha256:[0-9a-f]{64}, not its diff ID/);
    await assert.rejects(drain(pool.decode({ what: 'M', file: { path: join(dir, 'missing'), start: 0, length: 10 } })), (e: unknown) => e instanceof ScannerError && e.code === 'LAYER_UNREADABLE');
  });

  it('a source that fails passes its own error through', async () => {
    const boom = new ScannerError('REGISTRY_TIMEOUT', 'blob: timed out');
    async function* failing(): AsyncGenerator<Buffer> {
      yield tarGz.subarray(0, 5000);
      throw boom;
    }
    await assert.rejects(drain(pool.decode({ what: 'F', source: failing() })), (e: unknown) => e === boom);
  });

  it('a consumer that stops early aborts the job, and the pool stays usable', async () => {
    const blob = tarGz;
    const f = file('early', blob);
    for await (const c of pool.decode({ what: 'E', file: f })) {
      assert.ok(c.length > 0);
      break;
    }
    const ac = new AbortController();
    const it = pool.decode({ what: 'A', file: f }, ac.signal);
    await it.next();
    ac.abort();
    await assert.rejects(it.next(), /A: cancelled/);
    assert.ok((await drain(pool.decode({ what: 'after', file: f }))).equals(tar));
  });

  it('holds only a bounded window of output for a slow consumer', async () => {
    const big = Buffer.alloc(256 << 20); // 256 MiB of zeros: 250 KiB of gzip
    const blob = gzipSync(big);
    let max = 0;
    let seen = 0;
    const base = process.memoryUsage().arrayBuffers;
    for await (const c of pool.decode({ what: 'W', file: file('w', blob) })) {
      seen += c.length;
      if (seen % (32 << 20) < c.length) {
        await new Promise((r) => setTimeout(r, 20));
        max = Math.max(max, process.memoryUsage().arrayBuffers - base);
      }
    }
    assert.equal(seen, big.length);
    assert.ok(max < 64 << 20, `at most ~window in flight, saw ${Math.round(max / 1048576)} MiB`);
  });
});
