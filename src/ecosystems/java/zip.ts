/**
 * A small synchronous ZIP reader over an in-memory buffer, enough for Java archives: the central
 * directory (ZIP64 too), stored and deflated entries, data prepended before the archive (executable
 * jars). Synchronous so a cataloger can condense an archive right when the layer walker reads it.
 * Every size and offset comes from the file: all are bounds-checked, inflating is capped per entry
 * (`maxOutputLength`), and the caller keeps a byte budget across nested archives.
 */
import { inflateRawSync } from 'node:zlib';

export class ZipError extends Error {
  override name = 'ZipError';
}

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the local file header (already adjusted for prepended data). */
  localOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CEN = 0x02014b50;
const LOC = 0x04034b50;
const MAX_ENTRIES = 500_000;

function u64(buf: Buffer, off: number): number {
  const v = buf.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError('ZIP64 value too large');
  return Number(v);
}

function findEocd(buf: Buffer): number {
  const min = Math.max(0, buf.length - 22 - 0xffff);
  for (let i = buf.length - 22; i >= min; i--) if (buf.readUInt32LE(i) === EOCD) return i;
  throw new ZipError('not a zip archive (no end of central directory)');
}

/** The entries of the archive's central directory. */
export function zipEntries(buf: Buffer): ZipEntry[] {
  if (buf.length < 22) throw new ZipError('not a zip archive (too short)');
  const eocd = findEocd(buf);
  let total = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  let end = eocd;
  if ((total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) && eocd >= 20 && buf.readUInt32LE(eocd - 20) === EOCD64_LOCATOR) {
    const at = u64(buf, eocd - 20 + 8);
    if (at + 56 > buf.length || buf.readUInt32LE(at) !== EOCD64) throw new ZipError('bad ZIP64 end of central directory');
    total = u64(buf, at + 32);
    cdSize = u64(buf, at + 40);
    cdOffset = u64(buf, at + 48);
    end = at;
  }
  if (total > MAX_ENTRIES) throw new ZipError(`too many entries (${total})`);
  // data prepended to the archive (a launcher script) shifts every offset
  const base = end - cdSize - cdOffset;
  if (base < 0) throw new ZipError('central directory outside the file');
  const out: ZipEntry[] = [];
  let p = base + cdOffset;
  for (let i = 0; i < total; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CEN) throw new ZipError(`bad central directory entry ${i}`);
    const method = buf.readUInt16LE(p + 10);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localOffset = buf.readUInt32LE(p + 42);
    if (p + 46 + nameLen + extraLen > buf.length) throw new ZipError(`central directory entry ${i} truncated`);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // ZIP64 extended information: the fields that overflowed, in this order
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = buf.readUInt16LE(x);
      const len = buf.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let f = x + 4;
        if (size === 0xffffffff && f + 8 <= x + 4 + len) (size = u64(buf, f)), (f += 8);
        if (compressedSize === 0xffffffff && f + 8 <= x + 4 + len) (compressedSize = u64(buf, f)), (f += 8);
        if (localOffset === 0xffffffff && f + 8 <= x + 4 + len) localOffset = u64(buf, f);
      }
      x += 4 + len;
    }
    out.push({ name, method, compressedSize, size, localOffset: localOffset + base });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** An entry's bytes, inflated up to `max` bytes; larger entries throw (zip bombs included). */
export function readZipEntry(buf: Buffer, e: ZipEntry, max: number): Buffer {
  const at = e.localOffset;
  if (at < 0 || at + 30 > buf.length || buf.readUInt32LE(at) !== LOC) throw new ZipError(`${e.name}: bad local header`);
  const start = at + 30 + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
  if (start + e.compressedSize > buf.length) throw new ZipError(`${e.name}: truncated`);
  if (e.size > max) throw new ZipError(`${e.name}: ${e.size} bytes uncompressed, over the ${max} byte limit`);
  const data = buf.subarray(start, start + e.compressedSize);
  if (e.method === 0) return data;
  if (e.method !== 8) throw new ZipError(`${e.name}: unsupported compression method ${e.method}`);
  try {
    return inflateRawSync(data, { maxOutputLength: Math.max(1, max) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || (err instanceof RangeError)) throw new ZipError(`${e.name}: inflates past the ${max} byte limit (zip bomb?)`);
    throw new ZipError(`${e.name}: corrupt deflate data`);
  }
}
