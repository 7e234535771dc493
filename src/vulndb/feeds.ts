/**
 * The input formats `db import` and `db update` read, each as a stream of records for the writer:
 * an OSV zip (`all.zip`), a directory of OSV JSON files (recursive), one JSON file (a record, an
 * array of records, or an osv.dev API `{"vulns": [...]}`), NVD CVE JSON 2.0 (plain, .gz or .zst),
 * and the file type sniffed from its first bytes (never from its name).
 */
import { closeSync, createReadStream, lstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pipeline, Transform, type Readable } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { ScannerError } from '../shared/errors.ts';
import { nvdSeverities } from './nvd.ts';
import { SQLITE_MAGIC } from './schema.ts';
import type { CveInput, RecordInput } from './sqlite-writer.ts';
import { MAX_RECORD_BYTES } from './sqlite-writer.ts';
import { readZipEntries, type ZipLimits } from './zip-reader.ts';

export type Progress = (done: number, total: number | undefined) => void;

export type FileKind = 'zip' | 'sqlite' | 'gzip' | 'zstd' | 'json' | 'unknown';

/** Largest single JSON file parsed whole (a record list or API response); NVD feeds stream instead. */
const MAX_JSON_FILE = 512 * 1024 * 1024;

function head(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

export function kindOfBytes(b: Buffer): FileKind {
  if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6)) return 'zip';
  if (b.length >= 16 && b.subarray(0, 16).equals(SQLITE_MAGIC)) return 'sqlite';
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  const text = b.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('{') || text.startsWith('[')) return 'json';
  return 'unknown';
}

export function sniffFile(path: string): FileKind {
  return kindOfBytes(head(path, 64));
}

/**
 * The file's bytes, decompressed when it is gzip or zstd; `onBytes` sees the raw bytes read (for
 * progress). Built with stream.pipeline, so a read or decompression error reaches the consumer.
 */
export function openDecompressed(path: string, kind: FileKind, onBytes?: (n: number) => void): Readable {
  const raw = createReadStream(path);
  const stages: (Readable | Transform)[] = [raw];
  if (onBytes) {
    stages.push(
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          onBytes(chunk.length);
          cb(null, chunk);
        },
      }),
    );
  }
  if (kind === 'gzip') stages.push(createGunzip());
  if (kind === 'zstd') stages.push(createZstdDecompress());
  if (stages.length === 1) return raw;
  return pipeline(stages as unknown as [Readable, Transform], () => {}) as unknown as Readable;
}

/** Does this JSON text start an NVD CVE document (the API / feed shape)? */
export function looksLikeNvd(start: string): boolean {
  return /"format"\s*:\s*"NVD_CVE"/.test(start) || /"vulnerabilities"\s*:\s*\[\s*(\]|\{\s*"cve")/.test(start);
}

/** The first `n` decompressed bytes of a file (to tell NVD from OSV, or a compressed bundle). */
export async function decompressedHead(path: string, kind: FileKind, n = 8192): Promise<Buffer> {
  if (kind !== 'gzip' && kind !== 'zstd') return head(path, n);
  const parts: Buffer[] = [];
  let got = 0;
  const s = openDecompressed(path, kind);
  try {
    for await (const c of s) {
      parts.push(c as Buffer);
      got += (c as Buffer).length;
      if (got >= n) break;
    }
  } catch (err) {
    throw new ScannerError('IMPORT_CORRUPT', `${path}: not valid ${kind} data (${(err as Error).message})`, { cause: err });
  } finally {
    s.destroy();
  }
  return Buffer.concat(parts).subarray(0, n);
}

/** OSV records of a zip archive (see zip-reader.ts for the limits). */
export async function* zipRecords(path: string, limits: ZipLimits, progress?: Progress, signal?: AbortSignal): AsyncGenerator<RecordInput> {
  for await (const item of readZipEntries(path, limits, signal)) {
    progress?.(item.position, item.total);
    if ('error' in item) yield { name: item.name, error: item.error };
    else yield { name: item.name, text: item.data };
  }
}

/** OSV records of every `*.json` file under `dir` (hidden directories and symlinked directories skipped); progress in bytes read. */
export function* dirRecords(dir: string, progress?: Progress): Generator<RecordInput> {
  const stack = [dir];
  let bytes = 0;
  while (stack.length > 0) {
    const d = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch (err) {
      yield { name: relative(dir, d) || '.', error: `cannot list directory: ${(err as Error).message}` };
      continue;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (!n.startsWith('.')) stack.push(p);
        continue;
      }
      if (!n.toLowerCase().endsWith('.json') || !(st.isFile() || st.isSymbolicLink())) continue;
      const name = relative(dir, p);
      if (st.size > MAX_RECORD_BYTES) {
        yield { name, error: `file is ${st.size} bytes (limit ${MAX_RECORD_BYTES})` };
        continue;
      }
      let text: Buffer;
      try {
        text = readFileSync(p);
      } catch (err) {
        yield { name, error: `cannot read: ${(err as Error).message}` };
        continue;
      }
      bytes += text.length;
      progress?.(bytes, undefined);
      yield { name, text };
    }
  }
}

/** OSV records in one JSON document: a record, an array of records, or `{"vulns": [...]}`. */
export async function jsonRecords(path: string, kind: FileKind, name: string): Promise<RecordInput[]> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of openDecompressed(path, kind)) {
    size += (c as Buffer).length;
    if (size > MAX_JSON_FILE) throw new ScannerError('IMPORT_TOO_LARGE', `${path} is larger than ${MAX_JSON_FILE} bytes of JSON (limit)`);
    parts.push(c as Buffer);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch (err) {
    throw new ScannerError('IMPORT_INVALID', `${path} is not valid JSON (${(err as Error).message.split('\n', 1)[0]})`, { cause: err });
  }
  const list = Array.isArray(v) ? v : typeof v === 'object' && v !== null && Array.isArray((v as Record<string, unknown>)['vulns']) ? ((v as Record<string, unknown>)['vulns'] as unknown[]) : [v];
  return list.map((r, i) => ({ name: list.length > 1 ? `${name}[${i}]` : name, text: JSON.stringify(r) }));
}

/** CVE severities of an NVD JSON 2.0 file (plain, gzip or zstd). */
export async function* nvdFileSeverities(path: string, kind: FileKind, progress?: Progress): AsyncGenerator<CveInput | { name: string; error: string }> {
  let total: number | undefined;
  try {
    total = lstatSync(path).size;
  } catch {
    total = undefined;
  }
  let done = 0;
  const stream = openDecompressed(path, kind, (n) => {
    done += n;
    progress?.(done, total);
  });
  try {
    yield* nvdSeverities(stream as AsyncIterable<Buffer>, path);
  } catch (err) {
    if (err instanceof ScannerError) throw err;
    const why = (err as Error).message.replace(`${path}: `, '');
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const damaged = code.startsWith('Z_') || code.startsWith('ERR_ZSTD') || /unexpected end of file/.test(why);
    throw new ScannerError('NVD_FEED_INVALID', damaged ? `${path}: truncated or damaged ${kind} data (${why})` : `${path}: ${why}`, { cause: err });
  } finally {
    stream.destroy();
  }
}
