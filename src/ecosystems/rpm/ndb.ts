/**
 * rpm's NDB backend (`Packages.db`: SUSE, and rpm ≥ 4.16 built with ndb), after rpm's
 * lib/backend/ndb/rpmpkg.c. All integers little-endian; the file is made of 16-byte blocks.
 *   header (32 bytes = the first two slots): magic 'RpmP', version 0, generation, slot page count,
 *     next package index, reserved
 *   slot pages: 4096-byte pages of 16-byte slots {magic 'Slot', pkgidx, blkoff, blkcnt};
 *     blkoff 0 = free slot
 *   blob at blkoff × 16: head {magic 'BlbS', pkgidx, timestamp, bloblen}, the header blob, zero
 *     padding to the block size, tail {adler32 of head+blob+padding, bloblen, magic 'BlbE'};
 *     blkcnt = ceil((16 + bloblen + 12) / 16).
 */
import { RpmDbError } from './bdb.ts';

const le32 = (s: string): number =>
  (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
export const NDB_HEADER_MAGIC = le32('RpmP');
export const NDB_SLOT_MAGIC = le32('Slot');
export const NDB_BLOB_MAGIC = le32('BlbS');
export const NDB_TAIL_MAGIC = le32('BlbE');
export const NDB_PAGE = 4096;
const SLOT_SIZE = 16;
const BLK_SIZE = 16;
const HEAD_SIZE = 16;
const TAIL_SIZE = 12;
const MAX_SLOT_PAGES = 2048;

/** Adler-32 (RFC 1950), as rpmpkg.c computes the blob checksum. */
export function adler32(buf: Uint8Array, start = 1): number {
  let s1 = start & 0xffff;
  let s2 = (start >>> 16) & 0xffff;
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const end = Math.min(n, i + 5552);
    for (; i < end; i++) {
      s1 += buf[i] ?? 0;
      s2 += s1;
    }
    s1 %= 65521;
    s2 %= 65521;
  }
  return ((s2 << 16) | s1) >>> 0;
}

export function isNdb(buf: Uint8Array): boolean {
  return buf.length >= 32 && new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, true) === NDB_HEADER_MAGIC;
}

export interface NdbBlob {
  pkgIndex: number;
  blob: Uint8Array;
}

/** The header blobs of every used slot, in file (block offset) order as rpm lists them. */
export function readNdbBlobs(buf: Uint8Array): { blobs: NdbBlob[]; problems: string[] } {
  if (buf.length < 32) throw new RpmDbError(`NDB file too short (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u32 = (o: number): number => view.getUint32(o, true);
  if (u32(0) !== NDB_HEADER_MAGIC) throw new RpmDbError('not an rpm NDB database (bad magic)');
  if (u32(4) !== 0) throw new RpmDbError(`NDB: unsupported version ${u32(4)}`);
  const slotPages = u32(12);
  if (slotPages === 0 || slotPages > MAX_SLOT_PAGES) throw new RpmDbError(`NDB: bad slot page count ${slotPages}`);
  const slotsEnd = slotPages * NDB_PAGE;
  if (slotsEnd > buf.length) throw new RpmDbError(`NDB truncated: ${slotPages} slot pages need ${slotsEnd} bytes, file has ${buf.length}`);
  const minBlk = slotsEnd / BLK_SIZE;
  const fileBlks = Math.floor(buf.length / BLK_SIZE);
  const slots: { pkgIndex: number; blkOff: number; blkCnt: number }[] = [];
  for (let at = 32; at < slotsEnd; at += SLOT_SIZE) {
    if (u32(at) !== NDB_SLOT_MAGIC) throw new RpmDbError(`NDB: bad slot magic at byte ${at}`);
    const blkOff = u32(at + 8);
    if (blkOff === 0) continue;
    const pkgIndex = u32(at + 4);
    const blkCnt = u32(at + 12);
    if (blkOff + blkCnt > fileBlks) throw new RpmDbError(`NDB truncated: package ${pkgIndex} extends past the end of the file`);
    if (!pkgIndex || !blkCnt || blkOff < minBlk) throw new RpmDbError(`NDB: bad slot for package ${pkgIndex} at byte ${at}`);
    slots.push({ pkgIndex, blkOff, blkCnt });
  }
  slots.sort((a, b) => a.blkOff - b.blkOff);
  const blobs: NdbBlob[] = [];
  const problems: string[] = [];
  for (const { pkgIndex, blkOff, blkCnt } of slots) {
    const start = blkOff * BLK_SIZE;
    const total = blkCnt * BLK_SIZE;
    if (u32(start) !== NDB_BLOB_MAGIC || u32(start + 4) !== pkgIndex) {
      problems.push(`package ${pkgIndex}: bad blob header`);
      continue;
    }
    const len = u32(start + 12);
    if (blkCnt !== Math.ceil((HEAD_SIZE + len + TAIL_SIZE) / BLK_SIZE)) {
      problems.push(`package ${pkgIndex}: blob length ${len} does not fit ${blkCnt} blocks`);
      continue;
    }
    const tail = start + total - TAIL_SIZE;
    if (u32(tail + 4) !== len || u32(tail + 8) !== NDB_TAIL_MAGIC) {
      problems.push(`package ${pkgIndex}: bad blob tail`);
      continue;
    }
    if (adler32(buf.subarray(start, tail)) !== u32(tail)) {
      problems.push(`package ${pkgIndex}: blob checksum mismatch`);
      continue;
    }
    blobs.push({ pkgIndex, blob: buf.subarray(start + HEAD_SIZE, start + HEAD_SIZE + len) });
  }
  return { blobs, problems };
}
