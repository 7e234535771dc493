/**
 * `db import` and `db export` on real files: malformed records skipped, counted and named; damaged
 * or hostile zips refused with the DB untouched; the change log of a re-import; bundles round-trip;
 * the writer lock.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { matchOsv } from '../../src/scan/match-osv.ts';
import { ScannerError, UserError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/log.ts';
import { exportDb, importIntoDb } from '../../src/vulndb/import.ts';
import { openOsvStore, osvDbPath } from '../../src/vulndb/index.ts';
import type { OsvRecord } from '../../src/vulndb/osv-types.ts';
import { dbStatus } from '../../src/vulndb/status.ts';
import { acquireLock } from '../../src/vulndb/sqlite-writer.ts';
import { goldenInventory, goldens, osvFiles, snapshot, tempDir, writeZip, zipBuffer, OSV_DIR } from './vulndb-helpers.ts';

const log = silentLogger;

function rec(id: string, modified: string, extra: Partial<OsvRecord> = {}): string {
  return JSON.stringify({ id, modified, affected: [{ package: { ecosystem: 'npm', name: `pkg-${id.toLowerCase()}` }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.0.0' }] }] }], ...extra });
}

/** Offsets of the central directory entries of a zip (to damage them on purpose). */
function centralEntries(zip: Buffer): number[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let p = zip.readUInt32LE(eocd + 16);
  const n = zip.readUInt16LE(eocd + 10);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(p);
    p += 46 + zip.readUInt16LE(p + 28) + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  return out;
}

describe('db import: OSV zips', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('skips malformed records, counts them and names them (db status shows them)', async () => {
    const cache = join(tmp.path, 'malformed');
    const zip = join(tmp.path, 'bad-records.zip');
    await writeZip(zip, [
      ...osvFiles('npm'),
      ['broken.json', '{"id": "GHSA-xxxx", "modified": '],
      ['wrong-shape.json', JSON.stringify({ id: 'GHSA-bad1-bad1-bad1', modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'x' }, ranges: [{ type: 'SEMVER', events: [{ fixed: 1 }] }] }] })],
      ['no-id.json', JSON.stringify({ modified: '2024-01-01T00:00:00Z' })],
      ['README.txt', 'not a record, not counted'],
    ]);
    const r = await importIntoDb([zip], { cacheDir: cache, logger: log });
    assert.equal(r.failed, 0);
    assert.equal(r.outcomes[0]?.change?.records, 5);
    assert.equal(r.outcomes[0]?.change?.malformed, 3);
    const st = dbStatus(cache);
    assert.ok(st.osv);
    assert.equal(st.osv.advisories, 5);
    assert.equal(st.osv.malformed, 3);
    const sample = st.osv.sources[0]!.malformedSample;
    assert.deepEqual(sample.map((m) => m.name), ['broken.json', 'GHSA-bad1-bad1-bad1', 'no-id.json']);
    assert.match(sample[0]!.reason, /not valid JSON/);
    assert.equal(sample[1]!.reason, 'affected[0].ranges[0].events[0].fixed: not a string');
    assert.equal(sample[2]!.reason, 'id: missing or not a string');
  });

  it('a truncated zip, a damaged entry, a lying size or overlapping entries are refused and the DB is untouched', async () => {
    const cache = join(tmp.path, 'damage');
    await importIntoDb([join(OSV_DIR, 'PyPI'), join(OSV_DIR, 'Go')], { cacheDir: cache, logger: log });
    const before = snapshot(cache);
    const good = await zipBuffer(osvFiles('npm'));
    const cases: [string, Buffer, RegExp][] = [];
    cases.push(['truncated', good.subarray(0, Math.floor(good.length * 0.6)), /not a usable zip archive/]);
    const flipped = Buffer.from(good);
    flipped[60] = flipped[60]! ^ 0xff; // inside the first entry's deflate data
    cases.push(['flipped byte', flipped, /not a usable zip archive|CRC/]);
    const lying = Buffer.from(good);
    const cd = centralEntries(lying);
    lying.writeUInt32LE(10, cd[0]! + 24); // says 10 bytes uncompressed: inflating gives more
    cases.push(['lying size', lying, /not a usable zip archive/]);
    const overlap = Buffer.from(good);
    const cd2 = centralEntries(overlap);
    overlap.writeUInt32LE(overlap.readUInt32LE(cd2[0]! + 42), cd2[1]! + 42); // entry 2 → entry 1's data
    cases.push(['overlapping', overlap, /overlaps/]);
    cases.push(['not a zip at all', Buffer.from('PK\x03\x04 garbage garbage garbage'), /not a usable zip archive/]);
    for (const [what, bytes, re] of cases) {
      const p = join(tmp.path, `${what.replace(/ /g, '-')}.zip`);
      writeFileSync(p, bytes);
      await assert.rejects(importIntoDb([p], { cacheDir: cache, logger: log }), (e: unknown) => e instanceof ScannerError && re.test(e.message) && !e.message.includes('\n'), what);
      assert.equal(snapshot(cache), before, `${what}: the DB changed`);
    }
    assert.deepEqual(readdirSync(join(cache, 'db')).sort(), ['osv.sqlite'], 'no temp file or lock left behind');
  });

  it('entry size and count limits stop a zip bomb before inflating it', async () => {
    const cache = join(tmp.path, 'limits');
    const p = join(tmp.path, 'bomb.zip');
    await writeZip(p, [['big.json', rec('GHSA-big1-big1-big1', '2024-01-01T00:00:00Z', { details: 'A'.repeat(200_000) })]]);
    assert.ok(statSync(p).size < 10_000, 'compresses well');
    await assert.rejects(importIntoDb([p], { cacheDir: cache, logger: log, zipLimits: { maxEntryBytes: 100_000 } }), (e: unknown) => e instanceof ScannerError && e.code === 'OSV_ZIP_LIMIT' && /limit 100000/.test(e.message));
    await assert.rejects(importIntoDb([p], { cacheDir: cache, logger: log, zipLimits: { maxTotalBytes: 1000 } }), (e: unknown) => e instanceof ScannerError && e.code === 'OSV_ZIP_LIMIT');
    const many = join(tmp.path, 'many.zip');
    await writeZip(many, osvFiles('npm'));
    await assert.rejects(importIntoDb([many], { cacheDir: cache, logger: log, zipLimits: { maxEntries: 3 } }), (e: unknown) => e instanceof ScannerError && /5 entries \(limit 3\)/.test(e.message));
    assert.equal(existsSync(osvDbPath(cache)), false);
  });

  it('re-importing a changed feed records added / modified / withdrawn / removed ids; unchanged → no changes', async () => {
    const cache = join(tmp.path, 'changes');
    const v1 = join(tmp.path, 'v1', 'npm', 'all.zip');
    const v2 = join(tmp.path, 'v2', 'npm', 'all.zip');
    mkdirSync(join(tmp.path, 'v1', 'npm'), { recursive: true });
    mkdirSync(join(tmp.path, 'v2', 'npm'), { recursive: true });
    const d = '2024-01-01T00:00:00Z';
    await writeZip(v1, [['A.json', rec('GHSA-aaaa-aaaa-aaaa', d)], ['B.json', rec('GHSA-bbbb-bbbb-bbbb', d)], ['C.json', rec('GHSA-cccc-cccc-cccc', d)], ['D.json', rec('GHSA-dddd-dddd-dddd', d)]]);
    const r1 = await importIntoDb([v1], { cacheDir: cache, logger: log });
    assert.equal(r1.outcomes[0]?.sourceId, 'osv:npm');
    assert.equal(r1.outcomes[0]?.change?.added, 4);
    await writeZip(v2, [
      ['A.json', rec('GHSA-aaaa-aaaa-aaaa', d)],
      ['B.json', rec('GHSA-bbbb-bbbb-bbbb', '2024-02-01T00:00:00Z', { summary: 'now with a summary' })],
      ['C.json', rec('GHSA-cccc-cccc-cccc', '2024-02-01T00:00:00Z', { withdrawn: '2024-02-01T00:00:00Z' })],
      ['E.json', rec('GHSA-eeee-eeee-eeee', d)],
    ]);
    const r2 = await importIntoDb([v2], { cacheDir: cache, logger: log });
    assert.deepEqual(
      { added: r2.outcomes[0]?.change?.added, modified: r2.outcomes[0]?.change?.modified, withdrawn: r2.outcomes[0]?.change?.withdrawn, removed: r2.outcomes[0]?.change?.removed },
      { added: 1, modified: 1, withdrawn: 1, removed: 1 },
    );
    const s = openOsvStore(cache)!;
    try {
      assert.deepEqual(
        s.changes().map((c) => `${c.change} ${c.advisoryId}`),
        ['added GHSA-eeee-eeee-eeee', 'modified GHSA-bbbb-bbbb-bbbb', 'removed GHSA-dddd-dddd-dddd', 'withdrawn GHSA-cccc-cccc-cccc'],
      );
      assert.deepEqual(s.forPackage('npm', 'pkg-ghsa-cccc-cccc-cccc'), [], 'withdrawn never matches');
      assert.deepEqual(s.forPackage('npm', 'pkg-ghsa-dddd-dddd-dddd'), [], 'removed is gone');
      assert.equal(s.get('GHSA-cccc-cccc-cccc')?.withdrawn, '2024-02-01T00:00:00Z', 'but the withdrawn record is kept');
      assert.equal(s.forPackage('npm', 'pkg-ghsa-bbbb-bbbb-bbbb')[0]?.summary, 'now with a summary');
      assert.deepEqual(s.counts(), { advisories: 3, withdrawn: 1, cveSeverities: 0 });
      assert.equal(s.updates().length, 2);
    } finally {
      s.close();
    }
    const r3 = await importIntoDb([v2], { cacheDir: cache, logger: log });
    const c3 = r3.outcomes[0]?.change;
    assert.deepEqual([c3?.added, c3?.modified, c3?.withdrawn, c3?.removed], [0, 0, 0, 0]);
  });

  it('a feed with no valid record never empties a source', async () => {
    const cache = join(tmp.path, 'empty');
    const dir = join(tmp.path, 'e', 'npm');
    mkdirSync(dir, { recursive: true });
    await writeZip(join(dir, 'all.zip'), osvFiles('npm'));
    await importIntoDb([join(dir, 'all.zip')], { cacheDir: cache, logger: log });
    const before = snapshot(cache);
    await writeZip(join(dir, 'all.zip'), [['x.json', '{"not": "osv"}']]);
    await assert.rejects(importIntoDb([join(dir, 'all.zip')], { cacheDir: cache, logger: log }), (e: unknown) => e instanceof ScannerError && e.code === 'OSV_FEED_EMPTY' && /keeping the 5 records/.test(e.message));
    assert.equal(snapshot(cache), before);
  });

  it('several inputs: a bad one fails alone, the good ones go in', async () => {
    const cache = join(tmp.path, 'partial');
    const bad = join(tmp.path, 'partial-bad.zip');
    writeFileSync(bad, (await zipBuffer(osvFiles('Debian'))).subarray(0, 100));
    const r = await importIntoDb([join(OSV_DIR, 'npm'), bad], { cacheDir: cache, logger: log });
    assert.equal(r.failed, 1);
    assert.equal(r.swapped, true);
    assert.deepEqual(r.outcomes.map((o) => o.status), ['updated', 'failed']);
    const s = openOsvStore(cache)!;
    try {
      assert.equal(s.counts().advisories, 5);
      assert.equal(s.updates(1)[0]?.summary.sources[`file:${bad}`]?.status, 'failed');
    } finally {
      s.close();
    }
  });

  it('refuses what it cannot read with a UserError naming the path', async () => {
    const cache = join(tmp.path, 'unknown');
    const p = join(tmp.path, 'notes.txt');
    writeFileSync(p, 'hello');
    await assert.rejects(importIntoDb([p], { cacheDir: cache, logger: log }), (e: unknown) => e instanceof UserError && e.message.includes(p));
    await assert.rejects(importIntoDb([join(tmp.path, 'missing.zip')], { cacheDir: cache, logger: log }), (e: unknown) => e instanceof UserError && /no such file/.test(e.message));
  });
});

describe('db export / bundle import (air gap)', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('round-trips every source, count, malformed sample and finding (plain, .gz, .zst), checking sha256', async () => {
    const src = join(tmp.path, 'connected');
    const zip = join(tmp.path, 'PyPI', 'all.zip');
    mkdirSync(join(tmp.path, 'PyPI'));
    await writeZip(zip, [...osvFiles('PyPI'), ['junk.json', '[1,2]']]);
    await importIntoDb([zip, join(OSV_DIR, 'Go'), join(OSV_DIR, 'Ubuntu')], { cacheDir: src, logger: log });
    const want = openOsvStore(src)!;
    const wantFindings = goldens().map(([, g]) => matchOsv(goldenInventory(g), want).findings);
    const wantSources = want.sources().map((s) => ({ ...s }));
    const wantCounts = want.counts();
    want.close();
    for (const name of ['bundle.sqlite', 'bundle.sqlite.gz', 'bundle.sqlite.zst']) {
      const file = join(tmp.path, name);
      const e = await exportDb(src, file, { logger: log });
      assert.equal(e.sha256, createHash('sha256').update(readFileSync(file)).digest('hex'));
      assert.equal(e.compression, name.endsWith('.gz') ? 'gzip' : name.endsWith('.zst') ? 'zstd' : 'none');
      const dst = join(tmp.path, `airgap-${name}`);
      const r = await importIntoDb([file], { cacheDir: dst, logger: log, sha256: e.sha256 });
      assert.equal(r.failed, 0);
      const got = openOsvStore(dst)!;
      try {
        assert.deepEqual(got.counts(), wantCounts);
        assert.deepEqual(got.sources(), wantSources);
        assert.deepEqual(goldens().map(([, g]) => matchOsv(goldenInventory(g), got).findings), wantFindings);
      } finally {
        got.close();
      }
    }
    assert.deepEqual(readdirSync(tmp.path).filter((n) => n.startsWith('.')), [], 'no temp files beside the bundles');
  });

  it('a wrong sha256 or a damaged bundle is refused and nothing is imported', async () => {
    const src = join(tmp.path, 'src2');
    await importIntoDb([join(OSV_DIR, 'npm')], { cacheDir: src, logger: log });
    const file = join(tmp.path, 'b2.sqlite.zst');
    const e = await exportDb(src, file, { logger: log });
    const dst = join(tmp.path, 'dst2');
    await importIntoDb([join(OSV_DIR, 'Debian')], { cacheDir: dst, logger: log });
    const before = snapshot(dst);
    await assert.rejects(importIntoDb([file], { cacheDir: dst, logger: log, sha256: e.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0')) }), (x: unknown) => x instanceof ScannerError && x.code === 'IMPORT_CHECKSUM');
    truncateSync(file, Math.floor(e.bytes / 2));
    await assert.rejects(importIntoDb([file], { cacheDir: dst, logger: log }), (x: unknown) => x instanceof ScannerError && /not valid zstd data|not a usable Portcullis advisory DB bundle/.test(x.message));
    const plain = join(tmp.path, 'b3.sqlite');
    const e3 = await exportDb(src, plain, { logger: log });
    truncateSync(plain, Math.floor(e3.bytes / 2));
    await assert.rejects(importIntoDb([plain], { cacheDir: dst, logger: log }), (x: unknown) => x instanceof ScannerError && x.code === 'BUNDLE_INVALID' && !x.message.includes('\n'));
    assert.equal(snapshot(dst), before);
  });

  it('export never leaves a half-written FILE: a DB that cannot be read leaves an existing FILE as it was', async () => {
    const src = join(tmp.path, 'broken');
    mkdirSync(join(src, 'db'), { recursive: true });
    writeFileSync(osvDbPath(src), 'x'.repeat(5000));
    const file = join(tmp.path, 'keep.sqlite');
    writeFileSync(file, 'previous bundle');
    await assert.rejects(exportDb(src, file, { logger: log }), (e: unknown) => e instanceof ScannerError && e.code === 'VULNDB_CORRUPT');
    assert.equal(readFileSync(file, 'utf8'), 'previous bundle');
    await assert.rejects(exportDb(join(tmp.path, 'nothing'), file, { logger: log }), (e: unknown) => e instanceof UserError && /db update/.test(e.message));
    await assert.rejects(exportDb(src, tmp.path, { logger: log }), UserError);
  });
});

describe('one writer at a time', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  it('a lock held by a running process is refused; a stale one is taken over', async () => {
    const cache = join(tmp.path, 'c');
    mkdirSync(join(cache, 'db'), { recursive: true });
    writeFileSync(`${osvDbPath(cache)}.lock`, String(process.ppid));
    await assert.rejects(importIntoDb([join(OSV_DIR, 'npm')], { cacheDir: cache, logger: log }), (e: unknown) => e instanceof UserError && e.code === 'VULNDB_LOCKED');
    writeFileSync(`${osvDbPath(cache)}.lock`, '2147483000');
    const r = await importIntoDb([join(OSV_DIR, 'npm')], { cacheDir: cache, logger: log });
    assert.equal(r.swapped, true);
    assert.equal(existsSync(`${osvDbPath(cache)}.lock`), false);
    const release = acquireLock(osvDbPath(cache));
    release();
  });
});
