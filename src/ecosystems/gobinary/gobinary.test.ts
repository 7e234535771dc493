import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { MemoryFs, type FsFile } from '../../domain/index.ts';
import { fileSelector } from '../index.ts';
import { buildInfoOf, condenseGoBinary, readGoBuildInfo } from './buildinfo.ts';
import { gobinaryCataloger, gomodCataloger, golangPurl } from './index.ts';
import { mergeGoSum, parseGoMod, parseGoSum } from './gomod.ts';
import { elfWithBuildInfo, machoWithBuildInfo, peWithBuildInfo, type BuildInfoSpec } from './testdata/exe-writer.ts';

const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'gobinary-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const MODINFO = [
  'path\texample.com/tool/cmd/tool',
  'mod\texample.com/tool\tv1.2.3\th1:abc=',
  'dep\tgolang.org/x/text\tv0.3.6\th1:x=',
  'dep\tgithub.com/a/b\tv1.0.0',
  '=>\tgithub.com/c/d\tv1.1.0\th1:y=',
  'dep\tgithub.com/local/e\tv0.1.0',
  '=>\t../e\t\t',
  'build\tGOOS=linux',
].join('\n');

const variants: [string, (s: BuildInfoSpec) => Buffer][] = [
  ['ELF64 LE', (s) => elfWithBuildInfo(s)],
  ['ELF64 LE with .go.buildinfo', (s) => elfWithBuildInfo(s, { section: true })],
  ['ELF32 BE', (s) => elfWithBuildInfo(s, { bits: 32, le: false })],
  ['ELF64 BE', (s) => elfWithBuildInfo(s, { le: false, section: true })],
  ['PE32+', (s) => peWithBuildInfo(s)],
  ['Mach-O 64', (s) => machoWithBuildInfo(s)],
];

const goAvailable = await run('go', ['version']).then(() => true, () => false);

const file = (path: string, content: Buffer, mode = 0o100755): FsFile => ({ path, content, mode, size: content.length });

describe('Go build info', () => {
  for (const layout of ['inline', 'pointer'] as const) {
    for (const [name, make] of variants) {
      it(`${name}, ${layout} layout: version, main module, deps and replacements`, async () => {
        const bin = make({ goVersion: 'go1.16.15', modinfo: MODINFO, layout });
        const info = readGoBuildInfo(bin);
        assert.equal(info?.goVersion, 'go1.16.15');
        assert.equal(info?.path, 'example.com/tool/cmd/tool');
        assert.deepEqual(info?.main, { path: 'example.com/tool', version: 'v1.2.3', sum: 'h1:abc=' });
        assert.deepEqual(info?.deps.map((d) => `${d.path}@${d.version}${d.replace ? ` => ${d.replace.path}@${d.replace.version}` : ''}`), [
          'golang.org/x/text@v0.3.6',
          'github.com/a/b@v1.0.0 => github.com/c/d@v1.1.0',
          'github.com/local/e@v0.1.0 => ../e@',
        ]);
        assert.deepEqual(info?.settings, [['GOOS', 'linux']]);
        if (goAvailable) {
          // the fixture is what the real Go reader reads too
          const p = join(tmp, `${name.replace(/\W+/g, '-')}-${layout}`);
          writeFileSync(p, bin, { mode: 0o755 });
          const { stdout } = await run('go', ['version', '-m', p]);
          assert.match(stdout, /\tdep\tgithub\.com\/a\/b\tv1\.0\.0\n\t=>\tgithub\.com\/c\/d\tv1\.1\.0\th1:y=\n/);
        }
      });
    }
  }

  it('not Go, truncated, corrupt: undefined, never a throw or a hang', () => {
    assert.equal(readGoBuildInfo(Buffer.alloc(0)), undefined);
    assert.equal(readGoBuildInfo(Buffer.from('#!/bin/sh\necho hi\n')), undefined);
    const bins = variants.flatMap(([, make]) => [make({ goVersion: 'go1.20', modinfo: MODINFO, layout: 'inline' }), make({ goVersion: 'go1.16', modinfo: MODINFO, layout: 'pointer' })]);
    for (const bin of bins) {
      for (let n = 0; n < bin.length; n += 7) readGoBuildInfo(bin.subarray(0, n));
      for (let i = 0; i < 300; i++) {
        const bad = Buffer.from(bin);
        for (let k = 0; k < 8; k++) bad[(i * 7919 + k * 104729) % bad.length] = (i * 31 + k) & 0xff;
        const info = readGoBuildInfo(bad);
        if (info) assert.equal(typeof info.goVersion, 'string');
      }
    }
  });

  it('a string header pointing far outside the file is refused', () => {
    const bin = elfWithBuildInfo({ goVersion: 'go1.16', modinfo: MODINFO, layout: 'pointer' });
    bin.writeBigUInt64LE(0xffff_ffff_ff00n, 0x1000 + 16);
    assert.equal(readGoBuildInfo(bin), undefined);
  });

  it('condenses a binary to its build info and reads the condensed form back', () => {
    const padding = Buffer.alloc(1 << 20, 0x90);
    const bin = Buffer.concat([elfWithBuildInfo({ goVersion: 'go1.21.5', modinfo: MODINFO, layout: 'inline' }), padding]);
    const c = condenseGoBinary(bin);
    assert.ok(c && c.length < 1024, `condensed to ${c?.length} bytes`);
    assert.deepEqual(buildInfoOf(c), readGoBuildInfo(bin));
    assert.equal(condenseGoBinary(c), c, 'idempotent');
    assert.equal(condenseGoBinary(Buffer.from('\x7fELF not really')), undefined, 'non-Go files are dropped');
  });
});

describe('gobinary cataloger', () => {
  const bin = elfWithBuildInfo({ goVersion: 'go1.16.15', modinfo: MODINFO, layout: 'pointer' });
  it('reports the versioned main module and every dependency, replacements applied, local ones skipped', async () => {
    const pkgs = await gobinaryCataloger.catalog(new MemoryFs([file('usr/local/bin/tool', bin)]), { notes: [] });
    assert.deepEqual(pkgs.map((p) => `${p.name}@${p.version} ${p.relationship} ${p.purl}`), [
      'example.com/tool@v1.2.3 root pkg:golang/example.com/tool@v1.2.3',
      'golang.org/x/text@v0.3.6 unknown pkg:golang/golang.org/x/text@v0.3.6',
      'github.com/c/d@v1.1.0 unknown pkg:golang/github.com/c/d@v1.1.0',
    ]);
    for (const p of pkgs) {
      assert.equal(p.type, 'gobinary');
      assert.equal(p.filePath, 'usr/local/bin/tool');
      assert.equal(p.extra?.['goVersion'], 'go1.16.15');
    }
  });
  it('(devel) main modules are not packages', async () => {
    const devel = elfWithBuildInfo({ goVersion: 'go1.22.0', modinfo: 'path\tx/cmd\nmod\tx\t(devel)\t\ndep\tgithub.com/a/b\tv1.0.0\t\n', layout: 'inline' });
    const pkgs = await gobinaryCataloger.catalog(new MemoryFs([file('app', devel)]), { notes: [] });
    assert.deepEqual(pkgs.map((p) => p.name), ['github.com/a/b']);
  });
  it('skips non-executable files, dpkg-owned binaries (under any of their paths) and symlink aliases', async () => {
    const copy = (): Buffer => Buffer.from(bin);
    const owned = file('usr/bin/deb-tool', copy());
    const fs = new MemoryFs([
      file('opt/not-exec', copy(), 0o100644),
      owned,
      { ...owned, path: 'usr/sbin/deb-tool-link' },
      file('var/lib/dpkg/info/deb-tool.list', Buffer.from('/.\n/bin/deb-tool\n')),
    ]);
    const real = file('usr/local/bin/tool', copy());
    fs.set(real);
    fs.set({ ...real, path: 'usr/local/sbin/tool-link', linkOf: real.path });
    const other = file('opt/app/bin/x', copy());
    fs.set(other);
    fs.set({ ...other, path: 'opt/app/current/bin/x' }); // unmarked alias: the longest path is taken as real
    const pkgs = await gobinaryCataloger.catalog(fs, { notes: [] });
    assert.deepEqual([...new Set(pkgs.map((p) => p.filePath))].sort(), ['opt/app/current/bin/x', 'usr/local/bin/tool']);
  });
  it('wants executables of plausible size, path-only probes, never data files', () => {
    const w = (path: string, size: number, mode: number): boolean => gobinaryCataloger.wants({ path, size, mode });
    assert.equal(w('usr/local/bin/kubectl', 50 << 20, 0o100755), true);
    assert.equal(w('usr/local/bin/kubectl', 50 << 20, 0o100644), false);
    assert.equal(w('usr/local/bin/tiny', 100, 0o100755), false, 'too small to hold a header and build info');
    assert.equal(w('usr/local/bin/small', 4096, 0o100755), true, 'Trivy opens every executable');
    assert.equal(w('usr/local/bin/kubectl', 0, 0o100644), true, 'size 0: header unknown');
    for (const p of ['usr/lib/x86_64-linux-gnu/libc.so.6', 'usr/lib/libfoo.so', 'app/run.sh', 'app/index.js', 'usr/share/zoneinfo/UTC', 'etc/passwd', 'usr/share/doc/x/copyright']) {
      assert.equal(w(p, 1 << 20, 0o100755), false, p);
    }
    const sel = fileSelector();
    assert.equal(sel.maxFileSize('usr/local/bin/kubectl'), 256 * 1024 * 1024);
    const c = sel.condense?.('usr/local/bin/tool', Buffer.concat([bin, Buffer.alloc(1 << 20)]));
    assert.ok(c && c.length < 1024, 'the selector condenses Go binaries');
  });
  it('purls: the namespace is the path up to the last slash; versions keep their v', () => {
    assert.equal(golangPurl('gopkg.in/yaml.v2', 'v2.4.0'), 'pkg:golang/gopkg.in/yaml.v2@v2.4.0');
    assert.equal(golangPurl('github.com/docker/distribution', '2.7.1+incompatible'), 'pkg:golang/github.com/docker/distribution@v2.7.1+incompatible');
  });
});

describe('go.mod and go.sum', () => {
  it('requires (blocks and lines), indirect markers, quoted paths, comments', () => {
    const mod = parseGoMod(`// header\nmodule example.com/m // comment\n\ngo 1.21\ntoolchain go1.21.5\n\nrequire github.com/a/b v1.0.0\nrequire (\n\t"github.com/c/d" v0.2.0 // indirect\n\tgithub.com/e/f v2.0.0+incompatible // indirect; used by tests\n\tgithub.com/g/h v1.1.1 // not indirect\n)\nexclude github.com/x/y v1.0.0\nretract (\n  v0.9.0\n)\n`);
    assert.equal(mod.module, 'example.com/m');
    assert.equal(mod.goVersion, '1.21');
    assert.deepEqual(mod.requires, [
      { path: 'github.com/a/b', version: '1.0.0', indirect: false },
      { path: 'github.com/c/d', version: '0.2.0', indirect: true },
      { path: 'github.com/e/f', version: '2.0.0+incompatible', indirect: true },
      { path: 'github.com/g/h', version: '1.1.1', indirect: false },
    ]);
  });
  it('before Go 1.17 indirect requirements are dropped; replacements by module version or local path', () => {
    const mod = parseGoMod('module m\ngo 1.16\nrequire (\n a v1.0.0\n b v1.0.0 // indirect\n c v1.0.0\n d v1.0.0\n e v1.0.0\n)\nreplace a => a2 v1.5.0\nreplace c v0.9.0 => c2 v1.0.0\nreplace d => ../d\nreplace (\n e v1.0.0 => e v1.0.1\n)\n');
    assert.deepEqual(mod.requires.map((r) => `${r.path}@${r.version}`), ['c@1.0.0', 'a2@1.5.0', 'e@1.0.1']);
  });
  it('go.sum completes an old go.mod, last version wins; a 1.17 go.mod stands alone', () => {
    const sum = parseGoSum('x v1.0.0/go.mod h1:a=\nx v1.2.0 h1:b=\nx v1.2.0/go.mod h1:c=\na v1.0.0 h1:d=\n');
    assert.deepEqual([...sum], [['x', '1.2.0'], ['a', '1.0.0']]);
    assert.deepEqual(mergeGoSum(parseGoMod('module m\ngo 1.15\nrequire a v1.0.0\n'), sum).map((r) => `${r.path}@${r.version}:${r.indirect}`), ['a@1.0.0:false', 'x@1.2.0:true']);
    assert.deepEqual(mergeGoSum(parseGoMod('module m\ngo 1.17\nrequire a v1.0.0\nrequire y v1.0.0 // indirect\n'), sum).map((r) => r.path), ['a', 'y']);
  });
  it('errors become notes naming the file', async () => {
    const ctx = { notes: [] as string[] };
    const pkgs = await gomodCataloger.catalog(new MemoryFs([file('src/go.mod', Buffer.from('module m\nrequire (\n a v1\n'), 0o100644)]), ctx);
    assert.deepEqual(pkgs, []);
    assert.match(ctx.notes[0] ?? '', /^gomod: \/src\/go\.mod could not be read \(unterminated require \( block\)/);
    assert.throws(() => parseGoMod('require "unterminated v1\n'), /line 1: unterminated string/);
  });
});
