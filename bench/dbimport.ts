/**
 * npm run bench:dbimport — `portcullis db import` of 100,000 OSV records (issue 3: < 60 s).
 *
 * The records are generated (seeded, reproducible) in the shapes and sizes the real feeds publish:
 * 40% Debian-style DEBIAN-CVE records (~0.7 KB, several Debian releases), 40% GHSA-style records
 * with details, references, CVSS vectors and several ranges (~2.5 KB), 15% with long `versions`
 * lists (~4 KB), 5% large Go-style records with symbol lists (~20 KB, stored compressed). They are
 * written into a real all.zip (deflate, Zip64 end records), then imported by the real CLI (a child process, so start-up,
 * the zip reader, validation, SQLite and the atomic swap are all counted):
 *
 *   1. fresh import into an empty cache,
 *   2. the same zip again (nothing changed: every record compared, none rewritten),
 *   3. a new zip with 5% of the records modified, 1% withdrawn, 1% gone, 1% new (a daily update).
 *
 * Prints wall time, records per second and peak RSS for each, and the DB size. No reference tool
 * imports OSV zips into a local DB (Trivy has no OSV import; osv-scanner reads the zips at scan
 * time), so there is no ratio column. Env: RECORDS (100000), RUNS (1), ZIPS_ONLY=1 (write the two
 * zips, print their paths and stop: for profiling the import by hand).
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { MAIN, NODE, measure, median, table } from './lib.ts';

const N = Number(process.env['RECORDS'] ?? 100_000);
const RUNS = Number(process.env['RUNS'] ?? 1);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const r = rng(7);
const int = (n: number): number => Math.floor(r() * n);
const words = 'buffer overflow in the parser allows remote attackers to cause a denial of service or execute arbitrary code via a crafted request header when compression is enabled and the server'.split(' ');
const text = (n: number): string => Array.from({ length: n }, () => words[int(words.length)]).join(' ');

function record(i: number, modified: string): Record<string, unknown> {
  const kind = i % 20;
  const cve = `CVE-${2015 + (i % 10)}-${10000 + i}`;
  if (kind < 8) {
    const src = `srcpkg${i % 4000}`;
    return {
      id: `DEBIAN-${cve}`,
      modified,
      published: '2024-01-01T00:00:00Z',
      upstream: [cve],
      details: text(25),
      affected: ['11', '12', '13'].map((rel) => ({
        package: { ecosystem: `Debian:${rel}`, name: src, purl: `pkg:deb/debian/${src}?arch=source` },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: `${1 + int(5)}.${int(20)}-${1 + int(4)}+deb${rel}u${1 + int(3)}` }] }],
        ecosystem_specific: { urgency: 'not yet assigned' },
      })),
      schema_version: '1.6.0',
    };
  }
  const eco = ['npm', 'PyPI', 'Maven', 'Go', 'RubyGems', 'NuGet'][i % 6]!;
  const name = eco === 'Maven' ? `org.example.group${i % 900}:artifact${i % 3000}` : eco === 'Go' ? `github.com/example/mod${i % 3000}` : `package-${i % 5000}`;
  const maj = int(6);
  const rec: Record<string, unknown> = {
    id: `GHSA-${(i * 7919).toString(36).padStart(4, '0')}-${(i * 104729).toString(36).slice(-4).padStart(4, '0')}-${i.toString(36).padStart(4, 'x')}`,
    modified,
    published: '2023-06-01T00:00:00Z',
    aliases: [cve],
    summary: text(8),
    details: text(kind < 16 ? 250 : 120),
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
    affected: [
      {
        package: { ecosystem: eco, name },
        ranges: [{ type: eco === 'npm' || eco === 'Go' ? 'SEMVER' : 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: `${maj}.${int(10)}.${int(10)}` }, { introduced: `${maj + 1}.0.0` }, { fixed: `${maj + 1}.${int(5)}.1` }] }],
        database_specific: { source: `https://example.invalid/advisories/${i}.json` },
      },
    ],
    references: Array.from({ length: 4 + int(6) }, (_, k) => ({ type: k === 0 ? 'ADVISORY' : 'WEB', url: `https://example.invalid/${eco}/${i}/ref/${k}` })),
    database_specific: { severity: 'HIGH', cwe_ids: ['CWE-79'], github_reviewed: true },
  };
  const aff = (rec['affected'] as Record<string, unknown>[])[0]!;
  if (kind >= 16 && kind < 19) aff['versions'] = Array.from({ length: 120 + int(80) }, (_, k) => `${Math.floor(k / 30)}.${Math.floor(k / 6) % 5}.${k % 6}`);
  if (kind === 19) aff['ecosystem_specific'] = { imports: Array.from({ length: 40 }, (_, k) => ({ path: `${name}/internal/pkg${k}`, symbols: Array.from({ length: 12 }, (_, j) => `Symbol${k}_${j}WithALongName`) })) };
  return rec;
}

/**
 * A streaming zip writer for the generated archive (deflated entries, Zip64 end records past 65,535
 * entries, as Python's zipfile writes OSV's all.zip). yazl, used by the tests, keeps every entry in
 * memory and compresses them all at once, which does not scale to 100,000 entries.
 */
function zipWriter(path: string): { add(name: string, data: Buffer): void; end(): void } {
  const fd = openSync(path, 'w');
  let offset = 0;
  const central: Buffer[] = [];
  const write = (b: Buffer): void => {
    writeSync(fd, b);
    offset += b.length;
  };
  return {
    add(name, data) {
      const deflated = deflateRawSync(data, { level: 6 });
      const crc = crc32(data) >>> 0;
      const n = Buffer.from(name);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(0x0800, 6);
      local.writeUInt16LE(8, 8);
      local.writeUInt16LE(0, 10);
      local.writeUInt16LE(0x5821, 12); // 2024-01-01
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(deflated.length, 18);
      local.writeUInt32LE(data.length, 22);
      local.writeUInt16LE(n.length, 26);
      const cd = Buffer.alloc(46);
      cd.writeUInt32LE(0x02014b50, 0);
      cd.writeUInt16LE(0x0314, 4);
      cd.writeUInt16LE(20, 6);
      cd.writeUInt16LE(0x0800, 8);
      cd.writeUInt16LE(8, 10);
      cd.writeUInt16LE(0x5821, 14);
      cd.writeUInt32LE(crc, 16);
      cd.writeUInt32LE(deflated.length, 20);
      cd.writeUInt32LE(data.length, 24);
      cd.writeUInt16LE(n.length, 28);
      cd.writeUInt32LE(offset, 42);
      central.push(cd, n);
      write(local);
      write(n);
      write(deflated);
    },
    end() {
      const cdStart = offset;
      for (const b of central) write(b);
      const cdSize = offset - cdStart;
      const entries = central.length / 2;
      if (entries > 0xffff) {
        const z = Buffer.alloc(56);
        z.writeUInt32LE(0x06064b50, 0);
        z.writeBigUInt64LE(44n, 4);
        z.writeUInt16LE(45, 12);
        z.writeUInt16LE(45, 14);
        z.writeBigUInt64LE(BigInt(entries), 24);
        z.writeBigUInt64LE(BigInt(entries), 32);
        z.writeBigUInt64LE(BigInt(cdSize), 40);
        z.writeBigUInt64LE(BigInt(cdStart), 48);
        const at = offset;
        write(z);
        const loc = Buffer.alloc(20);
        loc.writeUInt32LE(0x07064b50, 0);
        loc.writeBigUInt64LE(BigInt(at), 8);
        loc.writeUInt32LE(1, 16);
        write(loc);
      }
      const e = Buffer.alloc(22);
      e.writeUInt32LE(0x06054b50, 0);
      e.writeUInt16LE(Math.min(entries, 0xffff), 8);
      e.writeUInt16LE(Math.min(entries, 0xffff), 10);
      e.writeUInt32LE(cdSize, 12);
      e.writeUInt32LE(cdStart, 16);
      write(e);
      closeSync(fd);
    },
  };
}

function writeZip(path: string, ids: number[], modifiedOf: (i: number) => string, withdrawnOf: (i: number) => boolean): number {
  const zip = zipWriter(path);
  let bytes = 0;
  for (const i of ids) {
    const rec = record(i, modifiedOf(i));
    if (withdrawnOf(i)) rec['withdrawn'] = '2024-07-01T00:00:00Z';
    const buf = Buffer.from(JSON.stringify(rec, null, 2));
    bytes += buf.length;
    zip.add(`${String(rec['id'])}.json`, buf);
  }
  zip.end();
  return bytes;
}

const work = mkdtempSync(join(tmpdir(), 'bench-dbimport-'));
try {
  process.stderr.write(`generating ${N} OSV records into a zip…\n`);
  const t0 = performance.now();
  const all = Array.from({ length: N }, (_, i) => i);
  const zip1 = join(work, 'v1', 'all.zip');
  mkdirSync(join(work, 'v1'));
  mkdirSync(join(work, 'v2'));
  const jsonBytes = writeZip(zip1, all, () => '2024-06-01T00:00:00Z', () => false);
  // the next day: 5% modified, 1% withdrawn, 1% gone, 1% new
  const gone = new Set(all.filter((i) => i % 100 === 7));
  const ids2 = [...all.filter((i) => !gone.has(i)), ...Array.from({ length: N / 100 }, (_, k) => N + k)];
  const zip2 = join(work, 'v2', 'all.zip');
  writeZip(zip2, ids2, (i) => (i % 20 === 3 ? '2024-06-02T00:00:00Z' : '2024-06-01T00:00:00Z'), (i) => i % 100 === 11);
  if (process.env['ZIPS_ONLY']) {
    process.stdout.write(`${zip1}\n${zip2}\n`);
    process.exit(0);
  }
  process.stderr.write(`zips written in ${((performance.now() - t0) / 1000).toFixed(1)} s (${(statSync(zip1).size / 1e6).toFixed(1)} MB zip, ${(jsonBytes / 1e6).toFixed(0)} MB JSON)\n`);

  const rows: (string | number)[][] = [];
  const fresh: number[] = [];
  const again: number[] = [];
  const daily: number[] = [];
  const rss: number[][] = [[], [], []];
  let dbBytes = 0;
  for (let run = 0; run < RUNS; run++) {
    const cache = join(work, `cache${run}`);
    const imp = (zip: string): ReturnType<typeof measure> => measure(NODE, [MAIN, '--cache-dir', cache, '--quiet', 'db', 'import', zip]);
    for (const [i, zip, list] of [
      [0, zip1, fresh],
      [1, zip1, again],
      [2, zip2, daily],
    ] as const) {
      const m = imp(zip);
      if (!m.ok) throw new Error(`db import failed: ${m.stderr}`);
      list.push(m.wallS);
      rss[i]!.push(m.rssMb);
    }
    dbBytes = statSync(join(cache, 'db', 'osv.sqlite')).size;
    rmSync(cache, { recursive: true, force: true });
  }
  rows.push([`fresh import, ${N} records`, median(fresh), N / median(fresh), median(rss[0]!)]);
  rows.push(['same zip again (no change)', median(again), N / median(again), median(rss[1]!)]);
  rows.push([`daily update (5% modified, 1% withdrawn/gone/new)`, median(daily), ids2.length / median(daily), median(rss[2]!)]);
  process.stdout.write(`${table(['portcullis db import', 'wall s', 'records/s', 'peak RSS MB'], rows)}\n`);
  process.stdout.write(`DB size: ${(dbBytes / 1e6).toFixed(0)} MB for ${N} records (${(jsonBytes / 1e6).toFixed(0)} MB of JSON)\n`);
  process.stdout.write(`target < 60 s for 100,000 records: ${median(fresh) * (100_000 / N) < 60 ? 'met' : 'NOT met'}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
