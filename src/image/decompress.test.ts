import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { tarLayer } from '../../test/helpers/image-builder.ts';
import { ScannerError } from '../shared/errors.ts';
import { decompress, detectCompression } from './decompress.ts';
import { verified } from './digest.ts';
import { createHash } from 'node:crypto';

async function* chunks(b: Buffer, size = 1000): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function all(src: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(c);
  return Buffer.concat(parts);
}

const tar = tarLayer([{ path: 'etc/os-release', content: 'ID=alpine\n'.repeat(500) }]);

describe('decompress', () => {
  it('detects gzip, zstd and plain tar by magic bytes, whatever the media type says', async () => {
    for (const [name, blob] of [['gzip', gzipSync(tar)], ['zstd', zstdCompressSync(tar)], ['none', tar]] as const) {
      let seen = '';
      const out = await all(decompress(chunks(blob, 3), 'layer X', (c) => (seen = c)));
      assert.equal(seen, name);
      assert.ok(out.equals(tar), `${name} round trip`);
    }
    assert.equal(detectCompression(Buffer.from([0x1f])), 'none');
  });

  it('an empty blob is an empty stream', async () => {
    assert.equal((await all(decompress(chunks(Buffer.alloc(0)), 'layer X'))).length, 0);
  });

  it('a truncated gzip stream is LAYER_CORRUPT naming the layer', async () => {
    const gz = gzipSync(tar);
    await assert.rejects(all(decompress(chunks(gz.subarray(0, gz.length - 40)), 'layer sha256:abc of img')), (err: unknown) => {
      assert.ok(err instanceof ScannerError);
      assert.equal(err.code, 'LAYER_CORRUPT');
      assert.match(err.message, /^layer sha256:abc of img: gzip stream is truncated/);
      return true;
    });
  });

  it('corrupt gzip and zstd data are LAYER_CORRUPT', async () => {
    const gz = Buffer.from(gzipSync(tar));
    gz.fill(0x55, 20, 60);
    await assert.rejects(all(decompress(chunks(gz), 'L')), /L: gzip stream is corrupt/);
    const zs = Buffer.from(zstdCompressSync(tar));
    zs.fill(0x55, 10, 40);
    await assert.rejects(all(decompress(chunks(zs), 'L')), (e: unknown) => e instanceof ScannerError && e.code === 'LAYER_CORRUPT');
  });

  it('a digest mismatch of the compressed blob surfaces as DIGEST_MISMATCH, not as a gzip error', async () => {
    const gz = gzipSync(tar);
    const wrong = `sha256:${createHash('sha256').update('other').digest('hex')}`;
    await assert.rejects(all(decompress(verified(chunks(gz), { digest: wrong, size: gz.length, what: 'layer Y' }), 'layer Y')), (e: unknown) => {
      assert.ok(e instanceof ScannerError);
      assert.equal(e.code, 'DIGEST_MISMATCH');
      assert.match(e.message, /^layer Y: digest mismatch \(expected sha256:/);
      return true;
    });
  });

  it('verified() refuses more bytes than declared and short blobs', async () => {
    const d = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
    await assert.rejects(all(verified(chunks(tar), { digest: d, size: 100, what: 'B' })), /B: larger than its declared size \(100 bytes\)/);
    await assert.rejects(all(verified(chunks(tar.subarray(0, 600)), { digest: d, size: tar.length, what: 'B' })), /B: truncated \(600 of/);
    assert.ok((await all(verified(chunks(tar), { digest: d, size: tar.length, what: 'B' }))).equals(tar));
  });
});
