/**
 * The build information the Go linker embeds in every module-aware binary (what `go version -m`
 * prints), read from ELF, PE and Mach-O files the way Go's debug/buildinfo reads it:
 *  1. find the data start: the `.go.buildinfo` / `__go_buildinfo` section, else the first writable
 *     data segment / section;
 *  2. find the 32-byte header `\xff Go buildinf:` + pointer size + flags, 16-byte aligned, in the
 *     first 64 KiB there;
 *  3. Go 1.18+ (flags & 2, "inline"): the Go version and the module info follow the header as
 *     varint-length strings. Older binaries: two pointers to Go string headers (pointer + length),
 *     which are translated to file offsets through the program headers / sections.
 * The module info is `path`, `mod`, `dep`, `=>` (replacement of the line above) and `build`
 * lines framed by 16-byte sentinels. Every offset comes from the file and is bounds-checked.
 *
 * The reader works on `FileBytes`: a whole file in memory, or the few ranges a forward pass over the
 * file kept (buildinfo-stream.ts), which throws `NotHeld` when asked for bytes it did not keep.
 */

export interface GoModule {
  path: string;
  version: string;
  sum?: string;
  replace?: GoModule;
}

export interface GoBuildInfo {
  /** 'go1.21.5' */
  goVersion: string;
  /** The main package path ('github.com/x/y/cmd/z'). */
  path?: string;
  main?: GoModule;
  deps: GoModule[];
  settings: [string, string][];
}

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER_SIZE = 32;
const ALIGN = 16;
const SEARCH_WINDOW = 64 * 1024;
/** Largest version / module info string read (a Kubernetes binary's is ~40 KiB). */
const MAX_STRING = 4 * 1024 * 1024;

export const GO_MAGIC = MAGIC;
export const GO_HEADER_SIZE = HEADER_SIZE;
export const GO_MAX_STRING = MAX_STRING;

/** Thrown by a partial FileBytes asked for bytes it does not hold: the caller needs the whole file. */
export class NotHeld extends Error {
  constructor() {
    super('bytes not held');
  }
}

/** The bytes of one file, whole or in part. */
export interface FileBytes {
  /** The file's length. */
  readonly length: number;
  /**
   * Bytes [off, off+n), already clipped to the file by the caller. A partial view throws NotHeld
   * unless it holds them all; with `lenient` it returns the bytes it holds from `off` (at most n).
   */
  slice(off: number, n: number, lenient?: boolean): Buffer;
  /** Offset of the first MAGIC lying wholly inside [from, end), or -1. */
  magic(from: number, end: number): number;
}

export function wholeFile(buf: Buffer): FileBytes {
  return {
    length: buf.length,
    slice: (off, n) => buf.subarray(off, off + n),
    magic: (from, end) => (from >= end ? -1 : buf.subarray(0, end).indexOf(MAGIC, from)),
  };
}

/** A view of an executable: where its data starts and how to read memory at an address. */
export interface Exe {
  dataStart(): number | undefined;
  /** Memory at `addr`, clipped to its segment and the file; `lenient` as FileBytes.slice. */
  readData(addr: number, size: number, lenient?: boolean): Buffer | undefined;
  /** The file offset of `addr` and how many bytes of its segment follow it in the file. */
  locate(addr: number): { off: number; avail: number } | undefined;
  /**
   * File ranges [start, end) where a Go linker puts the build info: the writable segments / sections
   * (and a Mach-O segment holding __go_buildinfo). A forward pass searches only these; a header found
   * elsewhere by the whole-file reader makes the pass ask for the whole file.
   */
  searchRanges(): [number, number][];
}

class Reader {
  readonly f: FileBytes;
  readonly le: boolean;
  constructor(f: FileBytes, le: boolean) {
    this.f = f;
    this.le = le;
  }
  ok(off: number, n: number): boolean {
    return Number.isSafeInteger(off) && off >= 0 && off + n <= this.f.length;
  }
  u8(off: number): number | undefined {
    return this.ok(off, 1) ? this.f.slice(off, 1)[0] : undefined;
  }
  u16(off: number): number | undefined {
    if (!this.ok(off, 2)) return undefined;
    const b = this.f.slice(off, 2);
    return this.le ? b.readUInt16LE(0) : b.readUInt16BE(0);
  }
  u32(off: number): number | undefined {
    if (!this.ok(off, 4)) return undefined;
    const b = this.f.slice(off, 4);
    return this.le ? b.readUInt32LE(0) : b.readUInt32BE(0);
  }
  u64(off: number): number | undefined {
    if (!this.ok(off, 8)) return undefined;
    const b = this.f.slice(off, 8);
    const v = this.le ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  }
  /** Bytes [off, off+n) of the file, clipped to the file. */
  slice(off: number, n: number, lenient = false): Buffer | undefined {
    if (!Number.isSafeInteger(off) || off < 0 || off >= this.f.length || n < 0) return undefined;
    const len = Math.min(n, this.f.length - off);
    return len === 0 ? Buffer.alloc(0) : this.f.slice(off, len, lenient);
  }
}

interface Segment {
  addr: number;
  /** Bytes present in the file. */
  filesz: number;
  offset: number;
}

/** The first file-backed segment holding `addr`: its file offset and the segment bytes from there. */
function locateIn(segs: Segment[], addr: number): { off: number; avail: number } | undefined {
  for (const s of segs) {
    if (s.filesz > 0 && s.addr <= addr && addr <= s.addr + s.filesz - 1) return { off: s.offset + (addr - s.addr), avail: s.addr + s.filesz - addr };
  }
  return undefined;
}

/** memory read through file-backed segments: the first segment holding `addr`. */
function readSegments(r: Reader, segs: Segment[], addr: number, size: number, lenient?: boolean): Buffer | undefined {
  const at = locateIn(segs, addr);
  return at ? r.slice(at.off, Math.min(size, at.avail), lenient) : undefined;
}

const PT_LOAD = 1;
const PF_X = 1;
const PF_W = 2;

function elfExe(f: FileBytes): Exe | undefined {
  if (f.length < 52) return undefined;
  const buf = f.slice(0, 6);
  if (buf[0] !== 0x7f || buf[1] !== 0x45 || buf[2] !== 0x4c || buf[3] !== 0x46) return undefined;
  const is64 = buf[4] === 2;
  if (!is64 && buf[4] !== 1) return undefined;
  if (buf[5] !== 1 && buf[5] !== 2) return undefined;
  const r = new Reader(f, buf[5] === 1);
  const word = (off: number): number | undefined => (is64 ? r.u64(off) : r.u32(off));
  const phoff = word(is64 ? 0x20 : 0x1c);
  const shoff = word(is64 ? 0x28 : 0x20);
  const phentsize = r.u16(is64 ? 0x36 : 0x2a);
  const phnum = r.u16(is64 ? 0x38 : 0x2c) ?? 0;
  const shentsize = r.u16(is64 ? 0x3a : 0x2e);
  const shnum = r.u16(is64 ? 0x3c : 0x30) ?? 0;
  const shstrndx = r.u16(is64 ? 0x3e : 0x32) ?? 0;
  const segs: (Segment & { flags: number })[] = [];
  if (phoff !== undefined && phentsize) {
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      const type = r.u32(o);
      if (type !== PT_LOAD) continue;
      const flags = r.u32(is64 ? o + 4 : o + 24) ?? 0;
      const offset = word(is64 ? o + 8 : o + 4);
      const addr = word(is64 ? o + 16 : o + 8);
      const filesz = word(is64 ? o + 32 : o + 16);
      if (offset === undefined || addr === undefined || filesz === undefined) continue;
      segs.push({ addr, filesz, offset, flags });
    }
  }
  const sectionAddr = (want: string): number | undefined => {
    if (shoff === undefined || !shentsize || shstrndx >= shnum) return undefined;
    const strOff = word(shoff + shstrndx * shentsize + (is64 ? 0x18 : 0x10));
    if (strOff === undefined) return undefined;
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * shentsize;
      const nameOff = r.u32(o);
      if (nameOff === undefined) return undefined;
      const name = r.slice(strOff + nameOff, want.length + 1);
      if (name && name.length === want.length + 1 && name[want.length] === 0 && name.toString('latin1', 0, want.length) === want) {
        return word(is64 ? o + 0x10 : o + 0x0c);
      }
    }
    return undefined;
  };
  return {
    dataStart() {
      const s = sectionAddr('.go.buildinfo');
      if (s !== undefined) return s;
      for (const p of segs) if ((p.flags & (PF_X | PF_W)) === PF_W) return p.addr;
      return undefined;
    },
    readData: (addr, size, lenient) => readSegments(r, segs, addr, size, lenient),
    locate: (addr) => locateIn(segs, addr),
    searchRanges: () => segs.filter((p) => p.flags & PF_W).map((p) => [p.offset, p.offset + p.filesz]),
  };
}

function peExe(f: FileBytes): Exe | undefined {
  if (f.length < 0x40) return undefined;
  const buf = f.slice(0, 2);
  if (buf[0] !== 0x4d || buf[1] !== 0x5a) return undefined;
  const r = new Reader(f, true);
  const pe = r.u32(0x3c);
  if (pe === undefined || r.u32(pe) !== 0x00004550) return undefined;
  const nsect = r.u16(pe + 6) ?? 0;
  const optSize = r.u16(pe + 20) ?? 0;
  const opt = pe + 24;
  const magic = r.u16(opt);
  const imageBase = magic === 0x20b ? r.u64(opt + 24) : magic === 0x10b ? r.u32(opt + 28) : undefined;
  if (imageBase === undefined) return undefined;
  const sects: (Segment & { chars: number })[] = [];
  for (let i = 0; i < nsect; i++) {
    const o = opt + optSize + i * 40;
    const va = r.u32(o + 12);
    const size = r.u32(o + 16);
    const ptr = r.u32(o + 20);
    const chars = r.u32(o + 36);
    if (va === undefined || size === undefined || ptr === undefined || chars === undefined) break;
    sects.push({ addr: va, filesz: size, offset: ptr, chars });
  }
  const DATA = 0x40 | 0x40000000 | 0x80000000; // initialized data, read, write
  const ALIGN_32 = 0x600000;
  return {
    dataStart() {
      for (const s of sects) if (s.addr !== 0 && s.filesz !== 0 && (s.chars & ~ALIGN_32) >>> 0 === DATA >>> 0) return s.addr + imageBase;
      return undefined;
    },
    readData: (addr, size, lenient) => readSegments(r, sects, addr - imageBase, size, lenient),
    locate: (addr) => locateIn(sects, addr - imageBase),
    searchRanges: () => sects.filter((x) => (x.chars & 0x80000000) !== 0).map((x) => [x.offset, x.offset + x.filesz]),
  };
}

const LC_SEGMENT = 0x1;
const LC_SEGMENT_64 = 0x19;

function machoExe(f: FileBytes): Exe | undefined {
  if (f.length < 28) return undefined;
  const m = f.slice(0, 4).readUInt32BE(0);
  let le: boolean;
  let is64: boolean;
  if (m === 0xfeedface || m === 0xfeedfacf) [le, is64] = [false, m === 0xfeedfacf];
  else if (m === 0xcefaedfe || m === 0xcffaedfe) [le, is64] = [true, m === 0xcffaedfe];
  else return undefined;
  const r = new Reader(f, le);
  const word = (off: number): number | undefined => (is64 ? r.u64(off) : r.u32(off));
  const ncmds = r.u32(16) ?? 0;
  let off = is64 ? 32 : 28;
  const segs: (Segment & { name: string; prot: number; maxprot: number; go?: boolean })[] = [];
  let goSection: number | undefined;
  const name16 = (o: number): string => {
    const b = r.slice(o, 16);
    if (!b) return '';
    const nul = b.indexOf(0);
    return b.toString('latin1', 0, nul < 0 ? b.length : nul);
  };
  for (let i = 0; i < ncmds && i < 4096; i++) {
    const cmd = r.u32(off);
    const size = r.u32(off + 4);
    if (cmd === undefined || size === undefined || size < 8) break;
    if (cmd === (is64 ? LC_SEGMENT_64 : LC_SEGMENT)) {
      const name = name16(off + 8);
      const addr = word(off + 24);
      const fileoff = word(is64 ? off + 40 : off + 32);
      const filesz = word(is64 ? off + 48 : off + 36);
      const maxprot = r.u32(is64 ? off + 56 : off + 40) ?? 0;
      const prot = r.u32(is64 ? off + 60 : off + 44) ?? 0;
      const nsects = r.u32(is64 ? off + 64 : off + 48) ?? 0;
      const seg = addr !== undefined && fileoff !== undefined && filesz !== undefined ? { name, addr, offset: fileoff, filesz, prot, maxprot } : undefined;
      if (seg) segs.push(seg);
      let s = off + (is64 ? 72 : 56);
      for (let j = 0; j < nsects && j < 1024; j++, s += is64 ? 80 : 68) {
        if (name16(s) === '__go_buildinfo') {
          goSection ??= word(s + 32);
          if (seg) (seg as { go?: boolean }).go = true;
        }
      }
    }
    off += size;
  }
  const RW = 3;
  return {
    dataStart() {
      if (goSection !== undefined) return goSection;
      for (const s of segs) if (s.addr !== 0 && s.filesz !== 0 && s.prot === RW && s.maxprot === RW) return s.addr;
      return undefined;
    },
    readData: (addr, size, lenient) => readSegments(r, segs, addr, size, lenient),
    locate: (addr) => locateIn(segs, addr),
    searchRanges: () => segs.filter((x) => x.go || ((x.prot | x.maxprot) & 2) !== 0).map((x) => [x.offset, x.offset + x.filesz]),
  };
}

export function openExe(f: FileBytes): Exe | undefined {
  return elfExe(f) ?? peExe(f) ?? machoExe(f);
}

/** Is this buffer an executable format we read (cheap header test)? */
export function isExecutableFormat(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  if (buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46) return true;
  if (buf[0] === 0x4d && buf[1] === 0x5a) return true;
  const m = buf.readUInt32BE(0);
  return m === 0xfeedface || m === 0xfeedfacf || m === 0xcefaedfe || m === 0xcffaedfe;
}

export function uvarint(b: Buffer, off: number): [number, number] | undefined {
  let x = 0;
  let shift = 0;
  for (let i = 0; i < 10 && off + i < b.length; i++) {
    const c = b[off + i] ?? 0;
    x += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) return x > Number.MAX_SAFE_INTEGER ? undefined : [x, i + 1];
    shift += 7;
  }
  return undefined;
}

/** Go's decodeString: a uvarint length, then the bytes. */
function decodeString(b: Buffer, off: number): [string, number] | undefined {
  const v = uvarint(b, off);
  if (!v) return undefined;
  const [len, n] = v;
  if (len > MAX_STRING || off + n + len > b.length) return undefined;
  return [b.toString('utf8', off + n, off + n + len), off + n + len];
}

export interface BuildInfoStrings {
  goVersion: string;
  modinfo: string;
}

/** The raw version and module-info strings, or undefined for a non-Go (or stripped-of-buildinfo) file. */
export function readBuildInfoStrings(buf: Buffer): BuildInfoStrings | undefined {
  return buildInfoStrings(wholeFile(buf));
}

/** readBuildInfoStrings over any FileBytes (a partial one may throw NotHeld). */
export function buildInfoStrings(f: FileBytes): BuildInfoStrings | undefined {
  const x = openExe(f);
  if (!x) return undefined;
  const start = x.dataStart();
  if (start === undefined) return undefined;
  // the search window: what readData(start, SEARCH_WINDOW) returns, as a file range
  const loc = x.locate(start);
  if (!loc || !Number.isSafeInteger(loc.off) || loc.off < 0 || loc.off >= f.length) return undefined;
  const winLen = Math.min(SEARCH_WINDOW, loc.avail, f.length - loc.off);
  let at = -1;
  for (let from = 0; ; ) {
    const abs = f.magic(loc.off + from, loc.off + winLen);
    const i = abs < 0 ? -1 : abs - loc.off;
    if (i < 0 || winLen - i < HEADER_SIZE) return undefined;
    if (i % ALIGN === 0) {
      at = i;
      break;
    }
    from = (i + ALIGN - 1) & ~(ALIGN - 1);
  }
  const hdr = f.slice(loc.off + at, HEADER_SIZE);
  const ptrSize = hdr[14] ?? 0;
  const flags = hdr[15] ?? 0;
  let goVersion: string;
  let modinfo: string;
  if (flags & 2) {
    const blob = x.readData(start + at, HEADER_SIZE + 2 * (MAX_STRING + 10), true) ?? f.slice(loc.off + at, winLen - at, true);
    const v = decodeString(blob, HEADER_SIZE);
    if (!v) return undefined;
    const m = decodeString(blob, v[1]);
    [goVersion, modinfo] = [v[0], m ? m[0] : ''];
  } else {
    if (ptrSize !== 4 && ptrSize !== 8) return undefined;
    const r = new Reader(wholeFile(hdr), flags === 0);
    const readPtr = (b: Reader, off: number): number | undefined => (ptrSize === 4 ? b.u32(off) : b.u64(off));
    const readString = (addr: number | undefined): string => {
      if (addr === undefined) return '';
      const h = x.readData(addr, 2 * ptrSize);
      if (!h || h.length < 2 * ptrSize) return '';
      const hr = new Reader(wholeFile(h), r.le);
      const dataAddr = readPtr(hr, 0);
      const len = readPtr(hr, ptrSize);
      if (dataAddr === undefined || len === undefined || len > MAX_STRING) return '';
      const data = x.readData(dataAddr, len);
      return data && data.length === len ? data.toString('utf8') : '';
    };
    goVersion = readString(readPtr(r, 16));
    modinfo = readString(readPtr(r, 16 + ptrSize));
  }
  if (!goVersion) return undefined;
  // strip the sentinels that frame the module info (cmd/go's infoStart / infoEnd)
  modinfo = modinfo.length >= 33 && modinfo[modinfo.length - 17] === '\n' ? modinfo.slice(16, -16) : '';
  return { goVersion, modinfo };
}

function parseModLine(fields: string[]): GoModule | undefined {
  const [path, version, sum] = fields;
  if (path === undefined || path === '') return undefined;
  const m: GoModule = { path, version: version ?? '' };
  if (sum) m.sum = sum;
  return m;
}

/** runtime/debug.ParseBuildInfo, leniently: malformed lines are skipped, not fatal. */
export function parseModInfo(goVersion: string, modinfo: string): GoBuildInfo {
  const info: GoBuildInfo = { goVersion, deps: [], settings: [] };
  let last: GoModule | undefined;
  for (const raw of modinfo.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const key = line.slice(0, tab);
    const rest = line.slice(tab + 1);
    switch (key) {
      case 'path':
        info.path = rest;
        break;
      case 'mod': {
        const m = parseModLine(rest.split('\t'));
        if (m) info.main = last = m;
        break;
      }
      case 'dep': {
        const m = parseModLine(rest.split('\t'));
        if (m) info.deps.push((last = m));
        break;
      }
      case '=>': {
        const m = parseModLine(rest.split('\t'));
        if (m && last) last.replace = m;
        last = undefined;
        break;
      }
      case 'build': {
        const eq = rest.indexOf('=');
        if (eq > 0) info.settings.push([rest.slice(0, eq), rest.slice(eq + 1)]);
        break;
      }
      default:
    }
  }
  return info;
}

export function readGoBuildInfo(buf: Buffer): GoBuildInfo | undefined {
  const s = readBuildInfoStrings(buf);
  return s ? parseModInfo(s.goVersion, s.modinfo) : undefined;
}

/** The condensed form kept in the layer cache: a NUL-led marker no executable starts with. */
const CONDENSED = '\0portcullis-go-buildinfo/1\n';

/** Does this content start with the condensed marker (the buffered condenser keeps such content as is)? */
export function isCondensed(content: Buffer): boolean {
  return content.subarray(0, CONDENSED.length).toString('latin1') === CONDENSED;
}

export function encodeCondensed(s: BuildInfoStrings): Buffer {
  return Buffer.from(`${CONDENSED}${s.goVersion}\n${s.modinfo}`);
}

export function condenseGoBinary(content: Buffer): Buffer | undefined {
  if (isCondensed(content)) return content;
  const s = readBuildInfoStrings(content);
  return s ? encodeCondensed(s) : undefined;
}

/** Build info from a condensed blob or a whole binary. */
export function buildInfoOf(content: Buffer): GoBuildInfo | undefined {
  if (content.subarray(0, CONDENSED.length).toString('latin1') === CONDENSED) {
    const text = content.toString('utf8', CONDENSED.length);
    const nl = text.indexOf('\n');
    return nl < 0 ? undefined : parseModInfo(text.slice(0, nl), text.slice(nl + 1));
  }
  return readGoBuildInfo(content);
}
