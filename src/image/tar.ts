/**
 * A minimal streaming tar reader (ustar, pax extended headers, GNU long names/links, base-256 sizes).
 * It is push-based and synchronous per chunk: the caller feeds decompressed chunks, the reader calls
 * `onEntry` for every entry and, when that returns a byte limit, collects the content and calls
 * `onContent`. Content that nobody wants is skipped without copying, which is why it is several times
 * faster than tar-stream (see docs/image.md). Everything is attacker-controlled: header checksums are
 * verified, pax records are size-capped, and a stream that ends inside an entry is reported as truncated.
 */
import { ScannerError } from '../shared/errors.ts';

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'directory' | 'other';

export interface TarEntry {
  /** Name as stored (pax/GNU long name applied), not normalised. */
  name: string;
  type: TarEntryType;
  size: number;
  mode: number;
  /** Link target for symlinks and hard links. */
  linkname: string;
}

/**
 * 'read' collects the content of a regular file and passes it to onContent (the caller checks the
 * size first); 'stream' passes it piece by piece to onData, never collected.
 */
export type EntryDecision = 'skip' | 'read' | 'stream';

export interface TarVisitor {
  onEntry(e: TarEntry): EntryDecision;
  /** `content` may be a reused scratch buffer (see `alloc`): valid only during the call. */
  onContent?(e: TarEntry, content: Buffer): void;
  /**
   * A 'stream' entry's content, in order, as views of the input chunks (valid only during the call,
   * no copy); 'stop' skips the rest of it.
   */
  onData?(e: TarEntry, piece: Buffer): void | 'stop';
  /** A 'stream' entry's bytes have all gone by (after a 'stop' too). */
  onDataEnd?(e: TarEntry): void;
  /** Where to collect the content of an entry of `size` bytes (default: a new buffer). */
  alloc?(size: number): Buffer;
}

const BLOCK = 512;
const PAX_MAX = 1 << 20;
const LONGNAME_MAX = 64 * 1024;

export function tarError(msg: string): ScannerError {
  return new ScannerError('TAR_CORRUPT', msg);
}

export function readString(b: Buffer, off: number, len: number): string {
  let end = off;
  const lim = off + len;
  while (end < lim && b[end] !== 0) end++;
  return b.toString('utf8', off, end);
}

export function readOctal(b: Buffer, off: number, len: number, field: string): number {
  // GNU base-256: high bit of the first byte set.
  const first = b[off] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw tarError(`negative ${field} in tar header`);
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + (b[off + i] ?? 0);
      if (v > Number.MAX_SAFE_INTEGER) throw tarError(`${field} too large in tar header`);
    }
    return v;
  }
  let v = 0;
  let i = off;
  const lim = off + len;
  while (i < lim && (b[i] === 0x20 || b[i] === 0)) i++;
  for (; i < lim; i++) {
    const c = b[i] ?? 0;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) throw tarError(`invalid octal ${field} in tar header`);
    v = v * 8 + (c - 0x30);
  }
  return v;
}

export function checksumOk(b: Buffer, off: number): boolean {
  let stored: number;
  try {
    stored = readOctal(b, off + 148, 8, 'checksum');
  } catch {
    return false; // not even an octal number: not a tar header
  }
  // the sum with the checksum field counted as eight spaces, unsigned and signed (old tars)
  let unsigned = 0;
  let high = 0;
  for (let i = off; i < off + BLOCK; i++) {
    const c = b[i] ?? 0;
    unsigned += c;
    high += c >>> 7;
  }
  for (let i = off + 148; i < off + 156; i++) {
    const c = b[i] ?? 0;
    unsigned -= c;
    high -= c >>> 7;
  }
  unsigned += 8 * 0x20;
  return stored === unsigned || stored === unsigned - 256 * high;
}

export function isZeroBlock(b: Buffer, off: number): boolean {
  for (let i = off; i < off + BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Parses pax records "LEN key=value\n". */
export function parsePax(buf: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < buf.length) {
    if (buf[i] === 0) break;
    let sp = i;
    while (sp < buf.length && buf[sp] !== 0x20) sp++;
    const len = Number(buf.toString('latin1', i, sp));
    if (!Number.isInteger(len) || len <= sp - i + 1 || i + len > buf.length) throw tarError('invalid pax header record');
    const rec = buf.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq <= 0) throw tarError('invalid pax header record');
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

const enum_types: Record<number, TarEntryType> = {
  0: 'file',
  0x30: 'file',
  0x37: 'file',
  0x31: 'hardlink',
  0x32: 'symlink',
  0x35: 'directory',
};

type State = 'header' | 'data' | 'meta' | 'pad' | 'end';

/** Incremental tar parser: call `write(chunk)` for each chunk and `end()` at the end of the stream. */
export class TarReader {
  readonly #v: TarVisitor;
  #state: State = 'header';
  /** Partial header bytes carried between chunks. */
  #hdr = Buffer.alloc(BLOCK);
  #hdrFill = 0;
  #remaining = 0;
  #pad = 0;
  #entry: TarEntry | undefined;
  #collect: Buffer | undefined;
  #collectFill = 0;
  /** The entry being streamed (onData), until it ends; #feeding = onData still wants its bytes. */
  #streamed: TarEntry | undefined;
  #feeding = false;
  #metaKind = 0;
  #pax: Map<string, string> | undefined;
  #globalPax: Map<string, string> | undefined;
  #longName: string | undefined;
  #longLink: string | undefined;
  #zeroBlocks = 0;
  #entries = 0;
  bytes = 0;

  constructor(visitor: TarVisitor) {
    this.#v = visitor;
  }

  get entries(): number {
    return this.#entries;
  }

  write(chunk: Buffer): void {
    let off = 0;
    const len = chunk.length;
    this.bytes += len;
    while (off < len) {
      switch (this.#state) {
        case 'header': {
          if (this.#hdrFill === 0 && len - off >= BLOCK) {
            this.#header(chunk, off);
            off += BLOCK;
          } else {
            const n = Math.min(BLOCK - this.#hdrFill, len - off);
            chunk.copy(this.#hdr, this.#hdrFill, off, off + n);
            this.#hdrFill += n;
            off += n;
            if (this.#hdrFill === BLOCK) {
              this.#hdrFill = 0;
              this.#header(this.#hdr, 0);
            }
          }
          break;
        }
        case 'data':
        case 'meta': {
          const n = Math.min(this.#remaining, len - off);
          if (this.#collect) {
            chunk.copy(this.#collect, this.#collectFill, off, off + n);
            this.#collectFill += n;
          } else if (this.#feeding && this.#streamed && n > 0) {
            if (this.#v.onData?.(this.#streamed, chunk.subarray(off, off + n)) === 'stop') this.#feeding = false;
          }
          this.#remaining -= n;
          off += n;
          if (this.#remaining === 0) this.#finishData();
          break;
        }
        case 'pad': {
          const n = Math.min(this.#pad, len - off);
          this.#pad -= n;
          off += n;
          if (this.#pad === 0) this.#state = 'header';
          break;
        }
        case 'end':
          return; // trailing bytes after the end-of-archive marker are ignored, as tar does
      }
    }
  }

  /** Call when the stream ends; throws when it ended inside an entry. */
  end(): void {
    if (this.#state === 'end') return;
    if (this.#state === 'header' && this.#hdrFill === 0) {
      if (this.#pax || this.#longName !== undefined || this.#longLink !== undefined) {
        throw tarError('tar stream truncated after an extended header');
      }
      if (this.#entries === 0 && this.#zeroBlocks === 0 && this.bytes === 0) return; // empty layer
      return;
    }
    throw tarError(`tar stream truncated (ended inside ${this.#entry ? `"${this.#entry.name}"` : 'a header'})`);
  }

  #header(b: Buffer, off: number): void {
    if (isZeroBlock(b, off)) {
      this.#zeroBlocks++;
      if (this.#zeroBlocks >= 2) this.#state = 'end';
      return;
    }
    if (this.#zeroBlocks) throw tarError('unexpected data after a zero block in tar stream');
    if (!checksumOk(b, off)) throw tarError('tar header checksum mismatch (not a tar stream, or corrupt)');
    const flag = b[off + 156] ?? 0;
    let size = readOctal(b, off + 124, 12, 'size');
    // ustar prefix field (only for "ustar\0"; GNU "ustar  " uses those bytes for other things).
    let name = readString(b, off, 100);
    if (b[off + 257] === 0x75 && b.toString('latin1', off + 257, off + 263) === 'ustar\0') {
      const prefix = readString(b, off + 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    // meta entries: x (pax), g (global pax), L (GNU long name), K (GNU long link)
    if (flag === 0x78 || flag === 0x67 || flag === 0x4c || flag === 0x4b) {
      const max = flag === 0x78 || flag === 0x67 ? PAX_MAX : LONGNAME_MAX;
      if (size > max) throw tarError(`tar extended header too large (${size} bytes)`);
      this.#metaKind = flag;
      this.#entry = undefined;
      this.#startData(size, Buffer.allocUnsafe(size), 'meta');
      return;
    }
    const pax = this.#pax;
    const gpax = this.#globalPax;
    let linkname = readString(b, off + 157, 100);
    if (this.#longName !== undefined) name = this.#longName;
    if (this.#longLink !== undefined) linkname = this.#longLink;
    const paxPath = pax?.get('path') ?? gpax?.get('path');
    if (paxPath !== undefined) name = paxPath;
    const paxLink = pax?.get('linkpath') ?? gpax?.get('linkpath');
    if (paxLink !== undefined) linkname = paxLink;
    const paxSize = pax?.get('size') ?? gpax?.get('size');
    if (paxSize !== undefined) {
      const s = Number(paxSize);
      if (!/^[0-9]+$/.test(paxSize) || !Number.isSafeInteger(s)) throw tarError('invalid pax size');
      size = s;
    }
    this.#pax = undefined;
    this.#longName = undefined;
    this.#longLink = undefined;
    const type = enum_types[flag] ?? 'other';
    // Hard links, symlinks and directories carry no data even when the size field says otherwise
    // (except old tars that stored hard link data; honour the size field for padding either way).
    const mode = readOctal(b, off + 100, 8, 'mode');
    const entry: TarEntry = { name, type, size: type === 'file' ? size : 0, mode, linkname };
    this.#entries++;
    const decision = this.#v.onEntry(entry);
    this.#entry = entry;
    if (decision === 'read' && type === 'file') {
      this.#startData(size, this.#v.alloc ? this.#v.alloc(size) : Buffer.allocUnsafe(size), 'data');
    } else if (decision === 'stream' && type === 'file') {
      this.#streamed = entry;
      this.#feeding = true;
      this.#startData(size, undefined, 'data');
    } else {
      this.#startData(size, undefined, 'data');
    }
  }

  #startData(size: number, collect: Buffer | undefined, state: 'data' | 'meta'): void {
    this.#collect = collect;
    this.#collectFill = 0;
    this.#remaining = size;
    this.#pad = (BLOCK - (size % BLOCK)) % BLOCK;
    this.#state = state;
    if (size === 0) this.#finishData();
  }

  #finishData(): void {
    const buf = this.#collect;
    this.#collect = undefined;
    if (this.#state === 'meta') {
      const data = buf ?? Buffer.alloc(0);
      switch (this.#metaKind) {
        case 0x78:
          this.#pax = parsePax(data);
          break;
        case 0x67:
          this.#globalPax = parsePax(data);
          break;
        case 0x4c:
          this.#longName = readString(data, 0, data.length);
          break;
        case 0x4b:
          this.#longLink = readString(data, 0, data.length);
          break;
      }
    } else if (buf && this.#entry && this.#v.onContent) {
      this.#v.onContent(this.#entry, buf);
    } else if (this.#streamed) {
      const e = this.#streamed;
      this.#streamed = undefined;
      this.#feeding = false;
      this.#v.onDataEnd?.(e);
    }
    this.#state = this.#pad ? 'pad' : 'header';
  }
}

/** Feeds an async iterable of chunks through a TarReader. */
export async function readTar(source: AsyncIterable<Buffer>, visitor: TarVisitor): Promise<TarReader> {
  const r = new TarReader(visitor);
  for await (const chunk of source) r.write(chunk);
  r.end();
  return r;
}
