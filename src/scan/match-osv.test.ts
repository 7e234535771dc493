import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TESTDATA } from '../../test/helpers/paths.ts';
import type { Inventory, OsFamily, Package, PackageType } from '../domain/index.ts';
import { osOsvEcosystem } from '../ecosystems/osv-ecosystem.ts';
import { comparatorFor } from '../versions/index.ts';
import { asOsvRecord, MemoryStore } from '../vulndb/memory-store.ts';
import type { OsvAffected, OsvEvent, OsvRange, OsvRecord } from '../vulndb/osv-types.ts';
import { lookupKey, matchOsv, matchPackageVersion } from './match-osv.ts';

function loadOsvRecords(dir: string): OsvRecord[] {
  const out: OsvRecord[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...loadOsvRecords(p));
    else if (name.endsWith('.json')) {
      const r = asOsvRecord(JSON.parse(readFileSync(p, 'utf8')));
      if (r) out.push(r);
    }
  }
  return out;
}

const RECORDS = loadOsvRecords(join(TESTDATA, 'osv'));
const STORE = new MemoryStore(RECORDS);

const ECO_TYPE: Record<string, PackageType> = { PyPI: 'pip', npm: 'npm', Go: 'gomod', Maven: 'jar' };

function pkg(type: PackageType, name: string, version: string, source?: { name: string; version: string }): Package {
  const p: Package = { type, name, version, purl: `pkg:generic/${name}@${version}`, locations: [] };
  if (source) p.source = source;
  return p;
}

interface GoldenMatch {
  package: string;
  match_name: string;
  version: string;
  osv_id: string;
  aliases: string[];
  ecosystem: string;
}

interface Golden {
  fixture?: string;
  packages_considered?: { ecosystem: string; name: string; version: string }[];
  matches: GoldenMatch[];
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** The inventory a golden file was computed from: its packages_considered, or the pkgdb fixture's expected.json. */
function goldenInventory(g: Golden): Inventory {
  const artifact = { name: 'golden', type: 'filesystem' as const, layers: [] };
  if (g.packages_considered) {
    const packages = g.packages_considered.map((p) => pkg(ECO_TYPE[p.ecosystem] ?? 'npm', p.name, p.version));
    return { artifact, packages, notes: [] };
  }
  const dir = join(TESTDATA, 'pkgdb', (g.fixture ?? '').replace(/^pkgdb\//, ''));
  const exp: unknown = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  assert.ok(isObj(exp) && Array.isArray(exp['packages']));
  const format = String(exp['format']);
  const type: PackageType = format.startsWith('dpkg') ? 'deb' : format.startsWith('python') ? 'python-pkg' : 'npm';
  const packages = (exp['packages'] as unknown[]).filter(isObj).map((p) =>
    type === 'deb'
      ? pkg(type, String(p['name']), String(p['version']), {
          name: String(p['source_name'] ?? p['name']),
          version: String(p['source_version'] ?? p['version']),
        })
      : pkg(type, String(p['name']), String(p['version'])),
  );
  const inv: Inventory = { artifact, packages, notes: [] };
  const os = exp['os'];
  if (isObj(os)) inv.os = { family: String(os['family']) as OsFamily, version: String(os['version']) };
  return inv;
}

const GOLDEN_DIR = join(TESTDATA, 'golden-scans', 'osv-matches');

describe('golden OSV matches (every file in golden-scans/osv-matches)', () => {
  for (const file of readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.json'))) {
    it(`reproduces ${file}`, () => {
      const g = JSON.parse(readFileSync(join(GOLDEN_DIR, file), 'utf8')) as Golden;
      const inv = goldenInventory(g);
      const got: string[] = [];
      for (const p of inv.packages) {
        const key = lookupKey(p, inv.os);
        if (!key) continue;
        const cmp = comparatorFor(key.ecosystem);
        assert.ok(cmp, key.ecosystem);
        for (const m of matchPackageVersion(STORE, key.ecosystem, key.name, key.version, cmp)) {
          got.push(JSON.stringify([p.name, m.matchName, key.version, m.record.id, m.ecosystem]));
        }
      }
      const want = g.matches.map((m) => JSON.stringify([m.package, m.match_name, m.version, m.osv_id, m.ecosystem]));
      assert.deepEqual([...new Set(got)].sort(), [...new Set(want)].sort());

      // merged findings: every golden advisory is a finding id or alias of that package, none is lost
      const { findings } = matchOsv(inv, STORE);
      for (const m of g.matches) {
        const f = findings.find((x) => x.package.name === m.package && (x.advisoryId === m.osv_id || x.aliases.includes(m.osv_id)));
        assert.ok(f, `${m.package} ${m.osv_id} missing from findings`);
        for (const a of m.aliases.filter((x) => x.startsWith('CVE-'))) assert.ok(f.advisoryId === a || f.aliases.includes(a));
      }
    });
  }
});

function rec(id: string, affected: OsvAffected[], extra: Omit<OsvRecord, 'id' | 'modified' | 'affected'> = {}): OsvRecord {
  return { id, modified: '2024-01-01T00:00:00Z', affected, ...extra };
}

function ecoRange(...events: OsvEvent[]): OsvRange[] {
  return [{ type: 'ECOSYSTEM', events }];
}

function inv(packages: Package[], os?: Inventory['os']): Inventory {
  const i: Inventory = { artifact: { name: 't', type: 'filesystem', layers: [] }, packages, notes: [] };
  if (os) i.os = os;
  return i;
}

function ids(i: Inventory, store: MemoryStore): string[] {
  return matchOsv(i, store).findings.map((f) => `${f.advisoryId}:${f.status}:${f.fixedVersion ?? '-'}`);
}

describe('range semantics', () => {
  const npmPkg = (v: string): Package => pkg('npm', 'lib', v);
  const store = new MemoryStore([
    rec('A-intro0', [{ package: { ecosystem: 'npm', name: 'lib' }, ranges: ecoRange({ introduced: '0' }, { fixed: '1.2.0' }) }]),
    rec('B-last', [{ package: { ecosystem: 'npm', name: 'lib' }, ranges: ecoRange({ introduced: '2.0.0' }, { last_affected: '2.1.0' }) }]),
    rec('C-limit', [{ package: { ecosystem: 'npm', name: 'lib' }, ranges: ecoRange({ introduced: '3.0.0' }, { limit: '3.5.0' }) }]),
    rec('D-list', [{ package: { ecosystem: 'npm', name: 'lib' }, versions: ['4.0.0', '4.0.2'] }]),
    rec('E-withdrawn', [{ package: { ecosystem: 'npm', name: 'lib' }, ranges: ecoRange({ introduced: '0' }) }], { withdrawn: '2024-02-01T00:00:00Z' }),
    rec('F-unsorted', [
      {
        package: { ecosystem: 'npm', name: 'lib' },
        ranges: ecoRange({ fixed: '5.3.0' }, { introduced: '5.2.0' }, { fixed: '5.0.9' }, { introduced: '5.0.0' }),
      },
    ]),
    rec('G-git', [{ package: { ecosystem: 'npm', name: 'lib' }, ranges: [{ type: 'GIT', repo: 'x', events: [{ introduced: '0' }] }] }]),
  ]);

  it('introduced 0 … fixed: affected below the fix, not at or above it', () => {
    assert.deepEqual(ids(inv([npmPkg('1.1.9')]), store), ['A-intro0:fixed:1.2.0']);
    assert.deepEqual(ids(inv([npmPkg('1.2.0')]), store), []);
  });
  it('last_affected is inclusive and gives no fix', () => {
    assert.deepEqual(ids(inv([npmPkg('2.1.0')]), store), ['B-last:affected:-']);
    assert.deepEqual(ids(inv([npmPkg('2.1.1')]), store), []);
    assert.deepEqual(ids(inv([npmPkg('1.9.9')]), store), []);
  });
  it('limit is an exclusive upper bound', () => {
    assert.deepEqual(ids(inv([npmPkg('3.4.9')]), store), ['C-limit:affected:-']);
    assert.deepEqual(ids(inv([npmPkg('3.5.0')]), store), []);
  });
  it('versions list matches exactly', () => {
    assert.deepEqual(ids(inv([npmPkg('4.0.2')]), store), ['D-list:affected:-']);
    assert.deepEqual(ids(inv([npmPkg('4.0.1')]), store), []);
  });
  it('withdrawn records never match; GIT ranges are ignored', () => {
    assert.deepEqual(ids(inv([npmPkg('0.0.1')]), store), ['A-intro0:fixed:1.2.0']);
  });
  it('sorts unsorted events and uses the fix of the interval containing the version', () => {
    assert.deepEqual(ids(inv([npmPkg('5.0.5')]), store), ['F-unsorted:fixed:5.0.9']);
    assert.deepEqual(ids(inv([npmPkg('5.1.0')]), store), []);
    assert.deepEqual(ids(inv([npmPkg('5.2.1')]), store), ['F-unsorted:fixed:5.3.0']);
  });
  it('real unsorted multi-interval record (GHSA-9qj7-jvg4-qr2x, RubyGems passenger)', () => {
    const fix = (v: string): string[] =>
      matchOsv(inv([pkg('gemspec', 'passenger', v)]), STORE).findings.filter((f) => f.advisoryId === 'CVE-2013-4136' || f.aliases.includes('GHSA-9qj7-jvg4-qr2x')).map((f) => f.fixedVersion ?? '-');
    assert.deepEqual(fix('3.0.20'), ['3.0.21']);
    assert.deepEqual(fix('3.0.21'), []);
    assert.deepEqual(fix('4.0.2'), ['4.0.5']);
    assert.deepEqual(fix('4.0.5'), []);
  });
  it('ms 0.7.2 is not affected by GHSA-3fx5-fwvr-xrjg (fixed 0.7.1)', () => {
    assert.deepEqual(ids(inv([pkg('npm', 'ms', '0.7.2')]), STORE), []);
    assert.ok(ids(inv([pkg('npm', 'ms', '0.7.0')]), STORE).some((x) => x.includes(':fixed:0.7.1')));
  });
  it('an invalid installed version is skipped with a note, never thrown', () => {
    const r = matchOsv(inv([npmPkg('not a version')]), store);
    assert.deepEqual(r.findings, []);
    assert.match(r.notes.join('\n'), /1 package\(s\) skipped.*lib@not a version/);
  });
  it('reports the lowest fix above the installed version across merged advisories', () => {
    const s = new MemoryStore([
      rec('GHSA-aaaa-bbbb-cccc', [{ package: { ecosystem: 'PyPI', name: 'Foo_Bar' }, ranges: ecoRange({ introduced: '0' }, { fixed: '2.0' }) }], {
        aliases: ['CVE-2024-0001'],
      }),
      rec('PYSEC-2024-1', [{ package: { ecosystem: 'PyPI', name: 'foo-bar' }, ranges: ecoRange({ introduced: '0' }, { fixed: '1.5' }) }], {
        aliases: ['CVE-2024-0001'],
      }),
    ]);
    const r = matchOsv(inv([pkg('pip', 'foo.bar', '1.0')]), s);
    assert.equal(r.findings.length, 1);
    const f = r.findings[0]!;
    assert.equal(f.advisoryId, 'CVE-2024-0001');
    assert.deepEqual(f.aliases, ['GHSA-aaaa-bbbb-cccc', 'PYSEC-2024-1']);
    assert.equal(f.fixedVersion, '1.5');
    assert.equal(f.status, 'fixed');
  });
});

describe('OS packages', () => {
  const store = new MemoryStore([
    rec('DSA-1-1', [{ package: { ecosystem: 'Debian:12', name: 'openssl' }, ranges: ecoRange({ introduced: '0' }, { fixed: '3.0.11-1~deb12u2' }) }], {
      aliases: ['CVE-2023-5678'],
    }),
    rec('DSA-2-1', [{ package: { ecosystem: 'Debian:11', name: 'openssl' }, ranges: ecoRange({ introduced: '0' }, { fixed: '9.9' }) }]),
    rec('ALPINE-1', [{ package: { ecosystem: 'Alpine:v3.19', name: 'openssl' }, ranges: ecoRange({ introduced: '0' }, { fixed: '3.1.4-r1' }) }]),
  ]);
  it('Debian matches by source package and source version in the release ecosystem only', () => {
    const p = pkg('deb', 'libssl3', '3.0.11-1~deb12u1', { name: 'openssl', version: '3.0.11-1~deb12u1' });
    const r = matchOsv(inv([p], { family: 'debian', version: '12.4' }), store);
    assert.deepEqual(
      r.findings.map((f) => [f.advisoryId, f.package.name, f.installedVersion, f.fixedVersion]),
      [['CVE-2023-5678', 'libssl3', '3.0.11-1~deb12u1', '3.0.11-1~deb12u2']],
    );
    assert.equal(osOsvEcosystem({ family: 'debian', version: '12.4' }), 'Debian:12');
  });
  it('Alpine matches by origin', () => {
    const p = pkg('apk', 'libcrypto3', '3.1.4-r0', { name: 'openssl', version: '3.1.4-r0' });
    assert.deepEqual(ids(inv([p], { family: 'alpine', version: '3.19.0' }), store), ['ALPINE-1:fixed:3.1.4-r1']);
  });
  it('folds an umbrella DSA into the per-CVE findings it covers (vendorIds), keeps it when a CVE is uncovered', () => {
    const deb = (id: string, extra: Omit<OsvRecord, 'id' | 'modified' | 'affected'>): OsvRecord =>
      rec(id, [{ package: { ecosystem: 'Debian:12', name: 'curl' }, ranges: ecoRange({ introduced: '0' }, { fixed: '7.88.1-10+deb12u5' }) }], extra);
    const p = pkg('deb', 'libcurl4', '7.88.1-10+deb12u4', { name: 'curl', version: '7.88.1-10+deb12u4' });
    const os = { family: 'debian' as const, version: '12' };
    const s1 = new MemoryStore([
      deb('DSA-5587-1', { upstream: ['CVE-2023-1', 'CVE-2023-2'] }),
      deb('DEBIAN-CVE-2023-1', { upstream: ['CVE-2023-1'] }),
      deb('DEBIAN-CVE-2023-2', { upstream: ['CVE-2023-2'] }),
    ]);
    const f1 = matchOsv(inv([p], os), s1).findings;
    assert.deepEqual(f1.map((f) => [f.advisoryId, f.vendorIds]), [
      ['CVE-2023-1', ['DSA-5587-1']],
      ['CVE-2023-2', ['DSA-5587-1']],
    ]);
    const s2 = new MemoryStore([deb('DSA-5587-1', { upstream: ['CVE-2023-1', 'CVE-2023-2'] }), deb('DEBIAN-CVE-2023-1', { upstream: ['CVE-2023-1'] })]);
    assert.deepEqual(matchOsv(inv([p], os), s2).findings.map((f) => f.advisoryId), ['CVE-2023-1', 'DSA-5587-1']);
  });
  it('an OS without an OSV ecosystem gives a note, not silence', () => {
    const p = pkg('rpm', 'bash', '4.2.46-34.el7');
    const r = matchOsv(inv([p], { family: 'centos', version: '7.9' }), store);
    assert.deepEqual(r.findings, []);
    assert.match(r.notes[0] ?? '', /no OSV ecosystem for centos 7.9/);
  });
});

describe('severity sources, in order', () => {
  const base = { package: { ecosystem: 'npm', name: 'x' }, ranges: ecoRange({ introduced: '0' }) };
  const sev = (r: OsvRecord, cve?: { severity: string; source: string }): [string, string, number | undefined] => {
    const s = new MemoryStore([r]);
    if (cve) s.setCveSeverity('CVE-2024-9', cve);
    const f = matchOsv(inv([pkg('npm', 'x', '1.0.0')]), s).findings[0]!;
    return [f.severity, f.severitySource, f.score];
  };
  it('own CVSS v3 vector first (score computed)', () => {
    const r = rec('GHSA-1', [base], {
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
      database_specific: { severity: 'LOW' },
    });
    assert.deepEqual(sev(r), ['CRITICAL', 'osv-cvss-v3', 9.8]);
    const s = new MemoryStore([r]);
    const f = matchOsv(inv([pkg('npm', 'x', '1.0.0')]), s).findings[0]!;
    assert.deepEqual(f.cvss, { ghsa: { v3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', v3Score: 9.8 } });
  });
  it('CVSS v4 when there is no v3', () => {
    const r = rec('GHSA-2', [base], { severity: [{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' }] });
    assert.deepEqual(sev(r), ['CRITICAL', 'osv-cvss-v4', 9.3]);
  });
  it('per-affected severity next, then the vendor rating, then NVD by CVE alias, then UNKNOWN', () => {
    const aff = { ...base, severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:N' }] };
    assert.deepEqual(sev(rec('GHSA-3', [aff], { database_specific: { severity: 'LOW' } })), ['MEDIUM', 'osv-affected-cvss-v3', 6.5]);
    assert.deepEqual(sev(rec('GHSA-4', [base], { database_specific: { severity: 'MODERATE' }, aliases: ['CVE-2024-9'] }), { severity: 'HIGH', source: 'nvd' }), [
      'MEDIUM',
      'ghsa',
      undefined,
    ]);
    assert.deepEqual(sev(rec('GHSA-5', [base], { aliases: ['CVE-2024-9'] }), { severity: 'HIGH', source: 'nvd' }), ['HIGH', 'nvd', undefined]);
    assert.deepEqual(sev(rec('GHSA-6', [base], { severity: [{ type: 'CVSS_V3', score: 'garbage' }] })), ['UNKNOWN', 'none', undefined]);
  });
  it('Ubuntu priority', () => {
    assert.deepEqual(sev(rec('USN-1', [base], { severity: [{ type: 'Ubuntu', score: 'medium' }] })), ['MEDIUM', 'ubuntu', undefined]);
  });
});

describe('ordering and shape', () => {
  it('orders by package, then severity (worst first), then id, deterministically', () => {
    const a = { package: { ecosystem: 'npm', name: 'a' }, ranges: ecoRange({ introduced: '0' }) };
    const b = { package: { ecosystem: 'npm', name: 'b' }, ranges: ecoRange({ introduced: '0' }) };
    const crit = [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }];
    const recs = [
      rec('Z-1', [b]),
      rec('Y-2', [a]),
      rec('X-3', [a], { severity: crit, summary: 'bad', references: [{ type: 'WEB', url: 'w' }, { type: 'ADVISORY', url: 'adv' }] }),
      rec('W-4', [a]),
    ];
    const packages = [pkg('npm', 'b', '1.0.0'), pkg('npm', 'a', '1.0.0')];
    const one = matchOsv(inv(packages), new MemoryStore(recs)).findings;
    const two = matchOsv(inv(packages), new MemoryStore([...recs].reverse())).findings;
    assert.deepEqual(one.map((f) => `${f.package.name}:${f.advisoryId}`), ['a:X-3', 'a:W-4', 'a:Y-2', 'b:Z-1']);
    assert.deepEqual(two, one);
    assert.equal(one[0]!.title, 'bad');
    assert.equal(one[0]!.url, 'adv');
  });
});
