import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TESTDATA } from '../../test/helpers/paths.ts';
import { comparatorFor, compareVersions } from './index.ts';
import { isValidApk } from './apk.ts';
import { isValidDeb } from './dpkg.ts';
import { parsePep440 } from './pep440.ts';
import { parseSemver } from './semver.ts';

/** Vector folder → an OSV ecosystem that uses that comparator. */
const FOLDERS: Record<string, string> = {
  deb: 'Debian:12',
  apk: 'Alpine:v3.19',
  rpm: 'Rocky Linux:9',
  semver: 'npm',
  pep440: 'PyPI',
  maven: 'Maven',
};

const VECTORS = join(TESTDATA, 'versions');

function isRow(r: unknown): r is [string, string, number] {
  return Array.isArray(r) && r.length === 3 && typeof r[0] === 'string' && typeof r[1] === 'string' && typeof r[2] === 'number';
}

for (const [folder, eco] of Object.entries(FOLDERS)) {
  describe(`${folder} vectors (${eco})`, () => {
    for (const file of readdirSync(join(VECTORS, folder)).filter((f) => f.endsWith('.json'))) {
      const data: unknown = JSON.parse(readFileSync(join(VECTORS, folder, file), 'utf8'));
      if (!Array.isArray(data)) continue;
      const rows = data.filter(isRow);
      if (rows.length === 0) continue;
      it(`orders every row of ${file} (${rows.length})`, () => {
        const bad: string[] = [];
        for (const [a, b, want] of rows) {
          const got = compareVersions(eco, a, b);
          const back = compareVersions(eco, b, a);
          if (got !== want || back !== -want) {
            bad.push(`${JSON.stringify([a, b])}: want ${want}, got ${got}/${back}`);
          }
        }
        if (folder === 'maven') {
          // Known gap (docs/matching.md): upstream Maven and osv-scanner disagree on '.qualifier'
          // after numbers; our compromise misses 0 of 550 and 10 of 8,798 shared rows. Cap the share.
          assert.ok(bad.length <= Math.max(2, rows.length * 0.005), `${bad.length} rows differ:\n${bad.slice(0, 40).join('\n')}`);
        } else {
          assert.deepEqual(bad, []);
        }
      });
    }
  });
}

describe('validity', () => {
  it('rejects what pypa packaging rejects', () => {
    const bad = JSON.parse(readFileSync(join(VECTORS, 'pep440', 'packaging-invalid-versions.json'), 'utf8')) as string[];
    for (const v of bad) assert.equal(parsePep440(v), undefined, v);
    assert.ok(parsePep440('1.0.post1.dev2+local.7'));
  });
  it('node-semver valid and invalid fixtures', () => {
    const valid = JSON.parse(readFileSync(join(VECTORS, 'semver', 'node-semver-valid-versions.json'), 'utf8')) as unknown[][];
    for (const r of valid) {
      const p = parseSemver(String(r[0]));
      assert.ok(p, String(r[0]));
      assert.deepEqual(p.core, [String(r[1]), String(r[2]), String(r[3])]);
    }
    const invalid = JSON.parse(readFileSync(join(VECTORS, 'semver', 'node-semver-invalid-versions.json'), 'utf8')) as unknown[][];
    for (const r of invalid) {
      if (typeof r[0] !== 'string' || r[2] !== null) continue;
      // node-semver also rejects numbers above MAX_SAFE_INTEGER; we order them exactly instead (OSV SEMVER)
      if (/too (big|long)/.test(String(r[1]))) continue;
      assert.equal(parseSemver(r[0]), undefined, r[0]);
    }
  });
  it('apk-tools validity lines', () => {
    const data = JSON.parse(readFileSync(join(VECTORS, 'apk', 'apk-tools-validity.json'), 'utf8')) as { validity: [string, boolean][] };
    const wrong = data.validity.filter(([v, ok]) => isValidApk(v) !== ok).map(([v]) => v);
    assert.deepEqual(wrong, []);
  });
});

describe('ecosystem table', () => {
  it('maps OSV ecosystem strings with release suffixes', () => {
    assert.equal(comparatorFor('Debian:12')?.id, 'dpkg');
    assert.equal(comparatorFor('Ubuntu:22.04:LTS')?.id, 'dpkg');
    assert.equal(comparatorFor('Alpine:v3.19')?.id, 'apk');
    assert.equal(comparatorFor('Wolfi')?.id, 'apk');
    assert.equal(comparatorFor('Rocky Linux:9')?.id, 'rpm');
    assert.equal(comparatorFor('Go')?.id, 'go');
    assert.equal(comparatorFor('PyPI')?.id, 'pep440');
    assert.equal(comparatorFor('Ubuntu:Pro:18.04:LTS')?.id, 'dpkg');
    assert.equal(comparatorFor('Alpaquita:23')?.id, 'apk');
    assert.equal(comparatorFor('MinimOS')?.id, 'apk');
    assert.equal(comparatorFor('SUSE:Linux Enterprise Server 15 SP5')?.id, 'rpm');
    assert.equal(comparatorFor('Red Hat:enterprise_linux:9::appstream')?.id, 'rpm');
    assert.equal(comparatorFor('Bitnami')?.id, 'semver');
    assert.equal(comparatorFor('Nope'), undefined);
    assert.throws(() => compareVersions('Nope', '1', '2'), /no version comparator/);
  });
  it('orders Go pseudo-versions and +incompatible', () => {
    assert.equal(compareVersions('Go', 'v0.0.0-20210101000000-abcdef123456', '0.0.0-20220101000000-abcdef123456'), -1);
    assert.equal(compareVersions('Go', '2.7.1+incompatible', 'v2.7.1'), 0);
    assert.equal(compareVersions('Go', '1.2.4-0.20200101000000-abcdef123456', '1.2.4'), -1);
    assert.equal(compareVersions('Go', '1.2.4-0.20200101000000-abcdef123456', '1.2.3'), 1);
  });
  it('orders NuGet 4-part and case-insensitive prereleases', () => {
    assert.equal(compareVersions('NuGet', '1.2.3.4', '1.2.3'), 1);
    assert.equal(compareVersions('NuGet', '1.2.3-Beta', '1.2.3-beta'), 0);
    assert.equal(compareVersions('NuGet', '1.2.3.0', '1.2.3'), 0);
  });
  it('orders Maven qualifiers after "." as current Maven does (ComparableVersionTest MNG-7644, MNG-7714)', () => {
    // apache/maven compat/maven-artifact/.../ComparableVersionTest.java testMng7644 / testMng7714
    const rows: [string, string, number][] = [
      ['1.0.0.RC1', '1.0.0-RC2', -1],
      ['1.0.0.abc1', '1.0.0-abc2', -1],
      ['1.0.0.b1', '1.0.0-b2', -1],
      ['2-def', '2.0.0.def', 0],
      ['1.0.final-redhat', '1.0-sp1-redhat', -1],
      ['1.0.final-redhat', '1.0-sp.1-redhat', -1],
      // osv-scanner internal/semantic/fixtures/maven-versions.txt
      ['1-1', '1-ga-1', 0],
      ['1', '1.final', 0],
      // osv-scalibr semantic/testdata/maven-versions-generated.txt (real advisory versions)
      ['4.1.0.M1', '4.1.0.RC', -1],
      ['4.0.16.Final', '4.0.16.Final-jason1', -1],
      ['2.0.0-M4', '2.0.0.M5', -1],
      ['3.1.0.Beta', '3.1.0.Beta1', -1],
      ['11.0.0.Alpha', '11.0.0.Alpha1', -1],
    ];
    for (const [a, b, want] of rows) {
      assert.equal(compareVersions('Maven', a, b), want, `${a} vs ${b}`);
      assert.equal(compareVersions('Maven', b, a), want === 0 ? 0 : -want, `${b} vs ${a}`);
    }
  });
  it('orders RubyGems prereleases', () => {
    assert.equal(compareVersions('RubyGems', '1.0.0.pre', '1.0.0'), -1);
    assert.equal(compareVersions('RubyGems', '1.0.a', '1.0.b'), -1);
    assert.equal(compareVersions('RubyGems', '1.0', '1'), 0);
    assert.equal(compareVersions('RubyGems', '1.0.0-rc1', '1.0.0'), -1);
    assert.equal(compareVersions('RubyGems', '1.10', '1.9'), 1);
  });
  it('never throws on garbage', () => {
    const junk = ['', ' ', 'ß', '~~', '-', '::', 'a:b-c', '1..2', '\u0000', 'x'.repeat(5000)];
    for (const eco of ['Debian', 'Alpine', 'Rocky Linux', 'npm', 'Go', 'PyPI', 'Maven', 'RubyGems', 'NuGet', 'crates.io', 'Packagist']) {
      for (const a of junk) for (const b of junk) assert.doesNotThrow(() => compareVersions(eco, a, b), `${eco} ${a} ${b}`);
    }
  });
});

/** mulberry32: small seeded RNG so failures reproduce. */
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

function randomDebVersion(r: () => number): string {
  const pick = (s: string): string => s[Math.floor(r() * s.length)]!;
  const part = (first: string, chars: string, max: number): string => {
    let out = pick(first);
    const n = Math.floor(r() * max);
    for (let i = 0; i < n; i++) out += pick(chars);
    return out;
  };
  const epoch = r() < 0.2 ? `${Math.floor(r() * 3)}:` : '';
  const upstream = part('0123456789', '0123456789.~+abz', 7);
  const revision = r() < 0.7 ? `-${part('0123456789a~+', '0123456789.~+abuntu', 6)}` : '';
  return epoch + upstream + revision;
}

const run = promisify(execFile);

async function dpkgCompare(a: string, b: string): Promise<number> {
  for (const [op, res] of [['lt', -1], ['eq', 0]] as const) {
    try {
      await run('dpkg', ['--compare-versions', a, op, b]);
      return res;
    } catch (e) {
      if ((e as { code?: unknown }).code !== 1) throw e;
    }
  }
  return 1;
}

describe('dpkg against the real dpkg --compare-versions', () => {
  it('agrees on a few hundred random valid version pairs (seed 20261122)', async () => {
    const r = rng(20261122);
    const pairs: [string, string][] = [];
    for (let i = 0; i < 400; i++) {
      const a = randomDebVersion(r);
      // a third of pairs share a prefix so the interesting tails get compared
      const b = r() < 0.33 ? a.slice(0, Math.floor(r() * a.length)) + randomDebVersion(r).slice(1) : randomDebVersion(r);
      if (isValidDeb(a) && isValidDeb(b)) pairs.push([a, b]);
    }
    assert.ok(pairs.length > 200, `only ${pairs.length} valid pairs generated`);
    const bad: string[] = [];
    for (let i = 0; i < pairs.length; i += 10) {
      const chunk = pairs.slice(i, i + 10);
      const want = await Promise.all(chunk.map(([a, b]) => dpkgCompare(a, b)));
      chunk.forEach(([a, b], j) => {
        const got = compareVersions('Debian:12', a, b);
        if (got !== want[j]) bad.push(`${a} vs ${b}: dpkg ${want[j]}, ours ${got}`);
      });
    }
    assert.deepEqual(bad, []);
  });
});
