/**
 * Berkeley DB hash database (rpm < 4.16 `var/lib/rpm/Packages`), read without libdb.
 * Layout (libdb src/dbinc/db_page.h): page 0 is the hash metadata page (magic 0x061561 at offset 12,
 * page size at 20, last page number at 32, byte order given by the magic); every page starts with a
 * 26-byte header {lsn[8], pgno u32, prev u32, next u32, entries u16, hf_offset u16, level u8, type u8}
 * followed by `entries` u16 item offsets. On hash pages items alternate key, data. A data item is
 * H_KEYDATA (1, bytes inline) or H_OFFPAGE (3: pad[3], pgno u32, tlen u32) pointing to a chain of
 * overflow pages (type 7) each holding hf_offset bytes after its header.
 */

export class RpmDbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpmDbError';
  }
}

const HASH_MAGIC = 0x061561;
const PAGE_HEADER = 26;
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASH = 13;
const H_KEYDATA = 1;
const H_OFFPAGE = 3;
const VALID_PAGE_SIZES = new Set([512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);
/** A single rpm header is far below this; the cap stops a looping or hostile overflow chain. */
const MAX_VALUE = 64 * 1024 * 1024;

export function isBdbHash(buf: Uint8Array): boolean {
  if (buf.length < 72) return false;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return v.getUint32(12, true) === HASH_MAGIC || v.getUint32(12, false) === HASH_MAGIC;
}

/** Every value stored in the hash database (for rpm: the header blobs, plus small bookkeeping records). */
export function readBdbHashValues(buf: Uint8Array): Uint8Array[] {
  if (buf.length < 512) throw new RpmDbError(`Berkeley DB file too short (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let le: boolean;
  if (view.getUint32(12, true) === HASH_MAGIC) le = true;
  else if (view.getUint32(12, false) === HASH_MAGIC) le = false;
  else throw new RpmDbError('not a Berkeley DB hash database (bad magic)');
  const u32 = (o: number): number => view.getUint32(o, le);
  const u16 = (o: number): number => view.getUint16(o, le);
  const pageSize = u32(20);
  if (!VALID_PAGE_SIZES.has(pageSize)) throw new RpmDbError(`Berkeley DB: bad page size ${pageSize}`);
  if (buf[24] !== 0) throw new RpmDbError('Berkeley DB: encrypted databases are not supported');
  const pages = Math.floor(buf.length / pageSize);
  const lastPage = u32(32);
  if (lastPage >= pages) throw new RpmDbError(`Berkeley DB truncated: last page ${lastPage}, file holds ${pages} pages`);

  const overflow = (first: number, total: number): Uint8Array => {
    if (total > MAX_VALUE) throw new RpmDbError(`Berkeley DB: value of ${total} bytes exceeds the limit`);
    const out = new Uint8Array(total);
    let filled = 0;
    let pg = first;
    const seen = new Set<number>();
    while (pg !== 0 && filled < total) {
      if (pg > lastPage || seen.has(pg)) throw new RpmDbError(`Berkeley DB: bad overflow chain at page ${pg}`);
      seen.add(pg);
      const base = pg * pageSize;
      if (buf[base + 25] !== P_OVERFLOW) throw new RpmDbError(`Berkeley DB: page ${pg} is not an overflow page`);
      const len = Math.min(u16(base + 22), pageSize - PAGE_HEADER, total - filled);
      out.set(buf.subarray(base + PAGE_HEADER, base + PAGE_HEADER + len), filled);
      filled += len;
      pg = u32(base + 16);
    }
    if (filled !== total) throw new RpmDbError(`Berkeley DB: overflow chain holds ${filled} of ${total} bytes`);
    return out;
  };

  const values: Uint8Array[] = [];
  for (let pg = 1; pg <= lastPage; pg++) {
    const base = pg * pageSize;
    const type = buf[base + 25];
    if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
    const entries = u16(base + 20);
    if (PAGE_HEADER + entries * 2 > pageSize) throw new RpmDbError(`Berkeley DB: page ${pg} has too many entries`);
    // items are key/data pairs; data items are the odd ones
    for (let i = 1; i < entries; i += 2) {
      const off = u16(base + PAGE_HEADER + i * 2);
      if (off < PAGE_HEADER || off >= pageSize) throw new RpmDbError(`Berkeley DB: page ${pg} item ${i} offset ${off} out of range`);
      const item = base + off;
      const itemType = buf[item];
      if (itemType === H_OFFPAGE) {
        if (off + 12 > pageSize) throw new RpmDbError(`Berkeley DB: page ${pg} item ${i} truncated`);
        values.push(overflow(u32(item + 4), u32(item + 8)));
      } else if (itemType === H_KEYDATA) {
        // Items grow down from the page end: item i ends where item i-1 starts.
        const end = u16(base + PAGE_HEADER + (i - 1) * 2);
        if (end <= off || end > pageSize) continue;
        values.push(buf.slice(item + 1, base + end));
      }
    }
  }
  return values;
}
