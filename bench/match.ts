/**
 * npm run bench:match — matching a 2,000-package inventory against a full ecosystem's worth of OSV
 * advisories (issue 3: < 200 ms). Advisories are generated (seeded, reproducible) in the shapes the
 * real feeds publish: 15,000 Debian:12 records over 3,000 source packages (introduced 0 → fixed
 * '<ver>-<rev>+deb12uN', ~15% unfixed, ~30% with a versions[] list of 10–40 versions), 12,000 npm and
 * 8,000 PyPI records (GHSA-style SEMVER/ECOSYSTEM ranges, several introduced/fixed pairs, CVSS v3).
 * The inventory: 1,500 Debian packages (binary → source), 300 npm, 200 PyPI.
 * Runs against the MemoryStore and the SQLite store (the records imported into a real file): cold
 * (open the file + first match, as one `portcullis scan`), with the record cache off, and warm
 * (a server that keeps the store open). The findings must be identical across all of them.
 *
 * Env: RUNS (7).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Inventory, Package } from '../src/domain/index.ts';
import { matchOsv } from '../src/scan/match-osv.ts';
import { MemoryStore } from '../src/vulndb/memory-store.ts';
import type { OsvRecord } from '../src/vulndb/osv-types.ts';
import type { AdvisoryStore } from '../src/vulndb/store.ts';
import { silentLogger } from '../src/shared/log.ts';
import { osvDbPath } from '../src/vulndb/paths.ts';
import { SqliteStore } from '../src/vulndb/sqlite-store.ts';
import { withNewDb } from '../src/vulndb/sqlite-writer.ts';
import { median, table } from './lib.ts';

const RUNS = Number(process.env['RUNS'] ?? 7);

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
const r = rng(42);
const int = (n: number): number => Math.floor(r() * n);
const CVSS = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:N';

const debSources = Array.from({ length: 3000 }, (_, i) => ({ name: `src${i}`, upstream: `${1 + int(9)}.${int(20)}.${int(30)}` }));
const records: OsvRecord[] = [];
let cve = 10000;
for (let i = 0; i < 15000; i++) {
  const s = debSources[i % debSources.length]!;
  const fixedRev = `${s.upstream}-${1 + int(5)}+deb12u${1 + int(4)}`;
  const unfixed = r() < 0.15;
  const versions = r() < 0.3 ? Array.from({ length: 10 + int(30) }, (_, k) => `${s.upstream}-${k % 5}${k > 4 ? `+deb12u${k % 4}` : ''}`) : undefined;
  const affected: NonNullable<OsvRecord['affected']>[number] = {
    package: { ecosystem: 'Debian:12', name: s.name },
    ranges: [{ type: 'ECOSYSTEM', events: unfixed ? [{ introduced: '0' }] : [{ introduced: '0' }, { fixed: fixedRev }] }],
  };
  if (versions) affected.versions = versions;
  records.push({ id: `DEBIAN-CVE-2024-${cve}`, modified: '2024-06-01T00:00:00Z', aliases: [`CVE-2024-${cve++}`], summary: `issue in ${s.name}`, affected: [affected] });
}
const npmNames = Array.from({ length: 3000 }, (_, i) => `pkg-${i}`);
for (let i = 0; i < 12000; i++) {
  const name = npmNames[i % npmNames.length]!;
  const maj = int(5);
  records.push({
    id: `GHSA-npm-${i}`,
    modified: '2024-06-01T00:00:00Z',
    aliases: [`CVE-2023-${cve++}`],
    severity: [{ type: 'CVSS_V3', score: CVSS }],
    affected: [
      {
        package: { ecosystem: 'npm', name },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: `${maj}.${int(10)}.${int(10)}` }, { introduced: `${maj + 1}.0.0` }, { fixed: `${maj + 1}.${int(5)}.1` }] }],
      },
    ],
    references: [{ type: 'ADVISORY', url: `https://example.invalid/${i}` }],
  });
}
const pyNames = Array.from({ length: 2000 }, (_, i) => `py_pkg.${i}`);
for (let i = 0; i < 8000; i++) {
  const name = pyNames[i % pyNames.length]!;
  records.push({
    id: `PYSEC-2024-${i}`,
    modified: '2024-06-01T00:00:00Z',
    aliases: [`CVE-2022-${cve++}`],
    affected: [{ package: { ecosystem: 'PyPI', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: `${int(4)}.${int(10)}.post1` }] }] }],
  });
}

function p(type: Package['type'], name: string, version: string, source?: { name: string; version: string }): Package {
  const x: Package = { type, name, version, purl: `pkg:generic/${name}@${version}`, locations: [] };
  if (source) x.source = source;
  return x;
}
const packages: Package[] = [];
for (let i = 0; i < 1500; i++) {
  const s = debSources[int(debSources.length)]!;
  const v = `${s.upstream}-${1 + int(5)}${r() < 0.5 ? `+deb12u${int(4)}` : ''}`;
  packages.push(p('deb', `lib${s.name}-${i}`, v, { name: s.name, version: v }));
}
for (let i = 0; i < 300; i++) packages.push(p('npm', npmNames[int(npmNames.length)]!, `${int(7)}.${int(10)}.${int(10)}`));
for (let i = 0; i < 200; i++) packages.push(p('pip', pyNames[int(pyNames.length)]!.replace('.', '-').toUpperCase(), `${int(4)}.${int(10)}`));
const inventory: Inventory = {
  artifact: { name: 'bench', type: 'filesystem', layers: [] },
  os: { family: 'debian', version: '12.5' },
  packages,
  notes: [],
};

function bench(store: AdvisoryStore): { ms: number; findings: number } {
  let findings = 0;
  matchOsv(inventory, store); // warm-up (JIT, caches)
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    findings = matchOsv(inventory, store).findings.length;
    times.push(performance.now() - t);
  }
  return { ms: median(times), findings };
}

const rows: (string | number)[][] = [];
const mem = bench(new MemoryStore(records));
rows.push(['MemoryStore', records.length, packages.length, mem.findings, mem.ms]);

// The SQLite store: the same records imported through the real writer into a real file.
const dir = mkdtempSync(join(tmpdir(), 'bench-match-'));
try {
  const t0 = performance.now();
  await withNewDb(osvDbPath(dir), { logger: silentLogger, command: 'bench' }, async (w) => {
    await w.importSource({ id: 'bench', kind: 'osv-dir' }, records.map((x) => ({ name: x.id, text: JSON.stringify(x) })));
  });
  const importMs = performance.now() - t0;
  // cold: open the file and match once (what one `portcullis scan` does)
  const colds: number[] = [];
  let coldFindings = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const s = SqliteStore.open(osvDbPath(dir));
    coldFindings = matchOsv(inventory, s).findings.length;
    colds.push(performance.now() - t);
    s.close();
  }
  rows.push(['SqliteStore, cold (open + first match)', records.length, packages.length, coldFindings, median(colds)]);
  const nocache = SqliteStore.open(osvDbPath(dir), { cacheRecords: 0 });
  const nc = bench(nocache);
  nocache.close();
  rows.push(['SqliteStore, record cache off', records.length, packages.length, nc.findings, nc.ms]);
  const warm = SqliteStore.open(osvDbPath(dir));
  const wm = bench(warm);
  warm.close();
  rows.push(['SqliteStore, warm (server: records cached)', records.length, packages.length, wm.findings, wm.ms]);
  process.stdout.write(`${table(['store', 'advisories', 'packages', 'findings', 'median ms'], rows)}\n`);
  process.stdout.write(`(SQLite file built from the generated records in ${(importMs / 1000).toFixed(1)} s)\n`);
  const worst = Math.max(median(colds), nc.ms);
  process.stdout.write(`ratio SqliteStore cold / MemoryStore: ${(median(colds) / mem.ms).toFixed(2)}x\n`);
  process.stdout.write(`target < 200 ms (SQLite, cold): ${worst < 200 ? 'met' : 'NOT met'}\n`);
  if (coldFindings !== mem.findings || nc.findings !== mem.findings || wm.findings !== mem.findings) {
    process.stdout.write('ERROR: the SQLite store gave different findings from the MemoryStore\n');
    process.exitCode = 1;
  }
} finally {
  if (process.env['KEEP_DB']) process.stderr.write(`kept ${osvDbPath(dir)}\n`);
  else rmSync(dir, { recursive: true, force: true });
}
