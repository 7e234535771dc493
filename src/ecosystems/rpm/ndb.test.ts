import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { adler32, readNdbBlobs } from './ndb.ts';
import { writeNdb } from './testdata/ndb-writer.ts';

describe('NDB', () => {
  it('adler32 equals the checksum zlib writes (RFC 1950 trailer), across the 5552-byte block boundary', () => {
    for (const n of [0, 1, 100, 5551, 5552, 5553, 70_000]) {
      const data = randomBytes(n);
      const z = deflateSync(data);
      assert.equal(adler32(data), z.readUInt32BE(z.length - 4), `length ${n}`);
    }
  });

  it('a blob whose checksum does not match is skipped and reported, the others are kept', () => {
    const blobs = [Buffer.from('first header blob, 24+ bytes long....'), Buffer.from('second header blob, also long enough')];
    const db = writeNdb(blobs);
    db.writeUInt8(db.readUInt8(4096 + 20) ^ 0xff, 4096 + 20); // inside the first blob's payload
    const { blobs: got, problems } = readNdbBlobs(db);
    assert.deepEqual(got.map((b) => Buffer.from(b.blob).toString()), [blobs[1]?.toString()]);
    assert.deepEqual(problems, ['package 1: blob checksum mismatch']);
  });

  it('free slots (blkoff 0) are skipped; a slot pointing into the slot pages is refused', () => {
    const db = writeNdb([Buffer.from('x'.repeat(40))], { freeSlots: [2, 3] });
    assert.equal(readNdbBlobs(db).blobs.length, 1);
    const bad = Buffer.from(db);
    bad.writeUInt32LE(1, 4 * 16 + 8); // the used slot (#4) now points at block 1, inside the header page
    assert.throws(() => readNdbBlobs(bad), /bad slot for package 1/);
  });
});
