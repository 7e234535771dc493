/**
 * Test fixture writer: minimal ELF (32/64-bit, little/big endian), PE32+ and Mach-O 64 files that
 * carry Go build info in either layout — Go 1.18+ "inline" strings or the older pointers to Go
 * string headers. Only what Go's debug/buildinfo reads is written (a data segment / section and,
 * optionally, a `.go.buildinfo` section), so the tests validate every fixture with the real
 * `go version -m` when a Go toolchain is installed. This machine's Go (1.19) only writes the
 * inline layout; the pointer layout is what Go 1.12–1.17 binaries in old images carry.
 */

export interface BuildInfoSpec {
  goVersion: string;
  /** Module info lines without the sentinels ('path\t…\nmod\t…\ndep\t…\n'). */
  modinfo: string;
  layout: 'inline' | 'pointer';
  /**
   * Pointer layout only: put the string bytes in front of the header, where real Go 1.12–1.17
   * binaries have them (.rodata precedes the data segment), so a forward pass has passed them by
   * the time it sees the header.
   */
  stringsFirst?: boolean;
  /** With stringsFirst: bytes between the strings and the header (real binaries: megabytes). */
  stringsGap?: number;
}

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
/** cmd/go's module-info sentinels: 16 bytes each, the closing one preceded by a newline. */
const INFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const INFO_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');

function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

function framed(modinfo: string): Buffer {
  if (modinfo === '') return Buffer.alloc(0);
  const body = Buffer.from(modinfo.endsWith('\n') ? modinfo : `${modinfo}\n`);
  return Buffer.concat([INFO_START, body, INFO_END]);
}

/**
 * The bytes of the data area at virtual address `base`: the 32-byte header, then either the
 * varint strings or two Go string headers and their bytes.
 */
function dataArea(spec: BuildInfoSpec, base: number, ptrSize: 4 | 8, le: boolean): Buffer {
  const header = Buffer.alloc(32);
  MAGIC.copy(header, 0);
  header[14] = ptrSize;
  const vers = Buffer.from(spec.goVersion);
  const mod = framed(spec.modinfo);
  if (spec.layout === 'inline') {
    header[15] = 2 | (le ? 0 : 1);
    return Buffer.concat([header, uvarint(vers.length), vers, uvarint(mod.length), mod, Buffer.alloc(16)]);
  }
  header[15] = le ? 0 : 1;
  const w = (buf: Buffer, off: number, v: number): void => {
    if (ptrSize === 4) {
      if (le) buf.writeUInt32LE(v, off);
      else buf.writeUInt32BE(v, off);
    } else if (le) buf.writeBigUInt64LE(BigInt(v), off);
    else buf.writeBigUInt64BE(BigInt(v), off);
  };
  if (spec.stringsFirst) {
    // layout: vers bytes | mod bytes | padding to 16 | header | versHdr | modHdr
    const strings = pad(Buffer.concat([vers, mod, Buffer.alloc(spec.stringsGap ?? 0)]), 16);
    const at = strings.length;
    w(header, 16, base + at + 32);
    w(header, 16 + ptrSize, base + at + 32 + 2 * ptrSize);
    const hdrs = Buffer.alloc(4 * ptrSize);
    w(hdrs, 0, base);
    w(hdrs, ptrSize, vers.length);
    w(hdrs, 2 * ptrSize, base + vers.length);
    w(hdrs, 3 * ptrSize, mod.length);
    return Buffer.concat([strings, header, hdrs, Buffer.alloc(16)]);
  }
  // layout: header | versHdr | modHdr | vers bytes | mod bytes
  const versHdr = 32;
  const modHdr = versHdr + 2 * ptrSize;
  const versAt = modHdr + 2 * ptrSize;
  const modAt = versAt + vers.length;
  w(header, 16, base + versHdr);
  w(header, 16 + ptrSize, base + modHdr);
  const hdrs = Buffer.alloc(4 * ptrSize);
  w(hdrs, 0, base + versAt);
  w(hdrs, ptrSize, vers.length);
  w(hdrs, 2 * ptrSize, base + modAt);
  w(hdrs, 3 * ptrSize, mod.length);
  return Buffer.concat([header, hdrs, vers, mod, Buffer.alloc(16)]);
}

const pad = (b: Buffer, align: number): Buffer => (b.length % align ? Buffer.concat([b, Buffer.alloc(align - (b.length % align))]) : b);

/** `dataOffset`: where the data segment starts in the file (default 0x1000; page-aligned). */
export function elfWithBuildInfo(spec: BuildInfoSpec, opts: { bits?: 32 | 64; le?: boolean; section?: boolean; dataOffset?: number } = {}): Buffer {
  const is64 = (opts.bits ?? 64) === 64;
  const le = opts.le ?? true;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const dataOff = opts.dataOffset ?? 0x1000;
  const vaddr = is64 ? 0x4000000 : 0x8000000;
  const data = pad(dataArea(spec, vaddr, is64 ? 8 : 4, le), 16);
  const shstr = Buffer.from('\0.go.buildinfo\0.shstrtab\0');
  const shstrOff = dataOff + data.length;
  const shoff = pad(Buffer.alloc(shstrOff + shstr.length), 8).length;
  const nsect = opts.section ? 3 : 0;
  const out = Buffer.alloc(shoff + nsect * shentsize);
  const u16 = (off: number, v: number): number => (le ? out.writeUInt16LE(v, off) : out.writeUInt16BE(v, off));
  const u32 = (off: number, v: number): number => (le ? out.writeUInt32LE(v, off) : out.writeUInt32BE(v, off));
  const word = (off: number, v: number): void => {
    if (!is64) u32(off, v);
    else if (le) out.writeBigUInt64LE(BigInt(v), off);
    else out.writeBigUInt64BE(BigInt(v), off);
  };
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, 0]).copy(out, 0);
  u16(16, 2); // ET_EXEC
  u16(18, is64 ? (le ? 62 : 43) : le ? 3 : 20); // x86-64 / sparcv9 / i386 / ppc
  u32(20, 1);
  word(is64 ? 24 : 24, vaddr); // e_entry
  word(is64 ? 0x20 : 0x1c, ehsize); // e_phoff
  word(is64 ? 0x28 : 0x20, nsect ? shoff : 0);
  u16(is64 ? 0x34 : 0x28, ehsize);
  u16(is64 ? 0x36 : 0x2a, phentsize);
  u16(is64 ? 0x38 : 0x2c, 1);
  u16(is64 ? 0x3a : 0x2e, shentsize);
  u16(is64 ? 0x3c : 0x30, nsect);
  u16(is64 ? 0x3e : 0x32, nsect ? 2 : 0);
  // one PT_LOAD, read+write
  const ph = ehsize;
  u32(ph, 1);
  if (is64) {
    u32(ph + 4, 6);
    word(ph + 8, dataOff);
    word(ph + 16, vaddr);
    word(ph + 24, vaddr);
    word(ph + 32, data.length);
    word(ph + 40, data.length);
    word(ph + 48, 0x1000);
  } else {
    word(ph + 4, dataOff);
    word(ph + 8, vaddr);
    word(ph + 12, vaddr);
    word(ph + 16, data.length);
    word(ph + 20, data.length);
    u32(ph + 24, 6);
    word(ph + 28, 0x1000);
  }
  data.copy(out, dataOff);
  shstr.copy(out, shstrOff);
  if (nsect) {
    const sect = (i: number, name: number, type: number, flags: number, addr: number, off: number, size: number): void => {
      const o = shoff + i * shentsize;
      u32(o, name);
      u32(o + 4, type);
      word(o + 8, flags);
      word(is64 ? o + 0x10 : o + 0x0c, addr);
      word(is64 ? o + 0x18 : o + 0x10, off);
      word(is64 ? o + 0x20 : o + 0x14, size);
    };
    const at = data.indexOf(MAGIC); // the section starts at the header (after the strings, with stringsFirst)
    sect(1, 1, 1, 3, vaddr + at, dataOff + at, data.length - at); // .go.buildinfo, PROGBITS, WA
    sect(2, 15, 3, 0, 0, shstrOff, shstr.length); // .shstrtab
  }
  return out;
}

export function peWithBuildInfo(spec: BuildInfoSpec): Buffer {
  const imageBase = 0x140000000;
  const rva = 0x1000;
  const data = pad(dataArea(spec, imageBase + rva, 8, true), 0x200);
  const peOff = 0x80;
  const optSize = 240;
  const sectOff = peOff + 24 + optSize;
  const rawOff = 0x400;
  const out = Buffer.alloc(rawOff + data.length);
  out.write('MZ', 0, 'latin1');
  out.writeUInt32LE(peOff, 0x3c);
  out.write('PE\0\0', peOff, 'latin1');
  out.writeUInt16LE(0x8664, peOff + 4);
  out.writeUInt16LE(1, peOff + 6);
  out.writeUInt16LE(optSize, peOff + 20);
  out.writeUInt16LE(0x22, peOff + 22);
  const opt = peOff + 24;
  out.writeUInt16LE(0x20b, opt);
  out.writeBigUInt64LE(BigInt(imageBase), opt + 24);
  out.writeUInt32LE(0x1000, opt + 32); // section alignment
  out.writeUInt32LE(0x200, opt + 36); // file alignment
  out.writeUInt32LE(rva + data.length, opt + 56); // size of image
  out.writeUInt32LE(rawOff, opt + 60); // size of headers
  out.writeUInt16LE(3, opt + 68); // console subsystem
  out.writeUInt32LE(16, opt + 108); // NumberOfRvaAndSizes
  out.write('.data\0\0\0', sectOff, 'latin1');
  out.writeUInt32LE(data.length, sectOff + 8);
  out.writeUInt32LE(rva, sectOff + 12);
  out.writeUInt32LE(data.length, sectOff + 16);
  out.writeUInt32LE(rawOff, sectOff + 20);
  out.writeUInt32LE((0x40 | 0x40000000 | 0x80000000) >>> 0, sectOff + 36);
  data.copy(out, rawOff);
  return out;
}

export function machoWithBuildInfo(spec: BuildInfoSpec): Buffer {
  const vmaddr = 0x100000000;
  const fileoff = 0x1000;
  const data = pad(dataArea(spec, vmaddr, 8, true), 16);
  const cmdsize = 72 + 80;
  const out = Buffer.alloc(fileoff + data.length);
  out.writeUInt32LE(0xfeedfacf, 0);
  out.writeUInt32LE(0x01000007, 4); // x86_64
  out.writeUInt32LE(3, 8);
  out.writeUInt32LE(2, 12); // MH_EXECUTE
  out.writeUInt32LE(1, 16); // ncmds
  out.writeUInt32LE(cmdsize, 20);
  const c = 32;
  out.writeUInt32LE(0x19, c); // LC_SEGMENT_64
  out.writeUInt32LE(cmdsize, c + 4);
  out.write('__DATA', c + 8, 'latin1');
  out.writeBigUInt64LE(BigInt(vmaddr), c + 24);
  out.writeBigUInt64LE(BigInt(data.length), c + 32);
  out.writeBigUInt64LE(BigInt(fileoff), c + 40);
  out.writeBigUInt64LE(BigInt(data.length), c + 48);
  out.writeUInt32LE(3, c + 56);
  out.writeUInt32LE(3, c + 60);
  out.writeUInt32LE(1, c + 64);
  const s = c + 72;
  out.write('__go_buildinfo', s, 'latin1');
  out.write('__DATA', s + 16, 'latin1');
  out.writeBigUInt64LE(BigInt(vmaddr), s + 32);
  out.writeBigUInt64LE(BigInt(data.length), s + 40);
  out.writeUInt32LE(fileoff, s + 48);
  out.writeUInt32LE(4, s + 52);
  data.copy(out, fileoff);
  return out;
}
