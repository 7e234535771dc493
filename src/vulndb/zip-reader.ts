/**
 * Reading an OSV `all.zip` entry by entry, without extracting anything (so entry names cannot
 * traverse paths) and without holding the archive in memory. yauzl parses the central directory
 * (Zip64 included) through a synchronous read-ahead reader; each entry's bytes are read and
 * inflated synchronously (much faster than a stream per entry for 100,000 small records), then
 * checked against the entry's CRC-32.
 *
 * Limits against zip bombs: a cap per entry and in total on the uncompressed size (checked against
 * the declared size before inflating, and inflation cannot exceed it), a cap on the entry count, and
 * entries must not overlap (the overlapping-entries bomb). A damaged archive (no central directory,
 * CRC or size mismatch, bad deflate data) is a ScannerError OSV_ZIP_CORRUPT: the importer then keeps
 * the previous data of that source.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { crc32, inflateRawSync } from 'node:zlib';
import { ScannerError } from '../shared/errors.ts';

export interface ZipLimits {
  /** Largest uncompressed entry (default 64 MiB; the largest OSV records are a few MB). */
  maxEntryBytes: number;
  /** Largest total uncompressed size (default 16 GiB). */
  maxTotalBytes: number;
  /** Most entries (default 5,000,000). */
  maxEntries: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntryBytes: 64 * 1024 ** 2, maxTotalBytes: 16 * 1024 ** 3, maxEntries: 5_000_000 };

export type ZipItem =
  | { name: string; data: Buffer; position: number; total: number }
  /** An entry that cannot be read on its own (encrypted, unknown compression): skipped and named. */
  | { name: string; error: string; position: number; total: number };

function corrupt(path: string, why: string, cause?: unknown): ScannerError {
  return new ScannerError('OSV_ZIP_CORRUPT', `${path} is not a usable zip archive: ${why}`, { cause });
}

function limit(path: string, why: string): ScannerError {
  return new ScannerError('OSV_ZIP_LIMIT', `${path} refused: ${why}`);
}

/**
 * Synchronous positional reads with a read-ahead block: the central directory and the entries are
 * read front to back, so one 1 MiB read serves thousands of small reads. yauzl gets it as its
 * RandomAccessReader (its own fd reader issues two async reads per entry, which dominates the time
 * of a 100,000-entry archive).
 */
class SyncReader extends yauzl.RandomAccessReader {
  readonly fd: number;
  readonly size: number;
  /** Two read-ahead blocks: one follows the central directory, the other the entries' data. */
  #blocks: { at: number; buf: Buffer }[] = [];

  constructor(fd: number, size: number) {
    super();
    this.fd = fd;
    this.size = size;
  }

  #readFully(length: number, position: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    let off = 0;
    while (off < length) {
      const n = readSync(this.fd, buf, off, length - off, position + off);
      if (n === 0) break;
      off += n;
    }
    if (off !== length) throw new Error(`unexpected end of file (${off} of ${length} bytes at offset ${position})`);
    return buf;
  }

  /** `length` bytes at `position` (a view of a cached block for small reads). */
  bytes(length: number, position: number): Buffer {
    if (position < 0 || position + length > this.size) throw new Error(`read past the end of the file (${length} bytes at offset ${position})`);
    if (length > 1 << 16) return this.#readFully(length, position);
    let b = this.#blocks.find((x) => position >= x.at && position + length <= x.at + x.buf.length);
    if (!b) {
      b = { at: position, buf: this.#readFully(Math.min(1 << 18, this.size - position), position) };
      this.#blocks.unshift(b);
      if (this.#blocks.length > 2) this.#blocks.pop();
    } else if (this.#blocks[0] !== b) this.#blocks.reverse();
    return b.buf.subarray(position - b.at, position - b.at + length);
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return Readable.from([Buffer.from(this.bytes(end - start, start))]);
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    try {
      this.bytes(length, position).copy(buffer, offset);
    } catch (err) {
      callback(err as Error);
      return;
    }
    callback(null);
  }

  override close(callback: (err: Error | null) => void): void {
    callback(null);
  }
}

const LOCAL_HEADER = 0x04034b50;

/** Every `.json` entry of the archive, in archive order. */
export async function* readZipEntries(path: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS, signal?: AbortSignal): AsyncGenerator<ZipItem> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new ScannerError('OSV_ZIP_READ', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let zip: yauzl.ZipFile | undefined;
  try {
    const reader = new SyncReader(fd, fstatSync(fd).size);
    try {
      zip = await yauzl.fromRandomAccessReaderPromise(reader, reader.size, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false, decodeStrings: true });
    } catch (err) {
      throw corrupt(path, (err as Error).message, err);
    }
    if (zip.entryCount > limits.maxEntries) throw limit(path, `${zip.entryCount} entries (limit ${limits.maxEntries})`);
    const total = reader.size;
    let uncompressed = 0;
    let lastEnd = 0;
    const entries = zip.eachEntry();
    while (true) {
      signal?.throwIfAborted();
      let next: IteratorResult<yauzl.Entry>;
      try {
        next = await entries.next();
      } catch (err) {
        throw corrupt(path, (err as Error).message, err);
      }
      if (next.done) break;
      const e = next.value;
      if (e.relativeOffsetOfLocalHeader < lastEnd) throw limit(path, `entry ${e.fileName} overlaps the previous entry (a zip bomb?)`);
      if (e.fileName.endsWith('/') || !e.fileName.toLowerCase().endsWith('.json')) continue;
      if (e.uncompressedSize > limits.maxEntryBytes) throw limit(path, `entry ${e.fileName} is ${e.uncompressedSize} bytes uncompressed (limit ${limits.maxEntryBytes})`);
      uncompressed += e.uncompressedSize;
      if (uncompressed > limits.maxTotalBytes) throw limit(path, `more than ${limits.maxTotalBytes} bytes uncompressed (limit)`);
      let data: Buffer;
      try {
        const h = reader.bytes(30, e.relativeOffsetOfLocalHeader);
        if (h.readUInt32LE(0) !== LOCAL_HEADER) throw new Error('bad local file header signature');
        const start = e.relativeOffsetOfLocalHeader + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
        lastEnd = start + e.compressedSize;
        if (lastEnd > total) throw new Error('entry runs past the end of the file');
        if (e.isEncrypted()) {
          yield { name: e.fileName, error: 'encrypted zip entry', position: lastEnd, total };
          continue;
        }
        if (e.compressionMethod !== 0 && e.compressionMethod !== 8) {
          yield { name: e.fileName, error: `unsupported zip compression method ${e.compressionMethod}`, position: lastEnd, total };
          continue;
        }
        const raw = reader.bytes(e.compressedSize, start);
        data = e.compressionMethod === 8 ? inflateRawSync(raw, { maxOutputLength: Math.max(1, e.uncompressedSize) }) : Buffer.from(raw);
      } catch (err) {
        throw corrupt(path, `entry ${e.fileName}: ${(err as Error).message}`, err);
      }
      if (data.length !== e.uncompressedSize) throw corrupt(path, `entry ${e.fileName} is ${data.length} bytes, the archive says ${e.uncompressedSize}`);
      if (crc32(data) >>> 0 !== e.crc32 >>> 0) throw corrupt(path, `entry ${e.fileName} fails its CRC-32 check`);
      yield { name: e.fileName, data, position: lastEnd, total };
    }
  } finally {
    zip?.close();
    closeSync(fd);
  }
}
