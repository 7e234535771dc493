/**
 * Every npm and Python fixture in shared/testdata/pkgdb yields exactly its expected.json list,
 * read the way a scan reads it: `rootfs:DIR` through the image walker (file selection, condensing,
 * merge) and then the catalogers. Generic over fixture folders by `format`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Package } from '../../src/domain/index.ts';
import { catalogFs, fileSelector } from '../../src/ecosystems/index.ts';
import { analyzeTarget } from '../../src/image/index.ts';
import { TESTDATA } from '../helpers/paths.ts';

const PKGDB = join(TESTDATA, 'pkgdb');
const LANG_FORMATS = /^(npm-|python-)/;
const cacheDir = mkdtempSync(join(tmpdir(), 'lang-pkgdb-'));
after(() => rmSync(cacheDir, { recursive: true, force: true }));

interface Expected {
  fixture: string;
  format: string;
  packages: Record<string, unknown>[];
}

function project(p: Package, keys: string[]): Record<string, unknown> {
  const all: Record<string, unknown> = {
    name: p.name,
    version: p.version,
    licenses: p.licenses ?? null,
    dev: p.dev ?? false,
    relationship: p.relationship ?? null,
  };
  return Object.fromEntries(keys.map((k) => [k, all[k]]));
}

const key = (r: Record<string, unknown>): string => JSON.stringify([r['name'], r['version'], r['dev'] ?? false]);

const fixtures = readdirSync(PKGDB)
  .filter((d) => existsSync(join(PKGDB, d, 'expected.json')))
  .map((d) => ({ dir: d, expected: JSON.parse(readFileSync(join(PKGDB, d, 'expected.json'), 'utf8')) as Expected }))
  .filter((f) => LANG_FORMATS.test(f.expected.format));

describe('language packages: shared pkgdb fixtures through rootfs:DIR', () => {
  it('finds the npm and python fixtures', () => {
    assert.ok(fixtures.filter((f) => f.expected.format.startsWith('npm')).length >= 4);
    assert.ok(fixtures.filter((f) => f.expected.format.startsWith('python')).length >= 5);
  });
  const sel = fileSelector();
  for (const { dir, expected } of fixtures) {
    it(`${dir} (${expected.format}) yields exactly its expected packages`, async () => {
      const res = await analyzeTarget(`rootfs:${join(PKGDB, dir)}`, sel, { cacheDir });
      assert.ok(res.fs.get(expected.fixture), `the selector must collect ${expected.fixture}`);
      const cat = await catalogFs(res.fs, { artifactType: res.artifact.type });
      assert.deepEqual(cat.notes, []);
      assert.equal(cat.complete, true);
      const keys = [...new Set(expected.packages.flatMap((p) => Object.keys(p)))];
      const got = cat.packages.map((p) => project(p, keys)).sort((a, b) => key(a).localeCompare(key(b)));
      const want = expected.packages.map((p) => Object.fromEntries(keys.map((k) => [k, p[k] ?? null]))).sort((a, b) => key(a).localeCompare(key(b)));
      assert.deepEqual(got, want);
      for (const p of cat.packages) {
        assert.equal(p.filePath, expected.fixture, 'Trivy groups the package under its metadata / lock file');
        assert.deepEqual(p.locations, [{ path: expected.fixture }]);
        assert.match(p.purl, expected.format.startsWith('npm') ? /^pkg:npm\// : /^pkg:pypi\//);
      }
    });
  }
});
