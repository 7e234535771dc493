/**
 * Attacker-controlled databases: truncated and bit-flipped rpmdbs and header blobs must end in a
 * clear RpmDbError / RpmHeaderError (or a counted bad header), never a crash or a hang.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryFs } from '../../domain/index.ts';
import { TESTDATA } from '../../../test/helpers/paths.ts';
import { catalogFs } from '../index.ts';
import { RpmDbError, readBdbHashValues } from './bdb.ts';
import { RpmHeaderError, parseRpmHeader } from './header.ts';
import { readRpmDb } from './index.ts';
import { readSqliteBlobs } from './sqlite.ts';

const MARINER = join(TESTDATA, 'pkgdb/rpm-go-rpmdb-cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite');
const BDB = join(TESTDATA, 'pkgdb/rpm-syft-bdb-dive/var/lib/rpm/Packages');
const NDB = join(import.meta.dirname, 'testdata/ndb-mariner-sysimage/usr/lib/sysimage/rpm/Packages.db');

/** Deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function expectCleanFailureOrResult(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RpmHeaderError || err instanceof RpmDbError, `unexpected ${String(err)}`);
  }
}

describe('rpm header parser on hostile input', () => {
  const blobs = readSqliteBlobs(readFileSync(MARINER)).map((b) => b.blob);
  const blob = blobs.find((b) => parseRpmHeader(b).name === 'curl') ?? blobs[0];
  assert.ok(blob);

  it('every truncation of a real header fails with RpmHeaderError', () => {
    for (let n = 0; n < blob.length; n += n < 512 ? 1 : 97) {
      assert.throws(() => parseRpmHeader(blob.subarray(0, n)), RpmHeaderError, `length ${n}`);
    }
    assert.equal(parseRpmHeader(blob).name, 'curl');
  });

  it('random byte corruption never escapes as anything but RpmHeaderError', () => {
    const r = rng(42);
    for (let i = 0; i < 3000; i++) {
      const b = Uint8Array.from(blob);
      const flips = 1 + Math.floor(r() * 8);
      for (let k = 0; k < flips; k++) b[Math.floor(r() * Math.min(b.length, 8 + 16 * 40))] = Math.floor(r() * 256);
      expectCleanFailureOrResult(() => parseRpmHeader(b));
    }
  });

  it('absurd index counts and data lengths are refused before allocating', () => {
    const b = Buffer.alloc(64);
    b.writeInt32BE(0x7fffffff, 0);
    b.writeInt32BE(16, 4);
    assert.throws(() => parseRpmHeader(b), /bad header index count/);
    b.writeInt32BE(1, 0);
    b.writeInt32BE(-5, 4);
    assert.throws(() => parseRpmHeader(b), /bad header data length/);
  });
});

describe('rpm databases on hostile input', () => {
  for (const [label, path] of [['sqlite', MARINER], ['bdb', BDB], ['ndb', NDB]] as const) {
    it(`${label}: truncations give a clear error or a counted bad header`, () => {
      const full = readFileSync(path);
      const r = rng(7);
      const cuts = [0, 10, 31, 100, 511, 4096, 4097, ...Array.from({ length: 25 }, () => Math.floor(r() * full.length))];
      for (const n of cuts) {
        try {
          const res = readRpmDb(full.subarray(0, n));
          assert.ok(res.headers.length <= 200);
        } catch (err) {
          assert.ok(err instanceof RpmDbError, `cut at ${n}: ${String(err)}`);
          assert.ok(err.message.length > 10);
        }
      }
    });

    it(`${label}: random corruption never crashes`, () => {
      const full = readFileSync(path);
      const r = rng(99);
      for (let i = 0; i < 40; i++) {
        const b = Buffer.from(full);
        for (let k = 0; k < 20; k++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
        try {
          readRpmDb(b);
        } catch (err) {
          assert.ok(err instanceof RpmDbError, String(err));
        }
      }
    });
  }

  it('a BDB overflow chain that loops is refused', () => {
    const b = Buffer.from(readFileSync(BDB));
    const pageSize = b.readUInt32LE(20);
    // every overflow page holds 1 byte and points at itself as the next page
    for (let off = pageSize; off + pageSize <= b.length; off += pageSize) {
      if (b[off + 25] === 7) {
        b.writeUInt32LE(off / pageSize, off + 16);
        b.writeUInt16LE(1, off + 22);
      }
    }
    assert.throws(() => readBdbHashValues(b), RpmDbError);
  });

  it('catalogFs turns an unreadable rpmdb into a note and an incomplete result', async () => {
    const content = readFileSync(MARINER).subarray(0, 5000);
    const fs = new MemoryFs([{ path: 'var/lib/rpm/rpmdb.sqlite', content, mode: 0o100644, size: content.length }]);
    const res = await catalogFs(fs);
    assert.equal(res.complete, false);
    assert.equal(res.packages.length, 0);
    assert.ok(res.notes.some((n) => n.startsWith('rpm: cannot read rpm database var/lib/rpm/rpmdb.sqlite')), res.notes.join('\n'));
  });

  it('a database cut by the size limit is reported, not silently shortened', async () => {
    const full = readFileSync(NDB);
    const fs = new MemoryFs([{ path: 'usr/lib/sysimage/rpm/Packages.db', content: full.subarray(0, 1000), mode: 0o100644, size: full.length }]);
    const res = await catalogFs(fs);
    assert.equal(res.complete, false);
    assert.match(res.notes.join('\n'), /was cut at 1000 of \d+ bytes/);
  });
});
