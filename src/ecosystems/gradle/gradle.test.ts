import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryFs, type FsFile, type Package } from '../../domain/index.ts';
import { TESTDATA } from '../../../test/helpers/paths.ts';
import { trivyBinary } from '../../../test/helpers/trivy.ts';
import { gradleCataloger, parseGradleLockfile } from './index.ts';

const file = (path: string, text: string): FsFile => ({ path, content: Buffer.from(text), mode: 0o100644, size: text.length });

const LOCK = `# This is a Gradle generated file for dependency locking.
# Manual edits can break the build and are not advised.
com.google.guava:guava:31.1-jre=compileClasspath,runtimeClasspath
com.google.guava:guava:31.1-jre=testCompileClasspath
org.a:b=compileClasspath
bad:line
x:y:z:w=runtime
 spaced : name : 1.0 =foo
a:b:c
d:e:=x
h:i:2.0=a=b
  # c:d:e=x
empty=
`;

const rows = (pkgs: { name: string; version: string }[]): string[] => pkgs.map((p) => JSON.stringify([p.name, p.version])).sort();
const ours = (pkgs: Package[], target: string): string[] => rows(pkgs.filter((p) => p.filePath === target));

describe('gradle.lockfile', () => {
  it('group:artifact:version lines, configurations cut, comments and other shapes skipped, one per name@version', () => {
    assert.deepEqual(rows(parseGradleLockfile(LOCK)), rows([
      { name: 'com.google.guava:guava', version: '31.1-jre' },
      { name: 'spaced : name ', version: ' 1.0 ' },
      { name: 'a:b', version: 'c' },
      { name: 'd:e', version: '' },
      { name: 'h:i', version: '2.0' },
    ]));
  });
  it('purl pkg:maven/GROUP/ARTIFACT@VER; projects only; any name ending in gradle.lockfile', async () => {
    const fs = new MemoryFs([file('app/gradle.lockfile', 'org.springframework:spring-beans:5.3.0-RC1=testCompileClasspath\n'), file('app/buildscript-gradle.lockfile', 'a:b:1.0=x\n')]);
    const pkgs = await gradleCataloger.catalog(fs, { notes: [], artifactType: 'repository' });
    assert.deepEqual(pkgs.find((p) => p.filePath === 'app/gradle.lockfile'), {
      type: 'gradle', name: 'org.springframework:spring-beans', version: '5.3.0-RC1', purl: 'pkg:maven/org.springframework/spring-beans@5.3.0-RC1',
      locations: [{ path: 'app/gradle.lockfile' }], filePath: 'app/gradle.lockfile', dev: false, relationship: 'unknown',
    });
    assert.equal(pkgs.length, 2);
    assert.deepEqual(await gradleCataloger.catalog(fs, { notes: [], artifactType: 'container_image' }), []);
    assert.deepEqual(await gradleCataloger.catalog(fs, { notes: [], os: { family: 'alpine', version: '3.18.0' } }), []);
    assert.equal(gradleCataloger.wants({ path: 'gradle.lockfile', size: 1, mode: 0o100644 }), true);
    assert.equal(gradleCataloger.wants({ path: 'gradle.lockfile.orig', size: 1, mode: 0o100644 }), false);
  });
  it('malformed input (binary junk, JSON) gives no packages and no crash, as Trivy', async () => {
    const ctx = { notes: [] as string[] };
    const pkgs = await gradleCataloger.catalog(new MemoryFs([file('a/gradle.lockfile', '\u0000\u0001\u0002'), file('b/gradle.lockfile', '{"a": "b"}')]), ctx);
    assert.deepEqual(pkgs, []);
    assert.deepEqual(ctx.notes, []);
  });
  it('the same packages as Trivy 0.44.1 fs --list-all-pkgs', async (t) => {
    const trivy = trivyBinary();
    if (!trivy) return t.skip('Trivy binary absent (PORTCULLIS_TEST_TRIVY)');
    const dir = mkdtempSync(join(tmpdir(), 'pc-gradle-'));
    try {
      const files = { 'app/gradle.lockfile': LOCK, 'app/buildscript-gradle.lockfile': 'a:b:1.0=x\n' };
      for (const [p, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, 'src', p)), { recursive: true });
        writeFileSync(join(dir, 'src', p), text);
      }
      cpSync(join(TESTDATA, 'trivy-db', 'db'), join(dir, 'cache', 'db'), { recursive: true });
      const out = execFileSync(trivy, ['fs', '--quiet', '--list-all-pkgs', '--format', 'json', '--cache-dir', join(dir, 'cache'), '--skip-db-update', '--offline-scan', join(dir, 'src')], { encoding: 'utf8', maxBuffer: 16 << 20 });
      const report = JSON.parse(out) as { Results?: { Target: string; Type: string; Packages?: { Name: string; Version?: string }[] }[] };
      const pkgs = await gradleCataloger.catalog(new MemoryFs(Object.entries(files).map(([p, text]) => file(p, text))), { notes: [], artifactType: 'filesystem' });
      for (const target of Object.keys(files)) {
        const r = report.Results?.find((x) => x.Target === target);
        assert.equal(r?.Type, 'gradle', target);
        assert.deepEqual(ours(pkgs, target), rows((r?.Packages ?? []).map((p) => ({ name: p.Name, version: p.Version ?? '' }))), target);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
