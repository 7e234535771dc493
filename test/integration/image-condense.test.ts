/**
 * Streaming condense end to end: executables in real image layers (OCI layout, with and without the
 * decode worker) and in a root filesystem are condensed while they stream — never read whole — except
 * a pre-1.18 Go binary, whose layer is read again for it; the layer cache holds only the condensed form;
 * rootfs asks the selector with the real size and mode, so data files are never opened.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { MemoryFs, type FileHeader } from '../../src/domain/index.ts';
import { catalogGoBinaries } from '../../src/ecosystems/gobinary/index.ts';
import { elfWithBuildInfo } from '../../src/ecosystems/gobinary/testdata/exe-writer.ts';
import { fileSelector } from '../../src/ecosystems/index.ts';
import { analyzeTarget, type FileSelector } from '../../src/image/index.ts';
import { buildImage, DEBIAN_12, osReleaseEntries, writeOciLayout, type Entry } from '../helpers/image-builder.ts';

const work = mkdtempSync(join(tmpdir(), 'pc-img-condense-'));
after(() => rmSync(work, { recursive: true, force: true }));

const MODINFO = 'path\texample.com/svc/cmd/svc\nmod\texample.com/svc\tv1.4.0\th1:a=\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:b=\n';
// A real Go program of this machine when there is one (Go 1.19: inline build info), else a fixture.
const realGo = ['/usr/lib/go-1.19/bin/gofmt', '/usr/lib/go/bin/gofmt', '/usr/bin/skopeo'].find((p) => existsSync(p));
const tool = realGo ? readFileSync(realGo) : Buffer.concat([elfWithBuildInfo({ goVersion: 'go1.21.5', modinfo: MODINFO, layout: 'inline' }, { section: true }), Buffer.alloc(4 << 20, 0x90)]);
const padded = Buffer.concat([elfWithBuildInfo({ goVersion: 'go1.22.1', modinfo: MODINFO, layout: 'inline' }, { section: true }), Buffer.alloc(6 << 20, 0x90)]);
// Go 1.16: pointers to strings 3 MiB before the header, as .rodata precedes the data segment
const old = elfWithBuildInfo({ goVersion: 'go1.16.15', modinfo: MODINFO, layout: 'pointer', stringsFirst: true, stringsGap: 3 << 20 }, { section: true, dataOffset: 1 << 20 });
const notGo = existsSync('/usr/bin/ls') ? readFileSync('/usr/bin/ls') : Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(200_000)]);
const script = Buffer.concat([Buffer.from('#!/bin/sh\nexec true\n'), Buffer.alloc(300_000, 0x23)]);
const data = Buffer.alloc(3 << 20, 0x5a);

const files: { path: string; content: Buffer; mode: number }[] = [
  { path: 'usr/local/bin/tool', content: tool, mode: 0o755 },
  { path: 'usr/local/bin/old', content: old, mode: 0o755 },
  { path: 'usr/bin/ls', content: notGo, mode: 0o755 },
  { path: 'usr/bin/script', content: script, mode: 0o755 },
  { path: 'usr/share/data/blob', content: data, mode: 0o644 },
  { path: 'opt/svc/svc', content: padded, mode: 0o755 },
];
const GO_PATHS = ['usr/local/bin/tool', 'usr/local/bin/old', 'opt/svc/svc'];
const entries = (paths: string[]): Entry[] => files.filter((f) => paths.includes(f.path)).map((f) => ({ path: f.path, content: f.content, mode: f.mode }));

/** The real selector, recording what the walker does with each file. */
function spySelector(): { sel: FileSelector; whole: Map<string, number>; streamed: string[]; headers: Map<string, FileHeader[]> } {
  const real = fileSelector();
  const whole = new Map<string, number>();
  const streamed: string[] = [];
  const headers = new Map<string, FileHeader[]>();
  const sel: FileSelector = {
    key: real.key,
    wants: (f) => {
      headers.set(f.path, [...(headers.get(f.path) ?? []), f]);
      return real.wants(f);
    },
    wantsLinked: (f) => (real.wantsLinked ?? real.wants)(f),
    maxFileSize: (p) => real.maxFileSize(p),
    condense: (p, c) => {
      whole.set(p, c.length);
      return real.condense?.(p, c) ?? c;
    },
    condenseStream: (p, h) => {
      streamed.push(p);
      return real.condenseStream?.(p, h);
    },
  };
  return { sel, whole, streamed, headers };
}

/** What the Go cataloger reports from the files read whole (the answer before streaming). */
const expected = (): string[] =>
  catalogGoBinaries(new MemoryFs(files.map((f) => ({ ...f, mode: 0o100000 | f.mode, size: f.content.length }))))
    .map((p) => `${p.filePath} ${p.name}@${p.version}`)
    .sort();
const reported = (fs: Parameters<typeof catalogGoBinaries>[0]): string[] => catalogGoBinaries(fs).map((p) => `${p.filePath} ${p.name}@${p.version}`).sort();

describe('streaming condense', () => {
  const image = buildImage({
    layers: [
      [...osReleaseEntries(DEBIAN_12), ...entries(['usr/local/bin/tool', 'usr/local/bin/old', 'usr/bin/ls', 'usr/bin/script', 'usr/share/data/blob'])],
      [
        ...entries(['opt/svc/svc']),
        // an executable script behind links named like programs: Go binaries are reported at their
        // real paths only, so no second pass reads it (etc/os-release → ../usr/lib/os-release still resolves)
        { path: 'usr/lib/py/pdb.py', content: Buffer.concat([Buffer.from('#!/usr/bin/python3\n'), Buffer.alloc(70_000, 0x23)]), mode: 0o755 },
        { path: 'usr/bin/pdb3', type: 'symlink', target: '../lib/py/pdb.py' },
        { path: 'usr/bin/pdb-hard', type: 'hardlink', target: 'usr/lib/py/pdb.py' },
      ],
    ],
  });
  const layout = writeOciLayout(join(work, 'layout'), [{ tag: 'latest', image }]);

  for (const workers of [false, true]) {
    it(`image layers (${workers ? 'decode worker' : 'main thread'}): executables are never read whole but for a pre-1.18 one; same packages as read whole`, async () => {
      const spy = spySelector();
      const res = await analyzeTarget(`oci:${layout}:latest`, spy.sel, { cacheDir: join(work, `c-${workers}`), noCache: true, workers });
      for (const p of ['usr/local/bin/tool', 'usr/local/bin/old', 'usr/bin/ls', 'usr/bin/script', 'opt/svc/svc']) assert.ok(spy.streamed.includes(p), `${p} streamed`);
      assert.deepEqual([...spy.whole.keys()].filter((p) => !p.startsWith('etc/') && !p.startsWith('usr/lib/')), ['usr/local/bin/old'], 'only the pointer-layout binary was read whole');
      assert.equal(spy.whole.get('usr/local/bin/old'), old.length);
      assert.equal(res.stats.layersReread, 1, 'its layer was read a second time, once');
      assert.equal(res.stats.secondPass, false, 'no second pass for link targets only a Go cataloger would look at');
      assert.match(res.fs.get('etc/os-release')?.content.toString() ?? '', /^PRETTY_NAME="Debian GNU\/Linux 12/m);
      for (const p of GO_PATHS) {
        const f = res.fs.get(p);
        assert.ok(f && f.content.length < 64 * 1024 && f.content[0] === 0, `${p} kept in condensed form (${f?.content.length} bytes)`);
        assert.equal(f.size, files.find((x) => x.path === p)?.content.length, 'the original size is recorded');
      }
      for (const p of ['usr/bin/ls', 'usr/bin/script', 'usr/share/data/blob']) assert.equal(res.fs.get(p), undefined, p);
      assert.deepEqual(reported(res.fs), expected());
      assert.ok(reported(res.fs).includes('usr/local/bin/old example.com/svc@v1.4.0'));
    });
  }

  it('the layer cache holds only the condensed form, and a warm run gives the same view', async () => {
    const cacheDir = join(work, 'cache');
    const cold = await analyzeTarget(`oci:${layout}:latest`, fileSelector(), { cacheDir });
    const warm = await analyzeTarget(`oci:${layout}:latest`, fileSelector(), { cacheDir });
    assert.deepEqual({ hits: warm.stats.cacheHits, read: warm.stats.layersRead }, { hits: 2, read: 0 });
    const view = (r: typeof cold): [string, string, number, string | undefined][] => [...r.fs.files()].map((f) => [f.path, f.content.toString('base64'), f.size, f.layer]);
    assert.deepEqual(view(warm), view(cold));
    const db = new DatabaseSync(join(cacheDir, 'layers.sqlite'), { readOnly: true });
    const stored = (db.prepare('SELECT SUM(LENGTH(data)) AS n FROM layers').get() as { n: number }).n;
    db.close();
    const layerBytes = files.reduce((s, f) => s + f.content.length, 0);
    assert.ok(stored < 128 * 1024, `cache rows: ${stored} bytes for ${layerBytes} bytes of files`);
  });

  it('rootfs: wants() sees the real size and mode, data files are never opened, executables stream', async () => {
    const root = join(work, 'rootfs');
    for (const f of [...files, { path: 'etc/os-release', content: Buffer.from('ID=debian\nVERSION_ID="12"\n'), mode: 0o644 }]) {
      const abs = join(root, f.path);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, f.content);
      chmodSync(abs, f.mode);
    }
    mkdirSync(join(root, 'usr/sbin'), { recursive: true });
    copyFileSync(join(root, 'usr/local/bin/tool'), join(root, 'usr/sbin/tool-copy'));
    chmodSync(join(root, 'usr/sbin/tool-copy'), 0o644); // not executable: neither streamed nor read
    const spy = spySelector();
    const res = await analyzeTarget(`rootfs:${root}`, spy.sel, { cacheDir: join(work, 'rc'), noCache: true });
    const blob = spy.headers.get('usr/share/data/blob') ?? [];
    assert.deepEqual(blob.at(-1), { path: 'usr/share/data/blob', size: data.length, mode: 0o100644 }, 'asked with its lstat header');
    assert.ok(!spy.streamed.includes('usr/share/data/blob') && !spy.whole.has('usr/share/data/blob'), 'never read');
    assert.ok(!spy.streamed.includes('usr/sbin/tool-copy') && !spy.whole.has('usr/sbin/tool-copy'), 'a non-executable copy is never read');
    assert.deepEqual([...spy.whole.keys()].filter((p) => !p.startsWith('etc/')), ['usr/local/bin/old'], 'only the pointer-layout binary was read whole');
    for (const p of ['usr/local/bin/tool', 'usr/bin/ls', 'usr/bin/script', 'opt/svc/svc']) assert.ok(spy.streamed.includes(p), `${p} streamed`);
    assert.deepEqual(reported(res.fs), expected());
  });
});
