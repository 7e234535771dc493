/**
 * OSV range semantics, case by case, as osv-scanner's own tests state them
 * (google/osv-scanner internal/utility/vulns/vulnerability_test.go, 003f837ff119: IsAffected for
 * ECOSYSTEM and SEMVER ranges, several affected[] entries, unsorted events, pseudo-version bounds,
 * versions-only entries, ecosystems with a release suffix). The package there is an npm package, so
 * the npm comparator orders ECOSYSTEM events and SemVer orders SEMVER events.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchPackageVersion } from '../../src/scan/match-osv.ts';
import { evalAffected } from '../../src/scan/osv-range.ts';
import { MemoryStore } from '../../src/vulndb/memory-store.ts';
import { comparatorFor } from '../../src/versions/index.ts';
import { semver } from '../../src/versions/semver.ts';
import type { OsvAffected, OsvEvent } from '../../src/vulndb/osv-types.ts';

type RangeType = 'ECOSYSTEM' | 'SEMVER';

function affected(type: RangeType, ...events: OsvEvent[]): OsvAffected {
  return { package: { ecosystem: 'npm', name: 'my-package' }, ranges: [{ type, events }] };
}

/** osv-scanner's IsAffected: any affected[] entry covers the version. */
function isAffected(entries: readonly OsvAffected[], version: string, ecosystem = 'npm'): boolean {
  const cmp = comparatorFor(ecosystem);
  assert.ok(cmp);
  return entries.some((a) => evalAffected(a, version, cmp, semver) !== undefined);
}

function expect(entries: readonly OsvAffected[], yes: readonly string[], no: readonly string[]): void {
  for (const v of yes) assert.equal(isAffected(entries, v), true, `${v} should be affected`);
  for (const v of no) assert.equal(isAffected(entries, v), false, `${v} should not be affected`);
}

const LOW = ['0.0.0', '0.1.0', '0.0.0.1', '1.0.0-rc'];
const GAP = ['1.0.0', '1.1.0', '2.0.0rc2', '2.0.1'];
const MID = ['2.1.1', '2.3.4', '3.0.0', '3.0.0-rc'];
const HIGH = ['3.2.0', '3.2.1', '4.0.0'];

for (const type of ['ECOSYSTEM', 'SEMVER'] as const) {
  describe(`osv-scanner IsAffected, ${type} ranges`, () => {
    it('introduced 0 covers everything', () => {
      expect([affected(type, { introduced: '0' })], ['1.0.0', '1.1.1', '2.0.0', 'v1.0.0', 'v2.0.0'], []);
    });
    it('fixed is exclusive', () => {
      const fixedAt = type === 'SEMVER' ? '1.0.0' : '1';
      expect([affected(type, { introduced: '0' }, { fixed: fixedAt })], LOW, ['1.0.0', '1.1.0', '2.0.0']);
    });
    it('several introduced/fixed pairs', () => {
      const a = [affected(type, { introduced: '0' }, { fixed: '1' }, { introduced: '2.1.0' }, { fixed: '3.2.0' })];
      expect(a, [...LOW, ...MID], [...GAP, ...HIGH]);
    });
    it('last_affected is inclusive', () => {
      const at = type === 'SEMVER' ? '1.0.0' : '1';
      expect([affected(type, { introduced: '0' }, { last_affected: at })], [...LOW, '1.0.0'], ['1.0.1', '1.1.0', '2.0.0']);
    });
    it('fixed, then introduced and last_affected', () => {
      const a = [affected(type, { introduced: '0' }, { fixed: '1' }, { introduced: '2.1.0' }, { last_affected: '3.1.9' })];
      expect(a, [...LOW, ...MID, '3.1.9'], [...GAP, ...HIGH]);
    });
    it('unsorted events are sorted first', () => {
      const a = [affected(type, { introduced: '0' }, { introduced: '2.1.0' }, { fixed: '1' }, { last_affected: '3.1.9' })];
      expect(a, [...LOW, ...MID, '3.1.9'], [...GAP, ...HIGH]);
    });
    it('several affected[] entries', () => {
      const a = [
        affected(type, { introduced: '0' }, { fixed: '1' }),
        affected(type, { introduced: '2.1.0' }, { fixed: '3.2.0' }),
        affected(type, { introduced: '3.3.0' }, { last_affected: '3.5.0' }),
      ];
      expect(a, [...LOW, ...MID, '3.3.1', '3.4.5', '3.5.0'], [...GAP, ...HIGH]);
    });
    it('pseudo-version bounds (golang.org/x/sys, golang.org/x/net) and a fixed "0"', () => {
      const a = [
        affected(type, { fixed: '0.0.0-20220412211240-33da011f77ad' }, { introduced: '0' }),
        affected(type, { introduced: '0.0.0-20180925071336-cf3bd585ca2a' }, { fixed: '0' }),
      ];
      expect(a, ['0.0.0-20180925071336-cf3bd585ca2a'], ['0.0.0', '0.14.0']);
    });
  });
}

describe('osv-scanner IsAffected, other shapes', () => {
  it('a versions list alone matches exactly those versions', () => {
    const a: OsvAffected[] = [{ package: { ecosystem: 'npm', name: 'my-package' }, versions: ['1.0.0'] }];
    expect(a, ['1.0.0'], ['0.0.0', '1.0.0-beta1', '1.1.0']);
  });
  it('an ecosystem with a release suffix (Debian:12) with a SEMVER range', () => {
    const a: OsvAffected[] = [{ package: { ecosystem: 'Debian:12', name: 'my-package' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }] }];
    assert.equal(isAffected(a, '0.0.0', 'Debian:12'), true);
  });
  it('a record of another ecosystem never matches (PyPI record, npm package of the same name)', () => {
    const store = new MemoryStore([
      { id: 'PY-1', modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'PyPI', name: 'my-package' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }] },
    ]);
    const npm = comparatorFor('npm');
    assert.ok(npm);
    assert.deepEqual(matchPackageVersion(store, 'npm', 'my-package', '1.0.0', npm), []);
    const pypi = comparatorFor('PyPI');
    assert.ok(pypi);
    assert.deepEqual(matchPackageVersion(store, 'PyPI', 'my-package', '1.0.0', pypi).map((m) => m.record.id), ['PY-1']);
  });
});
