/**
 * Random access into an outer tar (docker-archive, oci-archive): the headers are read once with
 * positional reads, skipping member data, then each member is streamed by offset. A 1 GB archive is
 * indexed with a handful of 512-byte reads.
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ScannerError } from '../../shared/errors.ts';
import { normalizeEntryPath } from '../layers.ts';
import { checksumOk, isZeroBlock, parsePax, readOctal, readString } from '../tar.ts';

export interface TarMember {
  offset: number;
  size: number;
  type: 'file' | 'symlink' | 'hardlink' | 'other';
  linkname: string;
}

const MAX_MEMBERS = 100_000;
const META_MAX = 1 << 20;

function corrupt(what: string, why: string): ScannerError {
  return new ScannerError('ARCHIVE_CORRUPT', `${what}: ${why}`);
}

export class TarIndex {
  readonly path: string;
  readonly members = new Map<string, TarMember>();
  readonly what: string;

  private constructor(path: string, what: string) {
    this.path = path;
    this.what = what;
  }

  static async build(path: string, what: string): Promise<TarIndex> {
    const idx = new TarIndex(path, what);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ScannerError(code === 'ENOENT' ? 'ARCHIVE_NOT_FOUND' : 'ARCHIVE_UNREADABLE', `${what}: cannot open ${path} (${code ?? 'error'})`, { cause: err });
    }
    try {
      await idx.#scan(fh);
    } catch (err) {
      // a malformed header field (TAR_CORRUPT from the shared parsers) is a corrupt archive
      if (err instanceof ScannerError && err.code === 'TAR_CORRUPT') throw corrupt(what, `archive is corrupt (${err.message})`);
      throw err;
    } finally {
      await fh.close();
    }
    return idx;
  }

  async #scan(fh: FileHandle): Promise<void> {
    const { size: fileSize } = await fh.stat();
    const block = Buffer.alloc(512);
    let pos = 0;
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax: Map<string, string> | undefined;
    let n = 0;
    let zeros = 0;
    for (;;) {
      const { bytesRead } = await fh.read(block, 0, 512, pos);
      if (bytesRead === 0 && n > 0) return; // EOF at a header boundary without end blocks
      if (bytesRead < 512) throw corrupt(this.what, n === 0 ? 'not a tar archive (empty or too short)' : 'archive is truncated');
      if (isZeroBlock(block, 0)) {
        if (++zeros >= 2 || pos + 512 >= fileSize) return;
        pos += 512;
        continue;
      }
      if (!checksumOk(block, 0)) throw corrupt(this.what, n === 0 ? 'not a tar archive' : 'archive is corrupt (bad tar header checksum)');
      if (++n > MAX_MEMBERS) throw corrupt(this.what, 'archive has too many members');
      const flag = block[156] ?? 0;
      let size = readOctal(block, 124, 12, 'size');
      let name = readString(block, 0, 100);
      if (block.toString('latin1', 257, 263) === 'ustar\0') {
        const prefix = readString(block, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      let linkname = readString(block, 157, 100);
      const dataPos = pos + 512;
      if (flag === 0x78 || flag === 0x67 || flag === 0x4c || flag === 0x4b) {
        if (size > META_MAX) throw corrupt(this.what, 'tar extended header too large');
        const data = Buffer.alloc(size);
        const r = await fh.read(data, 0, size, dataPos);
        if (r.bytesRead < size) throw corrupt(this.what, 'archive is truncated');
        if (flag === 0x78) pax = parsePax(data);
        else if (flag === 0x4c) longName = readString(data, 0, size);
        else if (flag === 0x4b) longLink = readString(data, 0, size);
      } else {
        if (longName !== undefined) name = longName;
        if (longLink !== undefined) linkname = longLink;
        const pp = pax?.get('path');
        if (pp !== undefined) name = pp;
        const pl = pax?.get('linkpath');
        if (pl !== undefined) linkname = pl;
        const ps = pax?.get('size');
        if (ps !== undefined) size = Number(ps);
        longName = longLink = undefined;
        pax = undefined;
        if (!Number.isSafeInteger(size) || size < 0) throw corrupt(this.what, 'invalid member size');
        if (dataPos + size > fileSize) throw corrupt(this.what, `archive is truncated (member "${name.slice(0, 100)}" needs ${size} bytes)`);
        const norm = normalizeEntryPath(name);
        const type = flag === 0 || flag === 0x30 || flag === 0x37 ? 'file' : flag === 0x32 ? 'symlink' : flag === 0x31 ? 'hardlink' : 'other';
        if (norm) this.members.set(norm, { offset: dataPos, size: type === 'file' ? size : 0, type, linkname });
      }
      pos = dataPos + Math.ceil(size / 512) * 512;
    }
  }

  /** A regular member, following symlinks/hard links inside the archive (docker save uses them). */
  member(name: string): (TarMember & { name: string }) | undefined {
    let n = normalizeEntryPath(name);
    for (let hops = 0; n !== undefined && hops < 10; hops++) {
      const m = this.members.get(n);
      if (!m) return undefined;
      if (m.type === 'file') return { ...m, name: n };
      if (m.type === 'hardlink') n = normalizeEntryPath(m.linkname);
      else if (m.type === 'symlink') {
        const dir = n.includes('/') ? n.slice(0, n.lastIndexOf('/')) : '';
        n = normalizeEntryPath(m.linkname.startsWith('/') ? m.linkname : `${dir}/${m.linkname}`);
      } else return undefined;
    }
    return undefined;
  }

  async read(name: string, max: number): Promise<Buffer | undefined> {
    const m = this.member(name);
    if (!m) return undefined;
    if (m.size > max) throw new ScannerError('SIZE_LIMIT', `${this.what}: ${name} is ${m.size} bytes, over the ${max}-byte limit`);
    const fh = await open(this.path, 'r');
    try {
      const buf = Buffer.alloc(m.size);
      const { bytesRead } = await fh.read(buf, 0, m.size, m.offset);
      if (bytesRead < m.size) throw corrupt(this.what, 'archive is truncated');
      return buf;
    } finally {
      await fh.close();
    }
  }

  stream(m: TarMember): AsyncIterable<Buffer> {
    if (m.size === 0) return (async function* () {})();
    return createReadStream(this.path, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 256 << 10 });
  }
}
