/**
 * Real OSV records beyond the shared set (test/fixtures/holdout-osv, provenance in its README) and
 * record shapes the feeds publish: validation, matching through the OS and registry ecosystems, fixed
 * versions and severity. Expected orders were checked with the reference tools (dpkg
 * --compare-versions for the Ubuntu versions).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Inventory, OsInfo, Package, PackageType } from '../../src/domain/index.ts';
import { matchOsv, matchPackageVersion } from '../../src/scan/match-osv.ts';
import { comparatorFor } from '../../src/versions/index.ts';
import { asOsvRecord, MemoryStore } from '../../src/vulndb/memory-store.ts';
import type { OsvRecord } from '../../src/vulndb/osv-types.ts';
import { validateOsvRecord } from '../../src/vulndb/osv-validate.ts';
import { TESTDATA } from '../helpers/paths.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'holdout-osv');
const raw = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(DIR, name), 'utf8')) as Record<string, unknown>;
function record(v: unknown): OsvRecord {
  const r = asOsvRecord(v);
  assert.ok(r, JSON.stringify(validateOsvRecord(v)));
  return r;
}

function pkg(type: PackageType, name: string, version: string, source?: { name: string; version: string }): Package {
  const p: Package = { type, name, version, purl: `pkg:generic/${name}@${version}`, locations: [] };
  if (source) p.source = source;
  return p;
}

function scan(records: OsvRecord[], packages: Package[], os?: OsInfo): string[] {
  const inv: Inventory = { artifact: { name: 't', type: 'filesystem', layers: [] }, packages, notes: [] };
  if (os) inv.os = os;
  return matchOsv(inv, new MemoryStore(records)).findings.map(
    (f) => `${f.package.name} ${f.advisoryId} ${f.status} ${f.fixedVersion ?? '-'} ${f.severity} ${f.severitySource}`,
  );
}

describe('real records validate', () => {
  for (const f of ['GO-2021-0142.json', 'GHSA-2cjh-75gp-34gc.json', 'Ubuntu-CVE-2024-0727.json']) {
    it(f, () => assert.deepEqual(validateOsvRecord(raw(f)), { ok: true, record: raw(f) }));
  }
});

describe('Go stdlib (GO-2021-0142: SEMVER, introduced "1.14.0-0")', () => {
  const store = new MemoryStore([record(raw('GO-2021-0142.json'))]);
  const go = comparatorFor('Go');
  assert.ok(go);
  const fixOf = (v: string): string[] => matchPackageVersion(store, 'Go', 'stdlib', v, go).map((m) => m.fixed ?? '-');
  it('each branch reports its own fix', () => {
    assert.deepEqual(fixOf('1.12.0'), ['1.13.15']);
    assert.deepEqual(fixOf('1.14.3'), ['1.14.7']);
    assert.deepEqual(fixOf('v1.14.6'), ['1.14.7']);
    assert.deepEqual(fixOf('1.14.0-rc.1'), ['1.14.7'], 'a 1.14 prerelease is above 1.14.0-0');
  });
  it('fixed versions and the gap between branches are not affected', () => {
    assert.deepEqual(fixOf('1.13.15'), []);
    assert.deepEqual(fixOf('1.14.7'), []);
    assert.deepEqual(fixOf('1.15.0'), []);
  });
});

describe('Ubuntu (CVE-2024-0727: Pro ecosystems, versions lists, no-fix entries, binaries)', () => {
  const rec = record(raw('Ubuntu-CVE-2024-0727.json'));
  const focal: OsInfo = { family: 'ubuntu', version: '20.04' };
  it('20.04: openssl by source package, fixed in 1.1.1f-1ubuntu2.21; edk2 listed with no fix', () => {
    const got = scan(
      [rec],
      [
        pkg('deb', 'libssl1.1', '1.1.1f-1ubuntu2.20', { name: 'openssl', version: '1.1.1f-1ubuntu2.20' }),
        pkg('deb', 'ovmf', '0~20191122.bd85bf54-2ubuntu3.5', { name: 'edk2', version: '0~20191122.bd85bf54-2ubuntu3.5' }),
      ],
      focal,
    );
    assert.deepEqual(got, [
      'libssl1.1 CVE-2024-0727 fixed 1.1.1f-1ubuntu2.21 MEDIUM osv-cvss-v3',
      'ovmf CVE-2024-0727 affected - MEDIUM osv-cvss-v3',
    ]);
  });
  it('20.04: the fixed version is clean', () => {
    assert.deepEqual(scan([rec], [pkg('deb', 'openssl', '1.1.1f-1ubuntu2.21', { name: 'openssl', version: '1.1.1f-1ubuntu2.21' })], focal), []);
  });
  it('18.04 without Pro: the Ubuntu:Pro:18.04:LTS entry is not the image\'s ecosystem', () => {
    const v = '1.1.1-1ubuntu2.1~18.04.23';
    assert.deepEqual(scan([rec], [pkg('deb', 'libssl1.1', v, { name: 'openssl', version: v })], { family: 'ubuntu', version: '18.04' }), []);
  });
  it('18.04 with Ubuntu Pro (ESM) on: the Pro entry applies and gives the ESM fix', () => {
    const v = '1.1.1-1ubuntu2.1~18.04.23';
    assert.deepEqual(scan([rec], [pkg('deb', 'libssl1.1', v, { name: 'openssl', version: v })], { family: 'ubuntu', version: '18.04', extended: true }), [
      'libssl1.1 CVE-2024-0727 fixed 1.1.1-1ubuntu2.1~18.04.23+esm4 MEDIUM osv-cvss-v3',
    ]);
  });
  it('20.04 with Ubuntu Pro on: the plain LTS entries still apply', () => {
    const v = '1.1.1f-1ubuntu2.20';
    assert.deepEqual(scan([rec], [pkg('deb', 'libssl1.1', v, { name: 'openssl', version: v })], { family: 'ubuntu', version: '20.04', extended: true }), [
      'libssl1.1 CVE-2024-0727 fixed 1.1.1f-1ubuntu2.21 MEDIUM osv-cvss-v3',
    ]);
  });
  it('22.04: edk2 in the versions list and under introduced 0', () => {
    const v = '2022.02-3ubuntu0.22.04.2';
    assert.deepEqual(scan([rec], [pkg('deb', 'ovmf', v, { name: 'edk2', version: v })], { family: 'ubuntu', version: '22.04' }), [
      'ovmf CVE-2024-0727 affected - MEDIUM osv-cvss-v3',
    ]);
  });
});

describe('GHSA with a 0.0 CVSS vector (GHSA-2cjh-75gp-34gc, Packagist)', () => {
  const rec = record(raw('GHSA-2cjh-75gp-34gc.json'));
  it('the vendor rating (LOW) decides, the CVE is the id', () => {
    assert.deepEqual(scan([rec], [pkg('composer', 'livewire/livewire', '3.0.3')]), ['livewire/livewire CVE-2024-22859 fixed 3.0.4 LOW ghsa']);
  });
  it('outside [3.0.0, 3.0.4) nothing', () => {
    assert.deepEqual(scan([rec], [pkg('composer', 'livewire/livewire', '3.0.4'), pkg('composer', 'livewire/livewire', '2.12.6')]), []);
  });
});

describe('vendor ratings of the matched affected[] entry', () => {
  it('Debian urgency "unimportant" is LOW (shared osv/Debian/CVE-2024-1013.json)', () => {
    const rec = record(JSON.parse(readFileSync(join(TESTDATA, 'osv', 'Debian', 'CVE-2024-1013.json'), 'utf8')));
    assert.deepEqual(scan([rec], [pkg('deb', 'libodbc1', '2.3.6-0.1+b1', { name: 'unixodbc', version: '2.3.6-0.1' })], { family: 'debian', version: '10.13' }), [
      'libodbc1 CVE-2024-1013 affected - LOW debian',
    ]);
  });
});

describe('shapes the schema allows', () => {
  const base = (extra: Record<string, unknown>, events: unknown[] = [{ introduced: '0' }, { fixed: '2.0.0' }]): Record<string, unknown> => ({
    id: 'GHSA-aaaa-bbbb-cccc',
    modified: '2024-01-01T00:00:00Z',
    affected: [{ package: { ecosystem: 'npm', name: 'lib' }, ranges: [{ type: 'SEMVER', events }] }],
    ...extra,
  });
  const hits = (r: Record<string, unknown>, v: string): string[] => {
    const npm = comparatorFor('npm');
    assert.ok(npm);
    return matchPackageVersion(new MemoryStore([record(r)]), 'npm', 'lib', v, npm).map((m) => `${m.kind}:${m.fixed ?? '-'}`);
  };
  it('JSON null in every optional field', () => {
    const r = base({ aliases: null, related: null, upstream: null, severity: null, references: null, database_specific: null, summary: null, details: null, published: null, withdrawn: null });
    (r['affected'] as Record<string, unknown>[])[0]!['versions'] = null;
    (r['affected'] as Record<string, unknown>[])[0]!['database_specific'] = null;
    assert.deepEqual(hits(r, '1.0.0'), ['range:2.0.0']);
  });
  it('an empty event value counts as no event, not as a malformed record', () => {
    assert.deepEqual(hits(base({}, [{ introduced: '0' }, { fixed: '' }]), '9.0.0'), ['range:-']);
    assert.deepEqual(hits(base({}, [{ introduced: '' }, { introduced: '1.0.0' }, { fixed: '2.0.0' }]), '0.5.0'), []);
  });
  it('GIT ranges beside an ECOSYSTEM range are ignored; limit bounds the range', () => {
    const r = base({});
    (r['affected'] as Record<string, unknown>[])[0]!['ranges'] = [
      { type: 'GIT', repo: 'https://example.invalid/lib', events: [{ introduced: '0' }, { fixed: 'a'.repeat(40) }, { limit: 'b'.repeat(40) }] },
      { type: 'ECOSYSTEM', events: [{ introduced: '1.0.0' }, { limit: '1.5.0' }] },
    ];
    assert.deepEqual(hits(r, '1.2.0'), ['range:-']);
    assert.deepEqual(hits(r, '1.5.0'), []);
    assert.deepEqual(hits(r, '0.9.0'), []);
  });
  it('a withdrawn record never matches', () => {
    assert.deepEqual(hits(base({ withdrawn: '2024-02-01T00:00:00Z' }), '1.0.0'), []);
  });
  it('a wrongly typed field still makes the record malformed', () => {
    assert.equal(validateOsvRecord(base({}, [{ introduced: 0 }])).ok, false);
    assert.equal(validateOsvRecord(base({ aliases: 'CVE-1' })).ok, false);
  });
});

describe('RPM families: records naming the binary RPM or the source RPM', () => {
  const rocky: OsInfo = { family: 'rocky', version: '9.3' };
  const rlsa = (id: string, name: string): OsvRecord =>
    record({
      id,
      modified: '2024-01-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'Rocky Linux:9', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:3.0.7-25.el9_3' }] }] }],
    });
  it('openssl-libs (source openssl) is found under either name, once per record', () => {
    const p = pkg('rpm', 'openssl-libs', '1:3.0.7-24.el9', { name: 'openssl', version: '3.0.7-24.el9' });
    assert.deepEqual(scan([rlsa('RLSA-2024:0001', 'openssl'), rlsa('RLSA-2024:0002', 'openssl-libs')], [p], rocky), [
      'openssl-libs RLSA-2024:0001 fixed 1:3.0.7-25.el9_3 UNKNOWN none',
      'openssl-libs RLSA-2024:0002 fixed 1:3.0.7-25.el9_3 UNKNOWN none',
    ]);
  });
});
