/**
 * Every OS package-database fixture in shared/testdata/pkgdb yields exactly its expected.json list.
 * Generic over fixture folders (by `format`), so new fixtures of the same layout are covered.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Package } from '../../src/domain/index.ts';
import { catalogFs, fileSelector } from '../../src/ecosystems/index.ts';
import { loadTree } from '../helpers/pkgdb.ts';
import { REPO_ROOT, TESTDATA } from '../helpers/paths.ts';

const PKGDB = join(TESTDATA, 'pkgdb');
const OS_FORMATS = /^(apk-installed|dpkg-status|dpkg-status\.d|rpmdb-sqlite|rpmdb-bdb|rpmdb-ndb|rpm-manifest)$/;

interface Expected {
  fixture: string;
  format: string;
  packages: Record<string, unknown>[];
  expected_is_partial?: boolean;
}

function bareVersion(p: Package): string {
  let v = p.version.replace(/^\d+:/, '');
  if (p.release && v.endsWith(`-${p.release}`)) v = v.slice(0, -(p.release.length + 1));
  return v;
}

/** The README's normalised fields of one package, for the keys the expected row has. */
function project(p: Package, format: string, keys: string[]): Record<string, unknown> {
  const all: Record<string, unknown> = { name: p.name, arch: p.arch ?? null };
  if (format.startsWith('apk')) {
    Object.assign(all, { version: p.version, source_name: p.source?.name ?? null, source_version: p.version, licenses: p.licenses ?? [] });
  } else if (format.startsWith('dpkg')) {
    Object.assign(all, { version: p.version, source_name: p.source?.name ?? null, source_version: p.source?.version ?? null, file: p.locations[0]?.path });
  } else {
    Object.assign(all, {
      epoch: p.epoch ?? null,
      version: bareVersion(p),
      release: p.release ?? null,
      evr: p.version,
      source_rpm: p.extra?.['sourceRpm'] ?? null,
      source_name: p.source?.name ?? null,
      source_version: p.source?.version ?? null,
      license: p.licenses?.[0] ?? null,
      vendor: p.extra?.['vendor'] ?? null,
    });
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k !== 'status') out[k] = all[k];
  return out;
}

const sortKey = (r: Record<string, unknown>): string => JSON.stringify([r['name'], r['version'], r['arch'], r['release'] ?? '']);

/** Our own generated fixtures (see src/ecosystems/rpm/testdata/generate.ts) use the same layout. */
const LOCAL = [join(REPO_ROOT, 'src/ecosystems/rpm/testdata')];

const fixtures = [PKGDB, ...LOCAL]
  .flatMap((root) => readdirSync(root).map((d) => ({ root, dir: d })))
  .filter(({ root, dir }) => existsSync(join(root, dir, 'expected.json')))
  .map(({ root, dir }) => ({ root, dir, expected: JSON.parse(readFileSync(join(root, dir, 'expected.json'), 'utf8')) as Expected }))
  .filter((f) => OS_FORMATS.test(f.expected.format));

describe('OS package databases: shared pkgdb fixtures', () => {
  it('finds the OS fixtures', () => {
    assert.ok(fixtures.length >= 20, `only ${fixtures.length} OS fixtures found under ${PKGDB}`);
  });
  const sel = fileSelector();
  for (const { root, dir, expected } of fixtures) {
    it(`${dir} (${expected.format}) yields exactly its expected packages`, async () => {
      const fs = loadTree(join(root, dir), (f) => sel.wants(f));
      assert.ok(fs.get(expected.fixture), `the selector must want ${expected.fixture}`);
      const res = await catalogFs(fs);
      // pkgdb fixtures hold no release files: that note is expected, nothing else.
      assert.deepEqual(res.notes.filter((n) => !n.startsWith('OS packages found but no OS release file')), []);
      assert.equal(res.complete, true);
      const keys = [...new Set(expected.packages.flatMap((p) => Object.keys(p)))];
      const got = res.packages.map((p) => project(p, expected.format, keys)).sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
      const want = expected.packages
        .map((p) => Object.fromEntries(Object.entries(p).filter(([k]) => k !== 'status')))
        .map((p) => Object.fromEntries(keys.filter((k) => k !== 'status').map((k) => [k, p[k] ?? (k === 'licenses' ? [] : null)])))
        .sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
      if (expected.expected_is_partial) {
        for (const w of want) assert.ok(got.some((g) => JSON.stringify(g) === JSON.stringify(w)), `missing ${JSON.stringify(w)}`);
      } else {
        assert.deepEqual(got, want);
      }
      for (const p of res.packages) assert.match(p.purl, /^pkg:(apk|deb|rpm)\//);
    });
  }
});
