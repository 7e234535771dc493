/**
 * rpm's NDB backend (`Packages.db`, SUSE and rpm ≥ 4.16 with `_db_backend ndb`), from rpm's
 * lib/backend/ndb/rpmpkg.c. All integers little-endian.
 *   header (32 bytes): magic 'RpmP', version 0, generation, slot page count, 4 × reserved
 *   slot pages: 4096-byte pages of 16-byte slots {magic 'Slot', pkgidx, blkoff, blkcnt}; the
 *     header occupies the first two slots of page 0; pkgidx 0 = free slot
 *   blobs at blkoff × 16: {magic 'BlbS', pkgidx, adler32 checksum, bloblen}, bloblen bytes of header
 *     blob, then a 12-byte tail {checksum, bloblen, magic 'BlbE'}.
 */
import { RpmDbError } from './bdb.ts';

const le32 = (s: string): number => s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24);
const HEADER_MAGIC = le32('RpmP') >>> 0;
const SLOT_MAGIC = le32('Slot') >>> 0;
const BLOB_MAGIC = le32('BlbS') >>> 0;
const SLOT_PAGE = 4096;
const SLOT_SIZE = 16;
const BLK_SIZE = 16;
const MAX_SLOT_PAGES = 2048;

export function isNdb(buf: Uint8Array): boolean {
  return buf.length >= 32 && new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, true) === HEADER_MAGIC;
}

/** The header blobs of every used slot, in slot order. */
export function readNdbBlobs(buf: Uint8Array): { pkgIndex: number; blob: Uint8Array }[] {
  if (buf.length < 32) throw new RpmDbError(`NDB file too short (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u32 = (o: number): number => view.getUint32(o, true);
  if (u32(0) !== HEADER_MAGIC) throw new RpmDbError('not an rpm NDB database (bad magic)');
  if (u32(4) !== 0) throw new RpmDbError(`NDB: unsupported version ${u32(4)}`);
  const slotPages = u32(12);
  if (slotPages === 0 || slotPages > MAX_SLOT_PAGES) throw new RpmDbError(`NDB: bad slot page count ${slotPages}`);
  const slotsEnd = slotPages * SLOT_PAGE;
  if (slotsEnd > buf.length) throw new RpmDbError(`NDB truncated: ${slotPages} slot pages need ${slotsEnd} bytes, file has ${buf.length}`);
  const out: { pkgIndex: number; blob: Uint8Array }[] = [];
  for (let at = 32; at + SLOT_SIZE <= slotsEnd; at += SLOT_SIZE) {
    if (u32(at) !== SLOT_MAGIC) throw new RpmDbError(`NDB: bad slot magic at byte ${at}`);
    const pkgIndex = u32(at + 4);
    if (pkgIndex === 0) continue;
    const blkOff = u32(at + 8);
    const blkCnt = u32(at + 12);
    const start = blkOff * BLK_SIZE;
    if (start < slotsEnd || start + 16 > buf.length) throw new RpmDbError(`NDB: package ${pkgIndex} points outside the file`);
    if (u32(start) !== BLOB_MAGIC) throw new RpmDbError(`NDB: bad blob magic for package ${pkgIndex}`);
    if (u32(start + 4) !== pkgIndex) throw new RpmDbError(`NDB: blob for package ${pkgIndex} holds package ${u32(start + 4)}`);
    const len = u32(start + 12);
    const end = start + 16 + len;
    if (end > buf.length || end > start + blkCnt * BLK_SIZE) throw new RpmDbError(`NDB: blob of package ${pkgIndex} truncated`);
    out.push({ pkgIndex, blob: buf.subarray(start + 16, end) });
  }
  return out;
}
