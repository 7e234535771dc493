import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryFs, type FsFile, type Package } from '../../domain/index.ts';
import { TESTDATA } from '../../../test/helpers/paths.ts';
import { trivyBinary } from '../../../test/helpers/trivy.ts';
import { bundlerCataloger, gemPurl, parseGemfileLock } from './index.ts';

const file = (path: string, text: string): FsFile => ({ path, content: Buffer.from(text), mode: 0o100644, size: text.length });

const LOCK = `GIT
  remote: https://github.com/x/y.git
  revision: abc
  specs:
    gitgem (0.1.0)
      rack (>= 1.0)

PATH
  remote: .
  specs:
    mygem (1.0.0)
      rack

GEM
  remote: https://rubygems.org/
  specs:
    dup (1.0)
    dup (2.0)
    nokogiri (1.13.6-x86_64-linux)
      racc (~> 1.4)
    nokogiri (1.13.6-arm64-darwin)
      racc (~> 1.4)
    racc (1.6.0)
    rack (2.2.3)
    noparen 1.0
    weird
    a b c

PLATFORMS
  ruby

DEPENDENCIES
  dup (>= 1)
  gitgem!
  mygem!
  nokogiri

BUNDLED WITH
   2.3.7
`;

const SOLO = 'GEM\r\n  specs:\r\n    solo (1.0)\r\n';

/** Name, version, Indirect of each package, sorted: the part of Trivy's output a lock file decides. */
const rows = (pkgs: { name: string; version: string; indirect: boolean }[]): string[] => pkgs.map((p) => `${p.name}@${p.version}${p.indirect ? ' indirect' : ''}`).sort();
const ours = (pkgs: Package[], target: string): string[] => rows(pkgs.filter((p) => p.filePath === target).map((p) => ({ name: p.name, version: p.version, indirect: p.relationship === 'indirect' })));

describe('Gemfile.lock', () => {
  it('specs of every section, platform suffix dropped, last spec of a name wins, DEPENDENCIES are direct', () => {
    assert.deepEqual(
      rows(parseGemfileLock(LOCK).map((s) => ({ name: s.name, version: s.version, indirect: !s.direct }))),
      ['dup@2.0', 'gitgem@0.1.0 indirect', 'mygem@1.0.0 indirect', 'nokogiri@1.13.6', 'noparen@1.0 indirect', 'racc@1.6.0 indirect', 'rack@2.2.3 indirect'],
    );
  });
  it('CRLF lines; no DEPENDENCIES section: every gem indirect', () => {
    assert.deepEqual(parseGemfileLock(SOLO), [{ name: 'solo', version: '1.0', direct: false }]);
  });
  it('purl pkg:gem/NAME@VER', () => {
    assert.equal(gemPurl('activesupport', '4.2.0.beta1'), 'pkg:gem/activesupport@4.2.0.beta1');
  });
  it('projects only: nothing in an image or an OS root filesystem', async () => {
    const fs = new MemoryFs([file('app/Gemfile.lock', LOCK), file('Gemfile.lock.bak', LOCK)]);
    const pkgs = await bundlerCataloger.catalog(fs, { notes: [], artifactType: 'filesystem' });
    assert.equal(pkgs.length, 7);
    const n = pkgs.find((p) => p.name === 'nokogiri');
    assert.deepEqual(n, { type: 'bundler', name: 'nokogiri', version: '1.13.6', purl: 'pkg:gem/nokogiri@1.13.6', locations: [{ path: 'app/Gemfile.lock' }], filePath: 'app/Gemfile.lock', dev: false, relationship: 'direct' });
    assert.deepEqual(await bundlerCataloger.catalog(fs, { notes: [], artifactType: 'container_image' }), []);
    assert.deepEqual(await bundlerCataloger.catalog(fs, { notes: [], os: { family: 'debian', version: '12' } }), []);
    assert.equal(bundlerCataloger.wants({ path: 'x/Gemfile.lock', size: 1, mode: 0o100644 }), true);
    assert.equal(bundlerCataloger.wants({ path: 'x/Gemfile', size: 1, mode: 0o100644 }), false);
  });
  it('malformed input: binary junk gives nothing, an over-long line a note, never a crash', async () => {
    const ctx = { notes: [] as string[] };
    const pkgs = await bundlerCataloger.catalog(new MemoryFs([file('a/Gemfile.lock', '\u0000\u0001 garbage\n    (\n'), file('b/Gemfile.lock', `GEM\n  specs:\n    x (1)\n    ${'y'.repeat(70000)} (1)\n`)]), ctx);
    assert.deepEqual(pkgs, []);
    assert.equal(ctx.notes.length, 1);
    assert.match(ctx.notes[0] as string, /^bundler: \/b\/Gemfile\.lock could not be read \(line 4 is longer than 65536 bytes\)/);
  });
  it('the same packages and relationships as Trivy 0.44.1 fs --list-all-pkgs', async (t) => {
    const trivy = trivyBinary();
    if (!trivy) return t.skip('Trivy binary absent (PORTCULLIS_TEST_TRIVY)');
    const dir = mkdtempSync(join(tmpdir(), 'pc-bundler-'));
    try {
      const files = { 'app/Gemfile.lock': LOCK, 'solo/Gemfile.lock': SOLO };
      for (const [p, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, 'src', p)), { recursive: true });
        writeFileSync(join(dir, 'src', p), text);
      }
      cpSync(join(TESTDATA, 'trivy-db', 'db'), join(dir, 'cache', 'db'), { recursive: true });
      const out = execFileSync(trivy, ['fs', '--quiet', '--list-all-pkgs', '--format', 'json', '--cache-dir', join(dir, 'cache'), '--skip-db-update', '--offline-scan', join(dir, 'src')], { encoding: 'utf8', maxBuffer: 16 << 20 });
      const report = JSON.parse(out) as { Results?: { Target: string; Type: string; Packages?: { Name: string; Version?: string; Indirect?: boolean }[] }[] };
      const pkgs = await bundlerCataloger.catalog(new MemoryFs(Object.entries(files).map(([p, text]) => file(p, text))), { notes: [], artifactType: 'filesystem' });
      for (const target of Object.keys(files)) {
        const r = report.Results?.find((x) => x.Target === target);
        assert.equal(r?.Type, 'bundler', target);
        assert.deepEqual(ours(pkgs, target), rows((r?.Packages ?? []).map((p) => ({ name: p.Name, version: p.Version ?? '', indirect: p.Indirect === true }))), target);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
