/**
 * Regression fixtures for cases found by checking the upstream test fixtures of Trivy, osv-scalibr,
 * syft and go-rpmdb (the sources of shared/testdata) against our catalogers: every
 * `src/ecosystems/<eco>/testdata/regress/<case>/expected.json` is read the way a scan reads it
 * (`rootfs:DIR` through the image walker, then the OS detectors and catalogers) and must yield
 * exactly its package list, with the same normalised fields as the shared pkgdb fixtures
 * (shared/testdata/pkgdb/README.md). `detected_os` (when present) is the OS the detectors must
 * find (a `null` field: absent); `null` as a whole means none. Each fixture's data is our own, with the upstream case it reproduces in
 * `provenance`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { OsInfo, Package } from '../../src/domain/index.ts';
import { catalogFs, fileSelector } from '../../src/ecosystems/index.ts';
import { analyzeTarget } from '../../src/image/index.ts';
import { REPO_ROOT } from '../helpers/paths.ts';

const ECOSYSTEMS = join(REPO_ROOT, 'src/ecosystems');
const cacheDir = mkdtempSync(join(tmpdir(), 'holdout-'));
after(() => rmSync(cacheDir, { recursive: true, force: true }));

interface Expected {
  fixture?: string;
  format: string;
  packages: Record<string, unknown>[];
  detected_os?: Partial<OsInfo> | null;
  /** Notes the result must carry (substrings), beyond the "no OS release file" one. */
  expected_notes?: string[];
}

function bareVersion(p: Package): string {
  let v = p.version.replace(/^\d+:/, '');
  if (p.release && v.endsWith(`-${p.release}`)) v = v.slice(0, -(p.release.length + 1));
  return v;
}

/** The shared README's normalised fields (the same projection as ecosystems-pkgdb / ecosystems-lang-pkgdb). */
function project(p: Package, format: string, keys: string[]): Record<string, unknown> {
  const all: Record<string, unknown> = { name: p.name, arch: p.arch ?? null };
  if (format.startsWith('apk')) {
    Object.assign(all, { version: p.version, source_name: p.source?.name ?? null, source_version: p.version, licenses: p.licenses ?? [] });
  } else if (format.startsWith('dpkg')) {
    Object.assign(all, { version: p.version, source_name: p.source?.name ?? null, source_version: p.source?.version ?? null });
  } else if (format.startsWith('rpm')) {
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
  } else {
    Object.assign(all, { version: p.version, licenses: p.licenses ?? null, dev: p.dev ?? false, relationship: p.relationship ?? null });
  }
  return Object.fromEntries(keys.map((k) => [k, all[k] ?? null]));
}

const sortKey = (r: Record<string, unknown>): string => JSON.stringify([r['name'], r['version'], r['arch'] ?? '', r['release'] ?? '', r['dev'] ?? false]);

const fixtures = readdirSync(ECOSYSTEMS)
  .map((eco) => join(ECOSYSTEMS, eco, 'testdata/regress'))
  .filter((d) => existsSync(d))
  .flatMap((d) => readdirSync(d).map((c) => join(d, c)))
  .filter((d) => existsSync(join(d, 'expected.json')))
  .map((dir) => ({ dir, name: dir.slice(ECOSYSTEMS.length + 1), expected: JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected }));

describe('upstream-derived regression fixtures through rootfs:DIR', () => {
  it('finds the fixtures', () => {
    assert.ok(fixtures.length >= 5, `only ${fixtures.length} fixtures under ${ECOSYSTEMS}/*/testdata/regress`);
  });
  const sel = fileSelector();
  for (const { dir, name, expected } of fixtures) {
    it(`${name} (${expected.format})`, async () => {
      const res = await analyzeTarget(`rootfs:${dir}`, sel, { cacheDir });
      if (expected.fixture) assert.ok(res.fs.get(expected.fixture), `the selector must collect ${expected.fixture}`);
      const cat = await catalogFs(res.fs, { artifactType: res.artifact.type });
      const notes = cat.notes.filter((n) => !n.startsWith('OS packages found but no OS release file'));
      const wantNotes = expected.expected_notes ?? [];
      for (const w of wantNotes) assert.ok(notes.some((n) => n.includes(w)), `a note saying "${w}" in ${JSON.stringify(notes)}`);
      if (!wantNotes.length) assert.deepEqual(notes, []);
      if (expected.detected_os === null) assert.equal(cat.os, undefined, `no OS expected, found ${JSON.stringify(cat.os)}`);
      else if (expected.detected_os) {
        assert.ok(cat.os, 'an OS must be detected');
        for (const [k, v] of Object.entries(expected.detected_os)) assert.deepEqual(cat.os[k as keyof OsInfo] ?? null, v, `os.${k}`);
      }
      const keys = [...new Set(expected.packages.flatMap((p) => Object.keys(p)))];
      const got = cat.packages.map((p) => project(p, expected.format, keys)).sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
      const want = expected.packages
        .map((p) => Object.fromEntries(keys.map((k) => [k, p[k] ?? null])))
        .sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
      if (keys.length) assert.deepEqual(got, want);
      else assert.deepEqual(cat.packages.map((p) => p.name), []);
    });
  }
});
