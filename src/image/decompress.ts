/**
 * Layer decompression chosen by magic bytes, never by the (attacker-chosen) media type:
 * gzip 1f 8b, zstd 28 b5 2f fd, otherwise the bytes are taken as a plain tar. zlib streams run in
 * libuv's thread pool, so two layers decompress on two cores while the main thread parses tar.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { ScannerError } from '../shared/errors.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

const CHUNK = 256 * 1024;

/** Decompressed chunks of `src`; corrupt or truncated input throws LAYER_CORRUPT naming `what`. */
export async function* decompress(src: AsyncIterable<Buffer>, what: string, onDetect?: (c: Compression) => void): AsyncGenerator<Buffer> {
  const it = src[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLen = 0;
  let done = false;
  while (headLen < 4) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    headLen += r.value.length;
  }
  const first = Buffer.concat(head, headLen);
  const kind = detectCompression(first);
  onDetect?.(kind);
  let fed = 0;
  async function* rest(): AsyncGenerator<Buffer> {
    fed += first.length;
    if (first.length) yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      fed += r.value.length;
      yield r.value;
    }
  }
  if (kind === 'none') {
    yield* rest();
    return;
  }
  const z =
    kind === 'gzip'
      ? zlib.createGunzip({ chunkSize: CHUNK })
      : zlib.createZstdDecompress({ chunkSize: CHUNK });
  const feeding = pipeline(Readable.from(rest(), { objectMode: false, highWaterMark: 1 }), z);
  let feedErr: unknown;
  feeding.catch((err: unknown) => {
    feedErr = err;
  });
  try {
    for await (const chunk of z) yield chunk as Buffer;
    await feeding;
    // zlib stops at the end of the last gzip member when a zero byte follows and ignores the rest;
    // Go's gzip reader (the runtimes') refuses it, and what we accept must decode the same everywhere
    // (docs/image.md, "Verification"). bytesWritten = the input the engine took.
    if (z.bytesWritten !== fed) throw new Error('data after the end of the compressed stream');
  } catch (err) {
    await feeding.catch(() => undefined);
    const e = feedErr ?? err;
    if (e instanceof ScannerError) throw e;
    const msg = (e as Error).message ?? String(e);
    const truncated = /unexpected end|premature|truncated/i.test(msg);
    throw new ScannerError(
      'LAYER_CORRUPT',
      `${what}: ${kind} stream ${truncated ? 'is truncated' : 'is corrupt'} (${msg})`,
      { cause: e },
    );
  } finally {
    if (!z.destroyed) z.destroy();
  }
}
