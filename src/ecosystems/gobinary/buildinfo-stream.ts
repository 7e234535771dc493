/**
 * Go build info from one forward pass over an executable, never holding it whole: the layer walker
 * pushes the file's bytes and this sink keeps only
 *  - the first 64 KiB (file and program headers, PE sections, Mach-O load commands);
 *  - every `\xff Go buildinf:` header it sees (a rolling search across chunk boundaries) with what
 *    the Go 1.18+ inline layout needs after it: two varint-length strings;
 *  - for ELF, the section table and the 64 KiB before it (where linkers put `.shstrtab`), to find
 *    `.go.buildinfo` exactly as the whole-file reader does;
 *  - for the older pointer layout, the string headers and bytes the pointers name, when they lie
 *    ahead in the file.
 * At the end the whole-file algorithm (buildinfo.ts) runs over those ranges. When it needs a byte
 * that went by unkept (a pre-1.18 binary whose strings sit in .rodata, before the header), the sink
 * answers 'whole' and the walker reads the file again for the buffered condenser. A file whose first
 * bytes are not ELF, PE or Mach-O is dropped at once. The result is byte for byte what
 * `condenseGoBinary` makes of the whole file.
 */
import type { CondenseSink } from '../../domain/index.ts';
import {
  GO_HEADER_SIZE,
  GO_MAGIC,
  GO_MAX_STRING,
  NotHeld,
  buildInfoStrings,
  encodeCondensed,
  isCondensed,
  isExecutableFormat,
  openExe,
  uvarint,
  type Exe,
  type FileBytes,
} from './buildinfo.ts';

const PREFIX = 64 * 1024;
/** Bytes kept before the ELF section table (its string table is usually right there). */
const TAIL = 64 * 1024;
const TABLE_MAX = 1 << 20;
/** Enough to tell an executable (and the condensed marker) from anything else. */
const SNIFF = 64;
/** Bounds against crafted files full of magic headers: past them, the whole file is read instead. */
const MAX_MAGICS = 4096;
const MAX_CAPTURED = 32 << 20;
const ML = GO_MAGIC.length;

/**
 * Prefixes and ELF tails (64-128 KiB each, one pair per executable: hundreds per image) come from a
 * few buffers reused by one sink after another, instead of megabytes of short-lived allocations.
 */
const POOLED = 128 * 1024;
const pool: ArrayBuffer[] = [];
/** Where a magic straddling two chunks is looked for (used synchronously, never kept). */
const joint = Buffer.alloc(2 * (ML - 1));

/** A range of the file being kept as it streams by. */
interface Capture {
  start: number;
  /** Bytes wanted from `start` (may grow: the inline strings' lengths are learnt on the way). */
  want: number;
  buf: Buffer;
  /** Bytes held from `start` (a capture that missed bytes never fills past the gap). */
  fill: number;
  /** Called each time `fill` reaches `want` (it may raise `want`). */
  onFull?: (c: Capture) => void;
  /** Bytes of [start, start + known.length) known without the stream (a magic's own bytes). */
  known?: Buffer;
  /** Magic headers: 0 = the 32-byte header, 1 = + first varint, 2 = + first string and second varint, 3 = all. */
  stage?: number;
}

/** The ranges a pass kept: a partial FileBytes. */
class HeldBytes implements FileBytes {
  readonly length: number;
  readonly #regions: { start: number; buf: Buffer }[];
  readonly #magics: number[];
  /** The ranges searched for magics (undefined: all of the file). */
  readonly #searched: [number, number][] | undefined;
  constructor(length: number, regions: { start: number; buf: Buffer }[], magics: number[], searched?: [number, number][]) {
    this.length = length;
    this.#regions = regions;
    this.#magics = magics;
    this.#searched = searched;
  }
  slice(off: number, n: number, lenient?: boolean): Buffer {
    let best: Buffer | undefined;
    for (const r of this.#regions) {
      if (off < r.start || off >= r.start + r.buf.length) continue;
      const b = r.buf.subarray(off - r.start, off - r.start + n);
      if (b.length === n) return b;
      if (!best || b.length > best.length) best = b;
    }
    if (lenient && best) return best;
    throw new NotHeld();
  }
  magic(from: number, end: number): number {
    // a search over bytes the pass skipped cannot be answered
    if (this.#searched && from < end && !this.#searched.some(([s, e]) => s <= from && end <= e)) throw new NotHeld();
    for (const m of this.#magics) if (m >= from && m + ML <= end) return m;
    return -1;
  }
}

export class GoBuildInfoSink implements CondenseSink {
  readonly #prefix: Buffer;
  readonly #sniffAt: number;
  /** File offset of the next byte. */
  #pos = 0;
  /** The chunk being pushed (valid only during push) and its file offset. */
  #chunk: Buffer | undefined;
  #chunkStart = 0;
  #sniffed = false;
  #planned = false;
  readonly #caps: Capture[] = [];
  readonly #magics: number[] = [];
  /** The last ML-1 bytes before the chunk (a magic may start there and end in the chunk). */
  #carry = Buffer.alloc(0);
  readonly #carryBuf = Buffer.alloc(ML - 1);
  #captured = 0;
  /** Too many magics or captured bytes: the answer is 'whole'. */
  #overflow = false;
  /** The executable's structure from the prefix alone (to place pointer targets), once planned. */
  #exe: Exe | undefined;

  /** Pooled buffers this sink holds (given back when it answers). */
  readonly #owned: ArrayBuffer[] = [];
  #released = false;

  readonly #size: number;
  /** Byte ranges pushed (and searched), merged; the end of the last push. */
  readonly #seen: [number, number][] = [];
  /** After planning: the sorted file ranges worth reading (writable segments, the ELF tail); undefined = all. */
  #ranges: [number, number][] | undefined;
  #tailRange: ((s: number, e: number) => void) | undefined;

  /** `size`: the file's size from its header (0 = unknown). */
  constructor(size: number) {
    this.#size = size;
    this.#prefix = this.#alloc(size > 0 ? Math.min(size, PREFIX) : PREFIX);
    this.#sniffAt = size > 0 ? Math.min(size, SNIFF) : SNIFF;
  }

  #alloc(n: number): Buffer {
    if (n < 4096 || n > POOLED) return Buffer.allocUnsafe(n);
    const ab = pool.pop() ?? new ArrayBuffer(POOLED);
    this.#owned.push(ab);
    return Buffer.from(ab, 0, n);
  }

  /** The sink has answered: its pooled buffers serve the next file. */
  #release<T>(answer: T): T {
    if (!this.#released) {
      this.#released = true;
      for (const ab of this.#owned.splice(0)) if (pool.length < 8) pool.push(ab);
    }
    return answer;
  }

  push(chunk: Buffer): void | 'drop' | 'done' | 'whole' | number {
    const start = this.#pos;
    const end = start + chunk.length;
    if (start < this.#prefix.length) chunk.copy(this.#prefix, start, 0, Math.min(chunk.length, this.#prefix.length - start));
    const last = this.#seen[this.#seen.length - 1];
    if (last && last[1] === start) last[1] = end;
    else {
      this.#seen.push([start, end]);
      this.#carry = this.#carryBuf.subarray(0, 0); // bytes were skipped: no magic straddles this start
    }
    this.#chunk = chunk;
    this.#chunkStart = start;
    this.#pos = end;
    try {
      if (!this.#sniffed && end >= this.#sniffAt) {
        this.#sniffed = true;
        const head = this.#prefix.subarray(0, Math.min(end, this.#prefix.length));
        if (isCondensed(head)) return this.#release('whole'); // the buffered condenser keeps such content as it is
        if (!isExecutableFormat(head)) return this.#release('drop');
      }
      if (!this.#planned && end >= this.#prefix.length) this.#plan();
      this.#findMagics(chunk, start);
      for (let i = 0; i < this.#caps.length; i++) {
        const c = this.#caps[i];
        if (c && c.fill < c.want) this.#advance(c); // captures added meanwhile included
      }
    } finally {
      this.#chunk = undefined;
    }
    if (this.#overflow) return this.#release('whole');
    const next = this.#nextNeeded();
    if (next === undefined) return undefined;
    if (next === Infinity) return 'done';
    this.#pos = next;
    return next;
  }

  /**
   * Where the next needed byte is: undefined = right here (go on), Infinity = nowhere (done), else
   * an offset to skip to. Needed: the planned ranges and every unfinished capture.
   */
  #nextNeeded(): number | undefined {
    const ranges = this.#ranges;
    if (!ranges) return undefined;
    const pos = this.#pos;
    let next = Infinity;
    for (const [s, e] of ranges) {
      if (e <= pos) continue;
      if (s <= pos) return undefined;
      next = s;
      break;
    }
    for (const c of this.#caps) {
      if (c.fill >= c.want) continue;
      const n = c.start + c.fill;
      if (n === pos) return undefined;
      if (n > pos && n < next) next = n;
    }
    return next >= this.#size ? Infinity : next;
  }

  end(): Buffer | undefined | 'whole' {
    if (this.#released) throw new Error('GoBuildInfoSink: end() after an answer');
    return this.#release(this.#end());
  }

  #end(): Buffer | undefined | 'whole' {
    if (this.#overflow) return 'whole';
    const held = Math.min(this.#pos, this.#prefix.length);
    if (!this.#sniffed && isCondensed(this.#prefix.subarray(0, held))) return 'whole';
    const regions = [{ start: 0, buf: this.#prefix.subarray(0, held) }];
    for (const c of this.#caps) if (c.fill > 0) regions.push({ start: c.start, buf: c.buf.subarray(0, c.fill) });
    try {
      const s = buildInfoStrings(new HeldBytes(this.#size > 0 ? this.#size : this.#pos, regions, this.#magics, this.#ranges ? this.#seen : undefined));
      return s ? encodeCondensed(s) : undefined;
    } catch (err) {
      if (err instanceof NotHeld) return 'whole';
      throw err;
    }
  }

  /** Once the prefix is in: the segments (for pointer targets) and, for ELF, the section table to keep. */
  #plan(): void {
    this.#planned = true;
    const p = this.#prefix;
    let ranges: [number, number][] | undefined;
    try {
      this.#exe = openExe(new HeldBytes(p.length, [{ start: 0, buf: p }], []));
      ranges = this.#exe?.searchRanges();
    } catch (err) {
      if (!(err instanceof NotHeld)) throw err;
    }
    // Skip what holds no build info (code, read-only data) when the file's size and layout are known
    if (ranges && this.#size > 0) {
      const size = this.#size;
      const add = (s: number, e: number): void => {
        if (Number.isSafeInteger(s) && Number.isSafeInteger(e) && e > s && s < size) ranges.push([Math.max(0, s), Math.min(size, e)]);
      };
      const planned = ranges.splice(0);
      for (const [s, e] of planned) add(s, e);
      this.#tailRange = add;
      this.#ranges = ranges.sort((a, b) => a[0] - b[0]);
    }
    if (p.length < 64 || p[0] !== 0x7f || p[1] !== 0x45 || p[2] !== 0x4c || p[3] !== 0x46) return;
    const is64 = p[4] === 2;
    const le = p[5] === 1;
    const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const word = (b: Buffer, o: number): number => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const shoff = word(p, is64 ? 0x28 : 0x20);
    const shentsize = u16(p, is64 ? 0x3a : 0x2e);
    const shnum = u16(p, is64 ? 0x3c : 0x30);
    const shstrndx = u16(p, is64 ? 0x3e : 0x32);
    const table = shnum * shentsize;
    if (!shoff || !table || table > TABLE_MAX || !Number.isSafeInteger(shoff)) return;
    const from = Math.max(0, shoff - TAIL);
    this.#tailRange?.(from, shoff + table);
    this.#ranges?.sort((a, b) => a[0] - b[0]);
    this.#capture(from, shoff + table - from, (c) => {
      // the string table lies elsewhere (after the table, say): keep it too while it is ahead
      if (shstrndx >= shnum || shentsize < (is64 ? 0x28 : 0x18)) return;
      const e = shoff + shstrndx * shentsize - c.start;
      const off = word(c.buf, e + (is64 ? 0x18 : 0x10));
      const size = word(c.buf, e + (is64 ? 0x20 : 0x14));
      if (Number.isSafeInteger(off) && off >= this.#pos && size > 0) this.#capture(off, Math.min(size, TABLE_MAX));
    });
  }

  /** Records every magic in this chunk (and one straddling the previous chunk), keeping a capture at each. */
  #findMagics(chunk: Buffer, start: number): void {
    const carry = this.#carry;
    if (carry.length) {
      const n = carry.copy(joint, 0);
      const m = chunk.copy(joint, n, 0, ML - 1);
      const j = joint.subarray(0, n + m);
      for (let i = j.indexOf(GO_MAGIC); i >= 0 && i < n; i = j.indexOf(GO_MAGIC, i + 1)) this.#onMagic(start - n + i);
    }
    for (let i = chunk.indexOf(GO_MAGIC); i >= 0; i = chunk.indexOf(GO_MAGIC, i + ML)) this.#onMagic(start + i);
    // the last ML-1 bytes seen, for the next chunk
    const keep = Math.min(ML - 1, carry.length + chunk.length);
    if (chunk.length >= keep) chunk.copy(this.#carryBuf, 0, chunk.length - keep);
    else {
      this.#carryBuf.copy(this.#carryBuf, 0, carry.length - (keep - chunk.length), carry.length);
      chunk.copy(this.#carryBuf, keep - chunk.length);
    }
    this.#carry = this.#carryBuf.subarray(0, keep);
  }

  #onMagic(at: number): void {
    if (this.#magics.length >= MAX_MAGICS) {
      this.#overflow = true;
      return;
    }
    this.#magics.push(at);
    // the magic's own bytes are known (it may have begun in the previous chunk)
    this.#capture(at, GO_HEADER_SIZE, (c) => this.#grow(c), GO_MAGIC, 0);
  }

  /** A header part is in: learn how many bytes the inline strings need, or keep what the pointers name. */
  #grow(c: Capture): void {
    const b = c.buf.subarray(0, c.fill);
    const ptrSize = b[14] ?? 0;
    const flags = b[15] ?? 0;
    const stage = c.stage ?? 0;
    if (flags & 2) {
      // decodeString twice after the header: a uvarint (at most 10 bytes), then that many bytes
      if (stage === 0) {
        c.stage = 1;
        this.#resize(c, GO_HEADER_SIZE + 10);
        return;
      }
      const v = uvarint(b, GO_HEADER_SIZE);
      if (!v || v[0] > GO_MAX_STRING) return;
      const at2 = GO_HEADER_SIZE + v[1] + v[0];
      if (stage === 1) {
        c.stage = 2;
        this.#resize(c, at2 + 10);
        return;
      }
      const m = uvarint(b, at2);
      if (stage === 2 && m && m[0] <= GO_MAX_STRING) {
        c.stage = 3;
        this.#resize(c, at2 + m[1] + m[0]);
      }
      return;
    }
    if (stage !== 0 || (ptrSize !== 4 && ptrSize !== 8) || !this.#exe) return;
    c.stage = 3;
    const le = flags === 0;
    const ptr = (buf: Buffer, off: number): number | undefined => {
      if (off + ptrSize > buf.length) return undefined;
      if (ptrSize === 4) return le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
      const v = le ? buf.readBigUInt64LE(off) : buf.readBigUInt64BE(off);
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
    };
    const exe = this.#exe;
    // what the whole-file reader's readData(addr, n) reads, as a file range to keep
    const keepMemory = (addr: number | undefined, n: number, then?: (cap: Capture) => void): void => {
      if (addr === undefined) return;
      const loc = exe.locate(addr);
      if (!loc || !Number.isSafeInteger(loc.off) || loc.off < 0) return;
      this.#capture(loc.off, Math.min(n, loc.avail), then);
    };
    for (const which of [16, 16 + ptrSize]) {
      keepMemory(ptr(b, which), 2 * ptrSize, (h) => {
        const dataAddr = ptr(h.buf, 0);
        const len = ptr(h.buf, ptrSize);
        if (dataAddr !== undefined && len !== undefined && len <= GO_MAX_STRING) keepMemory(dataAddr, len);
      });
    }
  }

  #resize(c: Capture, want: number): void {
    if (want <= c.want) return;
    this.#captured += want - c.want;
    if (this.#captured > MAX_CAPTURED) {
      this.#overflow = true;
      return;
    }
    const buf = Buffer.allocUnsafe(want);
    c.buf.copy(buf, 0, 0, c.fill);
    c.buf = buf;
    c.want = want;
  }

  /**
   * Keeps [start, start+len) as it streams by. Bytes that went by before this chunk come from the
   * prefix (or `known`) where they are there; otherwise the capture stays short, and the end may
   * answer 'whole'.
   */
  #capture(start: number, len: number, onFull?: (c: Capture) => void, known?: Buffer, stage?: number): void {
    if (len <= 0) return;
    this.#captured += len;
    if (this.#captured > MAX_CAPTURED) {
      this.#overflow = true;
      return;
    }
    const c: Capture = { start, want: len, buf: this.#alloc(len), fill: 0 };
    if (onFull) c.onFull = onFull;
    if (known) c.known = known;
    if (stage !== undefined) c.stage = stage;
    this.#caps.push(c);
    this.#advance(c);
  }

  /** Fills a capture from what is at hand (known bytes, the prefix, the chunk), growing it as it asks. */
  #advance(c: Capture): void {
    const chunk = this.#chunk;
    const cs = this.#chunkStart;
    const inPrefix = Math.min(this.#pos, this.#prefix.length);
    for (let grown = 0; c.fill < c.want && grown < 8; ) {
      const next = c.start + c.fill;
      const room = c.want - c.fill;
      let n: number;
      if (c.known && next < c.start + c.known.length) {
        n = Math.min(room, c.start + c.known.length - next);
        c.known.copy(c.buf, c.fill, next - c.start, next - c.start + n);
      } else if (next < inPrefix) {
        n = Math.min(room, inPrefix - next);
        this.#prefix.copy(c.buf, c.fill, next, next + n);
      } else if (chunk && next >= cs && next < cs + chunk.length) {
        n = Math.min(room, cs + chunk.length - next);
        chunk.copy(c.buf, c.fill, next - cs, next - cs + n);
      } else return; // in later chunks, or gone by unkept
      c.fill += n;
      if (c.fill === c.want && c.onFull) {
        const want = c.want;
        c.onFull(c);
        if (c.want === want) return;
        grown++;
      }
    }
  }
}
