import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryFs, type FsFile, type Package } from '../../domain/index.ts';
import { TESTDATA } from '../../../test/helpers/paths.ts';
import { trivyBinary } from '../../../test/helpers/trivy.ts';
import type { CatalogContext } from '../types.ts';
import { nugetCataloger, nugetPurl, parseNugetLock, parsePackagesConfig } from './index.ts';

const file = (path: string, text: string): FsFile => ({ path, content: Buffer.from(text), mode: 0o100644, size: text.length });

const LOCK = JSON.stringify({
  version: 1,
  dependencies: {
    'net6.0': {
      'Newtonsoft.Json': { type: 'Direct', requested: '[12.0.3, )', resolved: '12.0.3', dependencies: { 'System.X': '4.0.0' } },
      'System.X': { type: 'Transitive', resolved: '4.0.0' },
      MyProj: { type: 'Project', dependencies: { a: '1' } },
      NoVer: { type: 'Direct' },
      Cc: { type: 'CentralTransitive', requested: '[1.0.0, )', resolved: '1.0.0' },
    },
    'net6.0/linux-x64': { 'System.X': { type: 'Transitive', resolved: '4.0.0' } },
    'net8.0': { 'Newtonsoft.Json': { type: 'Direct', requested: '[13.0.1, )', resolved: '13.0.1' } },
  },
}, null, 2);

const CONFIG = `\ufeff<?xml version="1.0" encoding="utf-8"?>
<packages>
  <!-- <package id="Commented.Out" version="9.9.9" /> -->
  <package id="Microsoft.Web.Xdt" version="2.1.1" targetFramework="net46" />
  <package id='Single.Quoted' version='1.0.0-rc&amp;1'/>
  <package id="Dev.Only" version="1.0.0" developmentDependency="true" />
  <package id="NoVersion" />
  <package version="1.0" />
</packages>
`;

const rows = (pkgs: { name: string; version: string; indirect: boolean }[]): string[] => pkgs.map((p) => `${p.name}@${p.version}${p.indirect ? ' indirect' : ''}`).sort();
const ours = (pkgs: Package[], target: string): string[] => rows(pkgs.filter((p) => p.filePath === target).map((p) => ({ name: p.name, version: p.version, indirect: p.relationship === 'indirect' })));

describe('NuGet', () => {
  it('packages.lock.json: every target, Project skipped, one per name@version, Direct direct, other types indirect', () => {
    assert.deepEqual(
      rows(parseNugetLock(LOCK).map((p) => ({ name: p.name, version: p.version, indirect: p.relationship === 'indirect' }))),
      ['Cc@1.0.0 indirect', 'Newtonsoft.Json@12.0.3', 'Newtonsoft.Json@13.0.1', 'NoVer@', 'System.X@4.0.0 indirect'],
    );
    // the same package Direct in one target and Transitive in another: direct
    const both = '{"version":1,"dependencies":{"x":{"A":{"type":"Transitive","resolved":"1.0"}},"y":{"A":{"type":"Direct","resolved":"1.0"}}}}';
    assert.deepEqual(parseNugetLock(both), [{ name: 'A', version: '1.0', relationship: 'direct' }]);
    assert.deepEqual(parseNugetLock('{"version":1}'), []);
  });
  it('packages.config: id required, developmentDependency skipped, comments ignored, entities decoded', () => {
    assert.deepEqual(parsePackagesConfig(CONFIG), [
      { name: 'Microsoft.Web.Xdt', version: '2.1.1', relationship: 'unknown' },
      { name: 'Single.Quoted', version: '1.0.0-rc&1', relationship: 'unknown' },
      { name: 'NoVersion', version: '', relationship: 'unknown' },
    ]);
  });
  it('purl pkg:nuget/NAME@VER (no @ when the lock has no version)', () => {
    assert.equal(nugetPurl('Newtonsoft.Json', '13.0.1-beta1'), 'pkg:nuget/Newtonsoft.Json@13.0.1-beta1');
    assert.equal(nugetPurl('NoVer', ''), 'pkg:nuget/NoVer');
  });
  it('read in projects, images and OS root filesystems alike (Trivy 0.44 does)', async () => {
    const fs = new MemoryFs([file('app/packages.lock.json', LOCK), file('app/sub/packages.config', CONFIG), file('app/my.packages.lock.json', LOCK)]);
    const contexts: CatalogContext[] = [{ notes: [], artifactType: 'filesystem' }, { notes: [], artifactType: 'container_image' }, { notes: [], os: { family: 'debian', version: '12' } }];
    for (const ctx of contexts) {
      const pkgs = await nugetCataloger.catalog(fs, ctx);
      assert.equal(pkgs.length, 8);
      assert.deepEqual(pkgs.find((p) => p.name === 'System.X'), { type: 'nuget', name: 'System.X', version: '4.0.0', purl: 'pkg:nuget/System.X@4.0.0', locations: [{ path: 'app/packages.lock.json' }], filePath: 'app/packages.lock.json', dev: false, relationship: 'indirect' });
    }
    assert.equal(nugetCataloger.wants({ path: 'a/packages.config', size: 1, mode: 0o100644 }), true);
    assert.equal(nugetCataloger.wants({ path: 'a/project.assets.json', size: 1, mode: 0o100644 }), false);
  });
  it('malformed input gives a note per file, never a crash; the other files still count', async () => {
    const ctx = { notes: [] as string[] };
    const bad = ['{"version": 1, "dependencies": ', '[1]', '{"dependencies": []}', '{"dependencies": {"x": {"A": {"resolved": 5}}}}'];
    const fs = new MemoryFs([...bad.map((t, i) => file(`b${i}/packages.lock.json`, t)), file('c/packages.config', 'not xml'), file('d/packages.config', '<packages><package id="A" developmentDependency="maybe"/></packages>'), file('ok/packages.lock.json', LOCK)]);
    const pkgs = await nugetCataloger.catalog(fs, ctx);
    assert.equal(pkgs.length, 5);
    assert.equal(ctx.notes.length, 6);
    for (const n of ctx.notes) assert.match(n, /^nuget: \/\S+ could not be read \(.+\); its packages are missing$/);
  });
  it('the same packages and relationships as Trivy 0.44.1 (fs and rootfs, --list-all-pkgs)', async (t) => {
    const trivy = trivyBinary();
    if (!trivy) return t.skip('Trivy binary absent (PORTCULLIS_TEST_TRIVY)');
    const dir = mkdtempSync(join(tmpdir(), 'pc-nuget-'));
    try {
      const files = { 'app/packages.lock.json': LOCK, 'app/sub/packages.config': CONFIG };
      for (const [p, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, 'src', p)), { recursive: true });
        writeFileSync(join(dir, 'src', p), text);
      }
      cpSync(join(TESTDATA, 'trivy-db', 'db'), join(dir, 'cache', 'db'), { recursive: true });
      const pkgs = await nugetCataloger.catalog(new MemoryFs(Object.entries(files).map(([p, text]) => file(p, text))), { notes: [] });
      for (const cmd of ['fs', 'rootfs']) {
        const out = execFileSync(trivy, [cmd, '--quiet', '--list-all-pkgs', '--format', 'json', '--cache-dir', join(dir, 'cache'), '--skip-db-update', '--offline-scan', join(dir, 'src')], { encoding: 'utf8', maxBuffer: 16 << 20 });
        const report = JSON.parse(out) as { Results?: { Target: string; Type: string; Packages?: { Name: string; Version?: string; Indirect?: boolean }[] }[] };
        for (const target of Object.keys(files)) {
          const r = report.Results?.find((x) => x.Target === target);
          assert.equal(r?.Type, 'nuget', `${cmd} ${target}`);
          assert.deepEqual(ours(pkgs, target), rows((r?.Packages ?? []).map((p) => ({ name: p.Name, version: p.Version ?? '', indirect: p.Indirect === true }))), `${cmd} ${target}`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
