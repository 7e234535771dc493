/**
 * Version-comparison rows from the same upstream files as ../shared/testdata/versions, beyond the
 * shared partition (test/fixtures/holdout-versions/*.json, each naming its upstream file and commit),
 * plus short tables for ecosystems the shared set has no vectors for, and a live check against
 * `dpkg --compare-versions` on real Debian versions from OSV advisories.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TESTDATA } from '../helpers/paths.ts';
import { compareVersions } from '../../src/versions/index.ts';
import { parsePep440 } from '../../src/versions/pep440.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'holdout-versions');

type Row = [string, string, number];

function check(eco: string, rows: readonly Row[]): string[] {
  const bad: string[] = [];
  for (const [a, b, want] of rows) {
    const got = compareVersions(eco, a, b);
    const back = compareVersions(eco, b, a);
    if (got !== want || back !== (want === 0 ? 0 : -want)) bad.push(`${JSON.stringify([a, b])}: want ${want}, got ${got}/${back}`);
  }
  return bad;
}

interface RowFile {
  ecosystem: string;
  source: string;
  rows: Row[];
}

describe('upstream version rows beyond the shared partition', () => {
  for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith('.json') && f !== 'packaging-test_version.json')) {
    const data = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as RowFile;
    it(`${file}: ${data.rows.length} rows (${data.ecosystem})`, () => {
      assert.ok(data.rows.length > 0);
      assert.deepEqual(check(data.ecosystem, data.rows), [], data.source);
    });
  }

  it('pypa/packaging: every pair of VERSIONS in order, invalid versions rejected, normalisations equal', () => {
    const d = JSON.parse(readFileSync(join(FIXTURES, 'packaging-test_version.json'), 'utf8')) as {
      versions: string[];
      invalid: string[];
      equal: Row[];
    };
    const rows: Row[] = [];
    for (let i = 0; i < d.versions.length; i++) {
      for (let j = i + 1; j < d.versions.length; j++) rows.push([d.versions[i]!, d.versions[j]!, -1]);
    }
    assert.equal(rows.length, 4186);
    assert.deepEqual(check('PyPI', rows), []);
    assert.deepEqual(d.invalid.filter((v) => parsePep440(v) !== undefined), []);
    assert.deepEqual(d.equal.filter(([a]) => parsePep440(a) === undefined), []);
    assert.deepEqual(check('PyPI', d.equal), []);
  });
});

describe('ecosystems without shared vectors', () => {
  it('RubyGems: real gem versions from osv-scalibr semantic/testdata/rubygems-versions-generated.txt', () => {
    // Each row also agrees with Ruby's Gem::Version#<=> (checked with ruby 3.1 when written).
    const rows: Row[] = [
      ['5.0.0.beta1', '5.0.0.beta1.1', -1],
      ['5.0.0.beta4', '5.0.0.racecar1', -1],
      ['5.0.0.racecar1', '5.0.0.rc1', -1],
      ['3.0.0.beta4', '3.0.pre', -1],
      ['3.0.pre', '3.0.0.rc', -1],
      ['1.0.0.rc1', '1.0.0.1', -1],
      ['1.5.0.beta.4', '1.5.0', -1],
      ['1.5.0.beta.1', '1.5.0.beta.2', -1],
      ['1.2.0.dev4', '1.2.0.pre1', -1],
      ['1.1.6.pre2', '1.2.0.dev', -1],
      ['1.6.2.a', '1.6.3', -1],
      ['1.4.0.a', '1.4.0', -1],
      ['0.119.0.beta1', '0.119.0', -1],
      ['2.3.8.pre1', '2.3.8', -1],
      ['0.9.4', '0.9.4.1', -1],
      ['3.2.22.5', '4.0.0.beta1', -1],
      ['1.0', '1.0.0', 0],
    ];
    assert.deepEqual(check('RubyGems', rows), []);
  });

  it('Go: pseudo-versions and +incompatible (module version semantics)', () => {
    const rows: Row[] = [
      ['v0.0.0-20190308221718-c2843e01d9a2', 'v0.0.0-20200622213623-75b288015ac9', -1],
      ['v0.0.0-20200622213623-75b288015ac9', '0.1.0', -1],
      ['v1.2.4-0.20200101000000-abcdef123456', 'v1.2.3', 1],
      ['v1.2.4-0.20200101000000-abcdef123456', 'v1.2.4', -1],
      ['v1.2.4-pre.0.20200101000000-abcdef123456', 'v1.2.4-pre', 1],
      ['v2.0.0+incompatible', '2.0.0', 0],
      ['v17.12.0-ce-rc1.0.20200618181300-9dc6525e6118+incompatible', '17.12.0', -1],
      ['v1.10.0', 'v1.9.9', 1],
    ];
    assert.deepEqual(check('Go', rows), []);
  });

  it('Alpine: no revision sorts below -r0 (apk-tools version.c: the version that ends is the lower)', () => {
    // What `apk version -t` answers; OSV Alpine bounds without a revision ('fixed: 7.51.0') sit below every package build.
    const rows: Row[] = [
      ['1.0', '1.0-r0', -1],
      ['3.0.0', '3.0.0-r0', -1],
      ['7.51.0-r0', '7.51.0', 1],
      ['1.23', '1.23-r1', -1],
      ['1-r', '1-r0', 0],
      ['1', '1-ruff', 1],
    ];
    assert.deepEqual(check('Alpine:v3.19', rows), []);
  });

  it('crates.io: SemVer 2 precedence (the semver crate)', () => {
    const rows: Row[] = [
      ['0.3.0-alpha.1', '0.3.0-alpha.beta', -1],
      ['1.0.0-rc.1', '1.0.0', -1],
      ['0.9.10', '0.9.9', 1],
      ['1.0.0+build.1', '1.0.0', 0],
    ];
    assert.deepEqual(check('crates.io', rows), []);
  });
});

const run = promisify(execFile);

async function dpkgOrder(a: string, b: string): Promise<number> {
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

describe('Debian versions from OSV advisories against the real dpkg', () => {
  it('agrees with dpkg --compare-versions on neighbouring versions the shared rows do not pair', async () => {
    // osv-scalibr's generated file is a chain of sorted versions; the shared rows are 60% of its links,
    // so the end of one shared row and the start of the next are (mostly) a link we were not given.
    const file = join(TESTDATA, 'versions', 'deb', 'osv-scalibr-debian-versions-generated.json');
    const rows = JSON.parse(readFileSync(file, 'utf8')) as Row[];
    const links = rows.map(([a, b, w]) => (w === 1 ? [b, a] : [a, b]));
    const pairs: [string, string][] = [];
    for (let i = 0; i + 1 < links.length; i += 7) {
      if (links[i]![1] !== links[i + 1]![0]) pairs.push([links[i]![1]!, links[i + 1]![0]!]);
    }
    assert.ok(pairs.length > 200, `${pairs.length} pairs`);
    const bad: string[] = [];
    for (let i = 0; i < pairs.length; i += 10) {
      const chunk = pairs.slice(i, i + 10);
      const want = await Promise.all(chunk.map(([a, b]) => dpkgOrder(a, b)));
      chunk.forEach(([a, b], j) => {
        const got = compareVersions('Debian:12', a, b);
        if (got !== want[j]) bad.push(`${a} vs ${b}: dpkg ${want[j]}, ours ${got}`);
      });
    }
    assert.deepEqual(bad, []);
  });
});
