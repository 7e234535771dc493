/**
 * Test-only NDB writer, following rpm's lib/backend/ndb/rpmpkg.c (rpmpkgWriteHeader,
 * rpmpkgWriteEmptySlotpage, rpmpkgWriteBlob, rpmpkgWriteslot): Debian's rpm is built without the
 * ndb backend, so tests build NDB files from real header blobs with this. Layout as rpm leaves it
 * after fresh installs: slot pages first, then blobs appended in install order.
 */
import { NDB_BLOB_MAGIC, NDB_HEADER_MAGIC, NDB_PAGE, NDB_SLOT_MAGIC, NDB_TAIL_MAGIC, adler32 } from '../ndb.ts';

export function writeNdb(blobs: readonly Uint8Array[], opts: { timestamp?: number; freeSlots?: number[]; slotPages?: number } = {}): Buffer {
  const slotsPerPage = NDB_PAGE / 16;
  const needed = Math.ceil((blobs.length + 2 + (opts.freeSlots?.length ?? 0)) / slotsPerPage);
  const slotPages = Math.max(1, needed, opts.slotPages ?? 0);
  const parts: Buffer[] = [];
  const slotArea = Buffer.alloc(slotPages * NDB_PAGE);
  for (let i = 0; i < slotPages * slotsPerPage; i++) slotArea.writeUInt32LE(NDB_SLOT_MAGIC, i * 16);
  slotArea.fill(0, 0, 32);
  slotArea.writeUInt32LE(NDB_HEADER_MAGIC, 0);
  slotArea.writeUInt32LE(0, 4); // version
  slotArea.writeUInt32LE(blobs.length * 2 + slotPages, 8); // generation: bumped per write
  slotArea.writeUInt32LE(slotPages, 12);
  slotArea.writeUInt32LE(blobs.length + 1, 16); // next package index
  parts.push(slotArea);
  let blkoff = (slotPages * NDB_PAGE) / 16;
  let slot = 2;
  const free = new Set(opts.freeSlots ?? []);
  blobs.forEach((blob, i) => {
    while (free.has(slot)) slot++;
    const pkgidx = i + 1;
    const blkcnt = Math.ceil((16 + blob.length + 12) / 16);
    const b = Buffer.alloc(blkcnt * 16);
    b.writeUInt32LE(NDB_BLOB_MAGIC, 0);
    b.writeUInt32LE(pkgidx, 4);
    b.writeUInt32LE(opts.timestamp ?? 1_700_000_000, 8);
    b.writeUInt32LE(blob.length, 12);
    b.set(blob, 16);
    const tail = b.length - 12;
    b.writeUInt32LE(adler32(b.subarray(0, tail)), tail);
    b.writeUInt32LE(blob.length, tail + 4);
    b.writeUInt32LE(NDB_TAIL_MAGIC, tail + 8);
    parts.push(b);
    slotArea.writeUInt32LE(pkgidx, slot * 16 + 4);
    slotArea.writeUInt32LE(blkoff, slot * 16 + 8);
    slotArea.writeUInt32LE(blkcnt, slot * 16 + 12);
    blkoff += blkcnt;
    slot++;
  });
  return Buffer.concat(parts);
}
