/**
 * Matcher parity, first-hand: Portcullis's Trivy-DB matcher against what the real Trivy 0.44.1 printed
 * on the same trees with the same DB (../shared/testdata/trivy-db/db, built from every advisory of
 * Trivy's fixture DB).
 *
 * 1. end to end below the CLI: buildInventory('rootfs:TREE') + matchTrivy, on every tree of
 *    ../shared/testdata/trivy-db/rootfs (expected: reports/) and of src/vulndb/trivy/testdata/trees
 *    (every other OS family of the DB; reports/ written by make-fixtures.ts with the real Trivy);
 *    language inputs (shared repo-* and testdata/lang/*) once the language catalogers find their packages;
 * 2. the matcher alone: Trivy's own package list (--list-all-pkgs) as the inventory, so a difference can
 *    only come from matching — this covers every language bucket of the DB whatever catalogers exist;
 * 3. with the Trivy binary present, a live run on a few trees proves the stored reports are current.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Finding, Inventory, OsFamily, Package, PackageType } from '../../src/domain/index.ts';
import { parseApkRepositories } from '../../src/ecosystems/os/detectors.ts';
import { buildInventory } from '../../src/scan/index.ts';
import { matchTrivy } from '../../src/scan/match-trivy.ts';
import { silentLogger } from '../../src/shared/log.ts';
import { TrivyDb } from '../../src/vulndb/trivy/db.ts';
import { trivyEosl } from '../../src/vulndb/trivy/eol.ts';
import { REPO_ROOT, TESTDATA } from '../helpers/paths.ts';
import { trivyBinary } from '../helpers/trivy.ts';

const SHARED_TDB = join(TESTDATA, 'trivy-db');
const OWN = join(REPO_ROOT, 'src', 'vulndb', 'trivy', 'testdata');
const db = TrivyDb.open(join(SHARED_TDB, 'db'));
const cacheDir = mkdtempSync(join(tmpdir(), 'pc-trivydb-match-'));
after(() => {
  db.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

interface TrivyVuln {
  VulnerabilityID: string;
  PkgName: string;
  InstalledVersion: string;
  FixedVersion?: string;
  Status?: string;
  Severity: string;
  SeveritySource?: string;
  DataSource?: { ID?: string };
  PrimaryURL?: string;
  VendorIDs?: string[];
  Title?: string;
  PkgPath?: string;
}
interface TrivyPkg {
  Name: string;
  Version: string;
  Release?: string;
  Epoch?: number;
  Arch?: string;
  SrcName?: string;
  SrcVersion?: string;
  SrcRelease?: string;
  SrcEpoch?: number;
  Modularitylabel?: string;
  FilePath?: string;
}
interface TrivyResult {
  Target: string;
  Class: string;
  Type: string;
  Packages?: TrivyPkg[];
  Vulnerabilities?: TrivyVuln[];
}
interface TrivyReport {
  Metadata?: { OS?: { Family: string; Name: string; EOSL?: boolean } };
  Results?: TrivyResult[];
}

/** The row fields the parity is about, as one comparable string per finding. */
const ROW_FIELDS = ['VulnerabilityID', 'PkgName', 'InstalledVersion', 'FixedVersion', 'Status', 'Severity', 'SeveritySource', 'DataSource', 'PrimaryURL', 'VendorIDs', 'Title'] as const;

function trivyRows(rep: TrivyReport, classes: readonly string[] = ['os-pkgs', 'lang-pkgs']): string[] {
  const rows: string[] = [];
  for (const r of rep.Results ?? []) {
    if (!classes.includes(r.Class)) continue;
    const target = r.Class === 'os-pkgs' ? '' : r.Target;
    for (const v of r.Vulnerabilities ?? []) {
      rows.push(JSON.stringify([target, v.VulnerabilityID, v.PkgName, v.InstalledVersion, v.FixedVersion ?? '', v.Status ?? '', v.Severity, v.SeveritySource ?? '', v.DataSource?.ID ?? '', v.PrimaryURL ?? '', (v.VendorIDs ?? []).join(','), v.Title ?? '']));
    }
  }
  return rows.sort();
}

function ourRows(findings: Finding[], targetOf: (f: Finding) => string): string[] {
  return findings
    .map((f) => JSON.stringify([targetOf(f), f.advisoryId, f.package.name, f.installedVersion, f.fixedVersion ?? '', f.status, f.severity, f.severitySource, f.dataSource?.id ?? '', f.url ?? '', (f.vendorIds ?? []).join(','), f.title ?? '']))
    .sort();
}

const isOs = (p: Package): boolean => p.type === 'apk' || p.type === 'deb' || p.type === 'rpm';
const readReport = (file: string): TrivyReport => JSON.parse(readFileSync(file, 'utf8')) as TrivyReport;

function explain(ours: string[], theirs: string[]): string {
  const o = new Set(ours);
  const t = new Set(theirs);
  return [`columns: target, ${ROW_FIELDS.join(', ')}`, ...ours.filter((r) => !t.has(r)).map((r) => `+ ours only  ${r}`), ...theirs.filter((r) => !o.has(r)).map((r) => `- Trivy only ${r}`)].join('\n');
}

/** Trees scanned with `trivy rootfs` whose reports hold the OS rows. */
const OS_TREES: { name: string; dir: string; report: string }[] = [
  ...readdirSync(join(SHARED_TDB, 'rootfs')).map((n) => ({ name: `shared/${n}`, dir: join(SHARED_TDB, 'rootfs', n), report: join(SHARED_TDB, 'reports', `${n}.json`) })),
  ...readdirSync(join(OWN, 'trees')).map((n) => ({ name: n, dir: join(OWN, 'trees', n), report: join(OWN, 'reports', `${n}.json`) })),
];

/** Language inputs scanned with `trivy fs`. */
const LANG_INPUTS: { name: string; dir: string; report: string }[] = [
  ...readdirSync(join(SHARED_TDB, 'reports'))
    .filter((f) => f.startsWith('repo-'))
    .map((f) => f.replace(/\.json$/, ''))
    .map((n) => ({ name: `shared/${n}`, dir: join(TESTDATA, 'golden-scans', `trivy-${n}`, 'input'), report: join(SHARED_TDB, 'reports', `${n}.json`) })),
  ...(existsSync(join(OWN, 'lang')) ? readdirSync(join(OWN, 'lang')).map((n) => ({ name: `lang/${n}`, dir: join(OWN, 'lang', n), report: join(OWN, 'reports', `${n}.json`) })) : []),
];

describe('Trivy DB matching: buildInventory + matchTrivy give the rows Trivy 0.44.1 printed', () => {
  for (const t of OS_TREES) {
    it(`rootfs ${t.name}`, async () => {
      const inv = await buildInventory(`rootfs:${t.dir}`, { cacheDir, logger: silentLogger, noCache: true });
      const rep = readReport(t.report);
      const { findings } = matchTrivy(inv, db);
      const ours = ourRows(findings.filter((f) => isOs(f.package)), () => '');
      const theirs = trivyRows(rep, ['os-pkgs']);
      assert.deepEqual(ours, theirs, explain(ours, theirs));
      const eosl = rep.Metadata?.OS?.EOSL ?? false;
      if (rep.Metadata?.OS && rep.Metadata.OS.Family !== 'none') assert.equal(inv.os?.eosl ?? false, eosl, `EOSL of ${rep.Metadata.OS.Family} ${rep.Metadata.OS.Name}`);
    });
  }

  for (const t of LANG_INPUTS) {
    it(`fs ${t.name}`, async (ctx) => {
      const rep = readReport(t.report);
      const inv = await buildInventory(`rootfs:${t.dir}`, { cacheDir, logger: silentLogger, noCache: true });
      const want = new Set((rep.Results ?? []).filter((r) => r.Class === 'lang-pkgs').map((r) => r.Type));
      if (!inv.packages.some((p) => want.has(p.type))) {
        ctx.skip(`no cataloger yet for ${[...want].join(', ')} (the matcher is checked on Trivy's own package list below)`);
        return;
      }
      const { findings } = matchTrivy(inv, db);
      const ours = ourRows(findings.filter((f) => !isOs(f.package)), (f) => f.package.filePath ?? '');
      const theirs = trivyRows(rep, ['lang-pkgs']);
      assert.deepEqual(ours, theirs, explain(ours, theirs));
    });
  }
});

/** Trivy's package list as an Inventory: what Trivy matched, fed to our matcher. */
function inventoryFromReport(rep: TrivyReport, dir: string): Inventory {
  const packages: Package[] = [];
  const osType: Record<string, PackageType> = { alpine: 'apk', wolfi: 'apk', chainguard: 'apk', debian: 'deb', ubuntu: 'deb' };
  const evr = (e: number | undefined, v: string, r: string | undefined): string => `${e ? `${e}:` : ''}${v}${r ? `-${r}` : ''}`;
  for (const r of rep.Results ?? []) {
    for (const p of r.Packages ?? []) {
      if (r.Class === 'os-pkgs') {
        const type = osType[r.Type] ?? 'rpm';
        const version = evr(p.Epoch, p.Version, p.Release);
        const pkg: Package = { type, name: p.Name, version, purl: '', locations: [] };
        if (p.Release) pkg.release = p.Release;
        if (p.Arch) pkg.arch = p.Arch;
        if (p.SrcName) pkg.source = { name: p.SrcName, version: evr(p.SrcEpoch, p.SrcVersion ?? p.Version, p.SrcRelease) };
        if (p.Modularitylabel) pkg.extra = { modularityLabel: p.Modularitylabel };
        packages.push(pkg);
      } else {
        packages.push({ type: r.Type as PackageType, name: p.Name, version: p.Version, purl: '', locations: [], filePath: r.Target });
      }
    }
  }
  const inv: Inventory = { artifact: { name: 'report', type: 'filesystem', layers: [] }, packages, notes: [] };
  const os = rep.Metadata?.OS;
  if (os && os.Family !== 'none') inv.os = { family: os.Family as OsFamily, version: os.Name };
  // Trivy's report leaves its Repository out: read it from the tree, as its apk-repo analyzer did
  const repos = join(dir, 'etc', 'apk', 'repositories');
  const repository = inv.os && existsSync(repos) ? parseApkRepositories(readFileSync(repos, 'utf8')) : undefined;
  if (inv.os && repository) inv.os.repository = repository;
  return inv;
}

describe("Trivy DB matching on Trivy's own package lists (the matcher alone)", () => {
  const reports = [...OS_TREES, ...LANG_INPUTS].filter((t) => {
    const rep = readReport(t.report);
    return (rep.Results ?? []).some((r) => (r.Packages?.length ?? 0) > 0);
  });
  it('has reports with package lists to work on', () => assert.ok(reports.length >= 20, String(reports.length)));
  for (const t of reports) {
    it(t.name, () => {
      const rep = readReport(t.report);
      const inv = inventoryFromReport(rep, t.dir);
      const { findings } = matchTrivy(inv, db);
      const ours = ourRows(findings, (f) => (isOs(f.package) ? '' : (f.package.filePath ?? '')));
      const theirs = trivyRows(rep);
      assert.deepEqual(ours, theirs, explain(ours, theirs));
    });
  }
});

describe('EOSL as Trivy 0.44 decides it', () => {
  const at = new Date('2026-12-01T00:00:00Z');
  const cases: [OsFamily, string, boolean | undefined][] = [
    ['alpine', '3.9.4', true],
    ['alpine', '3.25.0', false], // not on Trivy's list: "may be the latest version"
    ['alpine', '3.17_alpha20220809', false],
    ['debian', '12.5', false],
    ['debian', '9.13', true],
    ['debian', 'trixie/sid', true], // not on the list: unsupported
    ['ubuntu', '22.04', false],
    ['ubuntu', '18.04', true],
    ['centos', '7.9.2009', true],
    ['redhat', '8.6', false],
    ['amazon', 'AMI release 2018.03', true],
    ['amazon', '2023 (Amazon Linux)', false],
    ['rocky', '9.3', false],
    ['cbl-mariner', '2.0.20220226', false],
    ['opensuse.tumbleweed', '20240108', undefined], // no driver in 0.44: no EOSL at all
    ['fedora', '39', undefined],
  ];
  for (const [family, version, want] of cases) it(`${family} ${version}`, () => assert.equal(trivyEosl({ family, version }, at), want));
});

describe('stored Trivy reports are what the real Trivy prints today', () => {
  const trivy = trivyBinary();
  for (const name of ['centos-6', 'alpine-edge']) {
    it(name, { skip: trivy ? false : 'no Trivy binary (PORTCULLIS_TEST_TRIVY)' }, () => {
      const cache = mkdtempSync(join(tmpdir(), 'pc-trivy-live-'));
      try {
        mkdirSync(join(cache, 'db'));
        for (const f of ['trivy.db', 'metadata.json']) copyFileSync(join(SHARED_TDB, 'db', f), join(cache, 'db', f));
        const out = execFileSync(trivy ?? '', ['rootfs', '--cache-dir', cache, '--skip-db-update', '--offline-scan', '--format', 'json', '--scanners', 'vuln', '--quiet', name], { cwd: join(OWN, 'trees'), encoding: 'utf8' });
        assert.deepEqual(trivyRows(JSON.parse(out) as TrivyReport), trivyRows(readReport(join(OWN, 'reports', `${name}.json`))));
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    });
  }
});
