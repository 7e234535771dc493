/**
 * The SQLite OSV store, built by the real importer from the shared OSV records (as a directory and
 * as real zips), gives exactly the golden matches and the same findings as the MemoryStore; NVD
 * severities fill in for records without their own; bad files fail with the command that fixes them.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { lookupKey, matchOsv, matchPackageVersion } from '../../src/scan/match-osv.ts';
import { silentLogger } from '../../src/shared/log.ts';
import { ScannerError } from '../../src/shared/errors.ts';
import { comparatorFor } from '../../src/versions/index.ts';
import { importIntoDb } from '../../src/vulndb/import.ts';
import { openOsvStore, osvDbPath } from '../../src/vulndb/index.ts';
import { asOsvRecord, MemoryStore } from '../../src/vulndb/memory-store.ts';
import type { OsvRecord } from '../../src/vulndb/osv-types.ts';
import { SqliteStore } from '../../src/vulndb/sqlite-store.ts';
import { goldenInventory, goldens, osvFiles, tempDir, writeZip, OSV_DIR } from './vulndb-helpers.ts';

const log = silentLogger;

function memoryStore(): MemoryStore {
  const recs: OsvRecord[] = [];
  for (const [, data] of osvFiles()) {
    const r = asOsvRecord(JSON.parse(data.toString('utf8')));
    if (r) recs.push(r);
  }
  return new MemoryStore(recs);
}

function rawMatches(store: SqliteStore | MemoryStore, file: string): string[] {
  const g = goldens().find(([f]) => f === file)![1];
  const inv = goldenInventory(g);
  const got: string[] = [];
  for (const p of inv.packages) {
    const key = lookupKey(p, inv.os);
    if (!key) continue;
    const cmp = comparatorFor(key.ecosystem);
    assert.ok(cmp, key.ecosystem);
    for (const m of matchPackageVersion(store, key.ecosystem, key.name, key.version, cmp)) got.push(JSON.stringify([p.name, m.matchName, key.version, m.record.id, m.ecosystem]));
  }
  return [...new Set(got)].sort();
}

describe('SQLite store built from the shared OSV records (directory import)', () => {
  const tmp = tempDir();
  let store: SqliteStore;
  const mem = memoryStore();
  before(async () => {
    const r = await importIntoDb([OSV_DIR], { cacheDir: tmp.path, logger: log });
    assert.equal(r.swapped, true);
    store = openOsvStore(tmp.path)!;
    assert.ok(store);
  });
  after(() => {
    store?.close();
    tmp.cleanup();
  });

  for (const [file, g] of goldens()) {
    it(`gives the golden matches of ${file}, and the MemoryStore's findings`, () => {
      const want = [...new Set(g.matches.map((m) => JSON.stringify([m.package, m.match_name, m.version, m.osv_id, m.ecosystem])))].sort();
      assert.deepEqual(rawMatches(store, file), want);
      const inv = goldenInventory(g);
      assert.deepEqual(matchOsv(inv, store), matchOsv(inv, mem));
      const { findings } = matchOsv(inv, store);
      for (const m of g.matches) {
        const f = findings.find((x) => x.package.name === m.package && (x.advisoryId === m.osv_id || x.aliases.includes(m.osv_id)));
        assert.ok(f, `${m.package} ${m.osv_id} missing`);
      }
    });
  }

  it('holds every valid record, counts the malformed ones and names them', () => {
    const valid = osvFiles().filter(([, d]) => asOsvRecord(JSON.parse(d.toString('utf8'))) !== undefined).length;
    assert.equal(store.counts().advisories, valid);
    const [src] = store.sources();
    assert.ok(src);
    assert.equal(src.records, valid);
    // the two _schema files are JSON but not OSV records
    assert.equal(src.malformed, 2);
    assert.deepEqual(src.malformedSample.map((m) => m.name).sort(), ['_schema/ecosystems.json', '_schema/osv-schema.json']);
  });

  it('indexes by the exact ecosystem string and the normalised name (PEP 503, npm case)', () => {
    assert.deepEqual(store.forPackage('PyPI', 'SetupTools').map((r) => r.id), store.forPackage('PyPI', 'setuptools').map((r) => r.id));
    assert.ok(store.forPackage('PyPI', 'setuptools').length > 0);
    assert.deepEqual(store.forPackage('Ubuntu:18.04:LTS', 'apt').map((r) => r.id), ['USN-3863-1']);
    assert.deepEqual(store.forPackage('Ubuntu', 'apt'), []);
    assert.deepEqual(store.forPackage('NoSuchEcosystem', 'apt'), []);
  });

  it('finds records by id and alias', () => {
    assert.deepEqual(store.byAlias('CVE-2022-40897').map((r) => r.id), ['PYSEC-2022-43012']);
    assert.equal(store.get('PYSEC-2022-43012')?.aliases?.[0], 'CVE-2022-40897');
    assert.equal(store.get('NOPE'), undefined);
  });

  it('reports itself as the osv source with build dates', () => {
    const i = store.info();
    assert.equal(i.source, 'osv');
    assert.ok(i.builtAt && Number.isFinite(Date.parse(i.builtAt)));
  });
});

describe('SQLite store built from real zips (one all.zip per ecosystem, mirror layout)', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  it('gives the same findings as the directory import for every golden inventory', async () => {
    const mirror = join(tmp.path, 'mirror');
    for (const eco of ['PyPI', 'Go', 'Maven', 'npm', 'Debian', 'Ubuntu', 'Alpine']) {
      mkdirSync(join(mirror, eco), { recursive: true });
      await writeZip(join(mirror, eco, 'all.zip'), osvFiles(eco));
    }
    const cache = join(tmp.path, 'cache');
    const r = await importIntoDb([mirror], { cacheDir: cache, logger: log });
    assert.deepEqual(r.outcomes.map((o) => o.sourceId).sort(), ['osv:Alpine', 'osv:Debian', 'osv:Go', 'osv:Maven', 'osv:PyPI', 'osv:Ubuntu', 'osv:npm']);
    const store = openOsvStore(cache)!;
    const mem = memoryStore();
    try {
      for (const [file, g] of goldens()) {
        const inv = goldenInventory(g);
        assert.deepEqual(matchOsv(inv, store).findings, matchOsv(inv, mem).findings, file);
      }
    } finally {
      store.close();
    }
  });
});

describe('NVD severities', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const feed = {
    resultsPerPage: 2,
    startIndex: 0,
    totalResults: 2,
    format: 'NVD_CVE',
    version: '2.0',
    timestamp: '2024-06-01T00:00:00.000',
    vulnerabilities: [
      {
        cve: {
          id: 'CVE-2022-40897',
          sourceIdentifier: 'cve@mitre.org',
          published: '2022-12-23T00:15:13.987',
          lastModified: '2024-06-01T10:00:00.000',
          vulnStatus: 'Modified',
          descriptions: [{ lang: 'en', value: 'setuptools ReDoS {with "braces" and \\ escapes]' }],
          metrics: {
            cvssMetricV31: [
              { source: 'cna@example.org', type: 'Secondary', cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8, baseSeverity: 'CRITICAL' } },
              { source: 'nvd@nist.gov', type: 'Primary', cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H', baseScore: 5.9, baseSeverity: 'MEDIUM' }, exploitabilityScore: 2.2, impactScore: 3.6 },
            ],
            cvssMetricV2: [{ source: 'nvd@nist.gov', type: 'Primary', cvssData: { version: '2.0', vectorString: 'AV:N/AC:L/Au:N/C:N/I:N/A:P', baseScore: 5.0 }, baseSeverity: 'MEDIUM' }],
          },
        },
      },
      {
        cve: {
          id: 'CVE-2020-99999',
          lastModified: '2024-01-01T00:00:00.000',
          metrics: { cvssMetricV2: [{ source: 'nvd@nist.gov', type: 'Primary', cvssData: { version: '2.0', vectorString: 'AV:N/AC:L/Au:N/C:C/I:C/A:C', baseScore: 10 }, baseSeverity: 'HIGH' }] },
        },
      },
      { cve: { id: 'CVE-2021-00001', lastModified: '2024-01-01T00:00:00.000', vulnStatus: 'Rejected', metrics: {} } },
    ],
  };

  it('a record with no severity of its own takes its CVE alias from an NVD feed (gzip), NVD Primary v3.1 first', async () => {
    const cache = join(tmp.path, 'c1');
    await importIntoDb([join(OSV_DIR, 'PyPI')], { cacheDir: cache, logger: log });
    const g = goldens().find(([f]) => f.includes('setuptools'))![1];
    const inv = goldenInventory(g);
    let s = openOsvStore(cache)!;
    const before = matchOsv(inv, s).findings.find((f) => f.aliases.includes('PYSEC-2022-43012') || f.advisoryId === 'PYSEC-2022-43012');
    s.close();
    assert.ok(before);
    assert.equal(before.severity, 'UNKNOWN');
    assert.equal(before.severitySource, 'none');

    const gz = join(tmp.path, 'nvdcve-2.0-2022.json.gz');
    writeFileSync(gz, gzipSync(JSON.stringify(feed, null, 2)));
    const r = await importIntoDb([gz], { cacheDir: cache, logger: log });
    assert.equal(r.outcomes[0]?.kind, 'nvd');
    assert.equal(r.outcomes[0]?.change?.added, 2);
    s = openOsvStore(cache)!;
    try {
      assert.deepEqual(s.cveSeverity('CVE-2022-40897'), { severity: 'MEDIUM', source: 'nvd', score: 5.9, vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H' });
      assert.deepEqual(s.cveSeverity('CVE-2020-99999'), { severity: 'HIGH', source: 'nvd', score: 10, vector: 'AV:N/AC:L/Au:N/C:C/I:C/A:C' });
      assert.equal(s.cveSeverity('CVE-2021-00001'), undefined);
      const f = matchOsv(inv, s).findings.find((x) => x.advisoryId === before.advisoryId);
      assert.ok(f);
      assert.equal(f.severity, 'MEDIUM');
      assert.equal(f.severitySource, 'nvd');
      assert.equal(f.score, 5.9);
      assert.equal(s.counts().cveSeverities, 2);
    } finally {
      s.close();
    }
  });

  it('an older NVD entry never replaces a newer one', async () => {
    const cache = join(tmp.path, 'c2');
    const p = join(tmp.path, 'new.json');
    writeFileSync(p, JSON.stringify(feed));
    await importIntoDb([p], { cacheDir: cache, logger: log });
    const old = structuredClone(feed);
    const m = old.vulnerabilities[0]!.cve.metrics as Record<string, unknown>;
    delete m['cvssMetricV31'];
    old.vulnerabilities[0]!.cve.lastModified = '2023-01-01T00:00:00.000';
    const p2 = join(tmp.path, 'old.json');
    writeFileSync(p2, JSON.stringify(old));
    const r = await importIntoDb([p2], { cacheDir: cache, logger: log });
    assert.equal(r.outcomes[0]?.change?.modified, 0);
    const s = openOsvStore(cache)!;
    try {
      assert.equal(s.cveSeverity('CVE-2022-40897')?.score, 5.9);
    } finally {
      s.close();
    }
  });

  it('a truncated NVD feed is refused and imports nothing', async () => {
    const cache = join(tmp.path, 'c3');
    const p = join(tmp.path, 'cut.json');
    const text = JSON.stringify(feed);
    writeFileSync(p, text.slice(0, Math.floor(text.length / 2)));
    await assert.rejects(importIntoDb([p], { cacheDir: cache, logger: log }), (e: unknown) => e instanceof ScannerError && /truncated|NVD/.test(e.message));
    assert.equal(openOsvStore(cache), undefined);
  });
});

describe('a DB file that cannot be used', () => {
  const tmp = tempDir();
  let good: string;
  before(async () => {
    await importIntoDb([join(OSV_DIR, 'npm')], { cacheDir: join(tmp.path, 'good'), logger: log });
    good = osvDbPath(join(tmp.path, 'good'));
  });
  after(() => tmp.cleanup());

  const expectHint = (fn: () => unknown): void =>
    assert.throws(fn, (e: unknown) => e instanceof ScannerError && e.code === 'VULNDB_CORRUPT' && e.message.includes('portcullis db update') && e.message.includes('db import') && !e.message.includes('\n'));

  it('garbage → VULNDB_CORRUPT naming db update / db import', () => {
    const c = join(tmp.path, 'garbage');
    mkdirSync(join(c, 'db'), { recursive: true });
    writeFileSync(osvDbPath(c), 'this is not a database at all, just text that is long enough '.repeat(100));
    expectHint(() => openOsvStore(c));
  });

  it('a truncated copy → VULNDB_CORRUPT (caught at open, not mid-scan)', () => {
    const c = join(tmp.path, 'trunc');
    mkdirSync(join(c, 'db'), { recursive: true });
    copyFileSync(good, osvDbPath(c));
    truncateSync(osvDbPath(c), Math.floor(statSync(good).size / 2));
    expectHint(() => openOsvStore(c));
  });

  it('an SQLite file of something else, or another schema version → VULNDB_CORRUPT', () => {
    const c = join(tmp.path, 'other');
    mkdirSync(join(c, 'db'), { recursive: true });
    const db = new DatabaseSync(osvDbPath(c));
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    db.close();
    expectHint(() => openOsvStore(c));
    const c2 = join(tmp.path, 'v99');
    mkdirSync(join(c2, 'db'), { recursive: true });
    copyFileSync(good, osvDbPath(c2));
    const w = new DatabaseSync(osvDbPath(c2));
    w.exec("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    w.close();
    expectHint(() => openOsvStore(c2));
  });

  it('a missing DB is undefined (the scan entry point then says to run db update)', () => {
    assert.equal(openOsvStore(join(tmp.path, 'none')), undefined);
  });

  it('a store knows when a newer DB was swapped in', async () => {
    const c = join(tmp.path, 'swap');
    await importIntoDb([join(OSV_DIR, 'npm')], { cacheDir: c, logger: log });
    const s = openOsvStore(c)!;
    assert.equal(s.isCurrent(), true);
    await importIntoDb([join(OSV_DIR, 'Debian')], { cacheDir: c, logger: log });
    assert.equal(s.isCurrent(), false);
    // the old handle still answers from the file it opened
    assert.ok(s.forPackage('npm', readPkgName()).length > 0);
    s.close();
  });
});

function readPkgName(): string {
  const r = JSON.parse(readFileSync(join(OSV_DIR, 'npm', 'GHSA-3fx5-fwvr-xrjg.json'), 'utf8')) as OsvRecord;
  return r.affected![0]!.package!.name;
}
