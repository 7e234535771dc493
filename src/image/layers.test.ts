import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hugeFileTar, tarHeader, tarLayer, type Entry } from '../../test/helpers/image-builder.ts';
import { ScannerError } from '../shared/errors.ts';
import { analyzeLayerTar, normalizeEntryPath, type FileSelector, type LayerAnalysis } from './layers.ts';
import { MergedTree } from './merge.ts';
import { readTar, TarReader, type TarEntry } from './tar.ts';

async function* chunks(b: Buffer, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

const selector = (wanted: (p: string) => boolean, max = 1 << 20): FileSelector => ({
  key: 'test',
  wants: (f) => wanted(f.path),
  maxFileSize: () => max,
});

const WANT = selector((p) => p.endsWith('os-release') || p.startsWith('var/lib/dpkg/') || p.endsWith('/package.json') || p === 'data.bin');

async function layer(entries: Entry[], sel: FileSelector = WANT, chunk = 64 * 1024): Promise<LayerAnalysis> {
  return analyzeLayerTar(chunks(tarLayer(entries), chunk), sel, 'layer L');
}

function merged(layers: LayerAnalysis[], sel: FileSelector = WANT): { files: Record<string, string>; notes: string[]; tree: MergedTree } {
  const tree = new MergedTree();
  layers.forEach((a, i) => tree.apply(a, `layer${i}`));
  const notes: string[] = [];
  const fs = tree.toFs(sel, notes);
  const files: Record<string, string> = {};
  for (const f of fs.files()) files[f.path] = f.content.toString();
  return { files, notes, tree };
}

function collect(entries: TarEntry[]): { onEntry: (e: TarEntry) => 'read'; onContent: (e: TarEntry, c: Buffer) => void; contents: Map<string, string> } {
  const contents = new Map<string, string>();
  return {
    contents,
    onEntry: (e) => {
      entries.push(e);
      return 'read';
    },
    onContent: (e, c) => contents.set(e.name, c.toString()),
  };
}

describe('tar reader', () => {
  it('reads files, directories, links and contents, whatever the chunk size', async () => {
    const tar = tarLayer([
      { path: 'etc/hostname', content: 'box\n', mode: 0o600 },
      { path: 'etc/os-release', type: 'symlink', target: '../usr/lib/os-release' },
      { path: 'bin/sh2', type: 'hardlink', target: 'bin/sh' },
      { path: 'empty', content: '' },
      { path: 'big', content: Buffer.alloc(5000, 0x41) },
    ]);
    for (const size of [1, 7, 511, 512, 513, 4096, tar.length]) {
      const entries: TarEntry[] = [];
      const v = collect(entries);
      await readTar(chunks(tar, size), v);
      assert.deepEqual(entries.map((e) => [e.name, e.type]), [
        ['etc/', 'directory'],
        ['etc/hostname', 'file'],
        ['etc/os-release', 'symlink'],
        ['bin/', 'directory'],
        ['bin/sh2', 'hardlink'],
        ['empty', 'file'],
        ['big', 'file'],
      ], `chunk size ${size}`);
      assert.equal(entries[1]?.mode, 0o600);
      assert.equal(entries[2]?.linkname, '../usr/lib/os-release');
      assert.equal(v.contents.get('etc/hostname'), 'box\n');
      assert.equal(v.contents.get('empty'), '');
      assert.equal(v.contents.get('big'), 'A'.repeat(5000));
    }
  });

  it('applies pax long names, ustar prefixes and GNU long names', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`; // fits neither name nor prefix+name: pax
    const prefixed = `${'p'.repeat(120)}/file`; // prefix + name
    const gnuName = `${'g'.repeat(300)}/pkg/package.json`;
    const gnu = Buffer.from(`${gnuName}\0`);
    const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);
    const content = Buffer.from('{"name":"x"}');
    const tar = Buffer.concat([
      tarLayer([{ path: long, content: 'L' }, { path: prefixed, content: 'P' }], { parents: false }).subarray(0, -1024),
      tarHeader({ name: '././@LongLink', size: gnu.length, mode: 0o644, flag: 'L' }),
      gnu,
      pad(gnu.length),
      tarHeader({ name: 'truncated-name', size: content.length, mode: 0o644, flag: '0' }),
      content,
      pad(content.length),
      Buffer.alloc(1024),
    ]);
    const entries: TarEntry[] = [];
    const v = collect(entries);
    await readTar(chunks(tar, 100), v);
    assert.deepEqual(entries.map((e) => e.name), [long, prefixed, gnuName]);
    assert.equal(v.contents.get(long), 'L');
    assert.equal(v.contents.get(gnuName), '{"name":"x"}');
  });

  it('reads GNU base-256 sizes', () => {
    const h = tarHeader({ name: 'f', size: 0, mode: 0o644, flag: '0' });
    h.fill(0, 124, 136);
    h[124] = 0x80;
    h.writeUInt32BE(3, 132); // size 3, base-256
    h.write('        ', 148, 'latin1');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const entries: TarEntry[] = [];
    const r = new TarReader({ onEntry: (e) => (entries.push(e), 'skip') });
    r.write(Buffer.concat([h, Buffer.from('abc'), Buffer.alloc(509), Buffer.alloc(1024)]));
    r.end();
    assert.equal(entries[0]?.size, 3);
  });

  it('refuses a corrupt header (bad checksum) with TAR_CORRUPT', async () => {
    const tar = tarLayer([{ path: 'a', content: 'x' }, { path: 'b', content: 'y' }], { parents: false });
    tar[1024 + 10] = 0x7a; // inside the second header's name field
    await assert.rejects(readTar(chunks(tar), { onEntry: () => 'skip' }), (err: unknown) => {
      assert.ok(err instanceof ScannerError);
      assert.equal(err.code, 'TAR_CORRUPT');
      assert.match(err.message, /checksum/);
      return true;
    });
  });

  it('refuses a stream that ends inside an entry or a header', async () => {
    const tar = tarLayer([{ path: 'a', content: Buffer.alloc(3000, 1) }], { parents: false });
    await assert.rejects(readTar(chunks(tar.subarray(0, 2000)), { onEntry: () => 'skip' }), /truncated \(ended inside "a"\)/);
    await assert.rejects(readTar(chunks(tar.subarray(0, 300)), { onEntry: () => 'skip' }), /truncated \(ended inside a header\)/);
  });

  it('refuses an oversized pax header instead of buffering it', async () => {
    const h = tarHeader({ name: 'PaxHeaders/x', size: 64 << 20, mode: 0o644, flag: 'x' });
    await assert.rejects(readTar(chunks(h), { onEntry: () => 'skip' }), /extended header too large/);
  });
});

describe('tar reader: streamed entries', () => {
  const tar = tarLayer([
    { path: 'a', content: Buffer.alloc(3000, 0x61) },
    { path: 'empty', content: '' },
    { path: 'b', content: 'bee' },
    { path: 'c', content: Buffer.alloc(10_000, 0x63) },
    { path: 'z', content: 'zed' },
  ]);
  it('passes the content piece by piece (views, no collection) and then its end, whatever the chunk size', async () => {
    for (const size of [1, 7, 511, 512, 513, 4096, tar.length]) {
      const got = new Map<string, Buffer[]>();
      const ends: string[] = [];
      const read = new Map<string, string>();
      await readTar(chunks(tar, size), {
        onEntry: (e) => (e.type !== 'file' ? 'skip' : e.name === 'z' ? 'read' : 'stream'),
        onData: (e, piece) => void got.set(e.name, [...(got.get(e.name) ?? []), Buffer.from(piece)]),
        onDataEnd: (e) => void ends.push(e.name),
        onContent: (e, c) => void read.set(e.name, c.toString()),
      });
      assert.deepEqual(ends, ['a', 'empty', 'b', 'c'], `chunk size ${size}`);
      assert.deepEqual(Buffer.concat(got.get('a') ?? []), Buffer.alloc(3000, 0x61));
      assert.equal(got.get('empty'), undefined, 'no data for an empty file, only its end');
      assert.equal(Buffer.concat(got.get('b') ?? []).toString(), 'bee');
      assert.deepEqual(Buffer.concat(got.get('c') ?? []), Buffer.alloc(10_000, 0x63));
      assert.equal(read.get('z'), 'zed', 'entries after streamed ones are read as usual');
    }
  });
  it("'stop' skips the rest of an entry; its end still comes, the next entries are intact", async () => {
    const seen: string[] = [];
    const ends: string[] = [];
    const read = new Map<string, string>();
    await readTar(chunks(tar, 100), {
      onEntry: (e) => (e.type !== 'file' ? 'skip' : e.name === 'a' || e.name === 'c' ? 'stream' : 'read'),
      onData: (e, piece) => {
        seen.push(`${e.name}:${piece.length}`);
        return 'stop';
      },
      onDataEnd: (e) => void ends.push(e.name),
      onContent: (e, c) => void read.set(e.name, c.toString()),
    });
    assert.equal(seen.length, 2, seen.join());
    assert.deepEqual(ends, ['a', 'c']);
    assert.deepEqual([...read], [['empty', ''], ['b', 'bee'], ['z', 'zed']]);
  });
});

describe('layer walker', () => {
  it('keeps only wanted files and records whiteouts, opaque dirs and links', async () => {
    const a = await layer([
      { path: 'etc/os-release', content: 'ID=debian\n' },
      { path: 'etc/passwd', content: 'root:x:0:0' },
      { path: 'var/lib/dpkg/.wh.status' , content: '' },
      { path: 'app/node_modules/left-pad', type: 'whiteout' },
      { path: 'app/node_modules/axios', type: 'opaque' },
      { path: 'lib', type: 'symlink', target: 'usr/lib' },
      { path: 'var/lib/dpkg/status-old', type: 'hardlink', target: 'var/lib/dpkg/status' },
      { path: 'usr/.wh..wh.plnk', content: '' },
    ]);
    assert.deepEqual(a.files.map((f) => [f.path, f.content.toString()]), [['etc/os-release', 'ID=debian\n']]);
    assert.deepEqual(a.whiteouts.sort(), ['app/node_modules/left-pad', 'var/lib/dpkg/status']);
    assert.deepEqual(a.opaqueDirs, ['app/node_modules/axios']);
    assert.deepEqual(a.symlinks, [['lib', 'usr/lib']]);
    assert.deepEqual(a.hardlinks, [['var/lib/dpkg/status-old', 'var/lib/dpkg/status']]);
  });

  it('normalises entry names and refuses names that escape the root', async () => {
    assert.equal(normalizeEntryPath('./etc//os-release'), 'etc/os-release');
    assert.equal(normalizeEntryPath('/abs/x/../y'), 'abs/y');
    assert.equal(normalizeEntryPath('../etc/passwd'), undefined);
    assert.equal(normalizeEntryPath('a/\0b'), undefined);
    const tar = Buffer.concat([
      tarHeader({ name: '../../etc/os-release', size: 3, mode: 0o644, flag: '0' }),
      Buffer.from('bad'),
      Buffer.alloc(509),
      tarLayer([{ path: './etc/os-release', content: 'ID=ok\n' }], { parents: false }),
    ]);
    const a = await analyzeLayerTar(chunks(tar), WANT, 'layer L');
    assert.deepEqual(a.files.map((f) => [f.path, f.content.toString()]), [['etc/os-release', 'ID=ok\n']]);
    assert.match(a.notes.join('\n'), /ignored 1 tar entry whose path escapes the root \(e\.g\. "\.\.\/\.\.\/etc\/os-release"\) in layer L/);
  });

  it('a streaming condenser gets the file piece by piece and its answer decides what is kept', async () => {
    const calls: string[] = [];
    const sel: FileSelector = {
      key: 't',
      wants: (f) => f.path.startsWith('bin/'),
      maxFileSize: () => 1 << 30,
      condense: () => {
        throw new Error('never called: every file streams');
      },
      condenseStream: (path, h) => {
        calls.push(`${path}:${h.size}:${(h.mode & 0o777).toString(8)}`);
        let n = 0;
        return {
          push: (piece) => {
            n += piece.length;
            if (path === 'bin/drop') return 'drop';
            if (path === 'bin/whole') return 'whole';
            if (path === 'bin/done' && n >= 1000) return 'done';
            return undefined;
          },
          end: () => (path === 'bin/nothing' ? undefined : Buffer.from(`${path} had ${n} bytes`)),
        };
      },
    };
    const big = Buffer.alloc(300_000, 1);
    const a = await layer(
      ['keep', 'drop', 'whole', 'done', 'nothing'].map((n) => ({ path: `bin/${n}`, content: big, mode: 0o755 })),
      sel,
      4096,
    );
    assert.deepEqual(calls, ['keep', 'drop', 'whole', 'done', 'nothing'].map((n) => `bin/${n}:300000:755`), 'the real header');
    assert.deepEqual(a.files.map((f) => [f.path, f.size]), [['bin/keep', 300_000], ['bin/done', 300_000]]);
    assert.equal(a.files[0]?.content.toString(), 'bin/keep had 300000 bytes');
    const done = Number(/had (\d+) bytes/.exec(a.files[1]?.content.toString() ?? '')?.[1]);
    assert.ok(done >= 1000 && done <= 5000, `'done' stops the pushes (${done} bytes)`);
    assert.deepEqual(a.present, ['bin/drop', 'bin/nothing']);
    assert.deepEqual(a.reread, ['bin/whole'], 'read again later, for the buffered condenser');
  });

  it('skips a wanted file over the size cap with a note, without reading it', async () => {
    const a = await layer([{ path: 'var/lib/dpkg/status', content: Buffer.alloc(3000, 0x41) }], selector(() => true, 1000));
    assert.equal(a.files.length, 0);
    assert.match(a.notes.join(), /skipped \/var\/lib\/dpkg\/status \(2\.9 KiB, over the 1000 B limit for this file\) in layer L/);
  });

  it('streams past a 2 GB entry without buffering it (header says 2 GB, content generated lazily)', async () => {
    const size = 2 * 1024 ** 3;
    const before = process.memoryUsage().rss;
    const a = await analyzeLayerTar(
      hugeFileTar('var/lib/dpkg/status', size, { after: [{ path: 'etc/os-release', content: 'ID=alpine\n' }] }),
      WANT,
      'layer L',
    );
    const grown = process.memoryUsage().rss - before;
    assert.equal(a.files.map((f) => f.path).join(), 'etc/os-release', 'the file after the big one is still read');
    assert.match(a.notes.join(), /skipped \/var\/lib\/dpkg\/status \(2\.0 GiB, over the 1\.0 MiB limit/);
    assert.ok(grown < 200 * 1024 * 1024, `RSS grew by ${Math.round(grown / 1048576)} MiB`);
  });

  it('a 2 GB entry whose stream stops early is a truncated layer, not a hang', async () => {
    await assert.rejects(
      analyzeLayerTar(hugeFileTar('data.bin', 2 * 1024 ** 3, { truncateAt: 10 << 20 }), WANT, 'layer L'),
      (err: unknown) => err instanceof ScannerError && err.code === 'TAR_CORRUPT' && /truncated \(ended inside "data\.bin"\)/.test(err.message),
    );
  });
});

describe('merging layers (whiteouts, opaque directories, links)', () => {
  it('a whiteout hides a lower file; a later layer can add it back', async () => {
    const l1 = await layer([{ path: 'var/lib/dpkg/status', content: 'old' }, { path: 'etc/os-release', content: 'ID=debian\n' }]);
    const l2 = await layer([{ path: 'var/lib/dpkg/status', type: 'whiteout' }]);
    assert.deepEqual(Object.keys(merged([l1, l2]).files), ['etc/os-release']);
    const l3 = await layer([{ path: 'var/lib/dpkg/status', content: 'new' }]);
    assert.equal(merged([l1, l2, l3]).files['var/lib/dpkg/status'], 'new');
  });

  it('a whiteout of a directory hides everything below it', async () => {
    const l1 = await layer([{ path: 'app/node_modules/moment/package.json', content: '{"name":"moment"}' }, { path: 'app/node_modules/ms/package.json', content: '{"name":"ms"}' }]);
    const l2 = await layer([{ path: 'app/node_modules/moment', type: 'whiteout' }]);
    assert.deepEqual(Object.keys(merged([l1, l2]).files), ['app/node_modules/ms/package.json']);
  });

  it('an opaque directory hides the lower contents; files re-added in the same layer are seen', async () => {
    const l1 = await layer([
      { path: 'app/node_modules/axios/package.json', content: '0.21.1' },
      { path: 'app/node_modules/axios/lib/package.json', content: 'nested-old' },
      { path: 'app/node_modules/ms/package.json', content: 'ms' },
    ]);
    const l2 = await layer([{ path: 'app/node_modules/axios', type: 'opaque' }, { path: 'app/node_modules/axios/package.json', content: '0.21.4' }]);
    assert.deepEqual(merged([l1, l2]).files, { 'app/node_modules/axios/package.json': '0.21.4', 'app/node_modules/ms/package.json': 'ms' });
  });

  it('follows etc/os-release → ../usr/lib/os-release, also when the target is in a lower layer', async () => {
    const l1 = await layer([{ path: 'usr/lib/os-release', content: 'ID=ubuntu\n' }]);
    const l2 = await layer([{ path: 'etc/os-release', type: 'symlink', target: '../usr/lib/os-release' }]);
    const m = merged([l1, l2]);
    assert.equal(m.files['etc/os-release'], 'ID=ubuntu\n');
    assert.equal(m.files['usr/lib/os-release'], 'ID=ubuntu\n');
  });

  it('follows absolute symlinks and directory symlinks inside the image, never the host', async () => {
    const entries: Entry[] = [
      { path: 'usr/lib/os-release', content: 'ID=debian\n' },
      { path: 'etc/os-release', type: 'symlink', target: '/usr/lib/os-release' },
      { path: 'usr/lib/apk/db/installed', content: 'P:musl' },
      { path: 'lib', type: 'symlink', target: 'usr/lib' },
      { path: 'x/os-release', type: 'symlink', target: '../../../../../../etc/os-release' },
      { path: 'y/os-release', type: 'symlink', target: '/etc/../../../../proc/self/os-release' },
    ];
    const sel = selector((p) => p.endsWith('os-release') || p === 'lib/apk/db/installed');
    const m = merged([await analyzeLayerTar(chunks(tarLayer(entries)), sel, 'L')], sel);
    assert.equal(m.files['etc/os-release'], 'ID=debian\n');
    assert.equal(m.files['lib/apk/db/installed'], 'P:musl', 'through the usr-merge directory symlink lib → usr/lib');
    assert.equal(m.files['x/os-release'], 'ID=debian\n', '.. is clamped at the image root');
    assert.equal(m.files['y/os-release'], undefined, 'a target outside the image is just missing');
  });

  it('a symlink loop is reported, not followed forever', async () => {
    const l1 = await layer([
      { path: 'etc/os-release', type: 'symlink', target: 'os-release2' },
      { path: 'etc/os-release2', type: 'symlink', target: '/etc/os-release' },
      { path: 'var/lib/dpkg', type: 'symlink', target: '../../var/lib/dpkg' },
    ]);
    const t0 = Date.now();
    const m = merged([l1]);
    assert.ok(Date.now() - t0 < 5000);
    assert.deepEqual(m.files, {});
    assert.match(m.notes.join('\n'), /symlink \/etc\/os-release could not be resolved \(loop/);
    assert.equal(m.tree.missingTargets(WANT).size, 0);
  });

  it('a hard link shares the content of its target (same layer or lower)', async () => {
    const l1 = await layer([{ path: 'var/lib/dpkg/status', content: 'Package: x' }, { path: 'var/lib/dpkg/status-copy', type: 'hardlink', target: 'var/lib/dpkg/status' }]);
    const m = merged([l1]);
    assert.equal(m.files['var/lib/dpkg/status-copy'], 'Package: x');
  });

  it('a hard link to a file nobody asked for is a missing target for the second pass', async () => {
    const l1 = await layer([
      { path: 'opt/blob', content: 'ID=alpine\n' },
      { path: 'etc/os-release', type: 'hardlink', target: 'opt/blob' },
    ]);
    const tree = new MergedTree();
    tree.apply(l1, 'l1');
    assert.deepEqual([...tree.missingTargets(WANT)], [['opt/blob', ['etc/os-release']]]);
  });

  it('a symlinked file whose target was not kept is a missing target', async () => {
    const l1 = await layer([{ path: 'opt/release.txt', content: 'ID=rocky\n' }, { path: 'etc/os-release', type: 'symlink', target: '../opt/release.txt' }]);
    const tree = new MergedTree();
    tree.apply(l1, 'l1');
    assert.deepEqual([...tree.missingTargets(WANT)], [['opt/release.txt', ['etc/os-release']]]);
  });

  it('links to unwanted files of the same layer need no second pass (alternatives, usr-merge, hard links, directories)', async () => {
    // wants every path by name (as a path-only probe), but only files of at least 100 bytes by header
    const sel: FileSelector = { key: 'k', wants: (f) => f.size === 0 || f.size >= 100, maxFileSize: () => 1 << 20 };
    const a = await layer([
      { path: 'usr/bin/mawk', content: 'small' },
      { path: 'etc/alternatives/awk', type: 'symlink', target: '/usr/bin/mawk' },
      { path: 'usr/bin/awk', type: 'symlink', target: '/etc/alternatives/awk' },
      { path: 'sbin', type: 'symlink', target: 'usr/sbin' },
      { path: 'usr/sbin/killall5', content: 'tiny' },
      { path: 'usr/bin/pidof', type: 'symlink', target: '/sbin/killall5' },
      { path: 'usr/bin/gunzip', content: 'sh' },
      { path: 'usr/bin/uncompress', type: 'hardlink', target: 'usr/bin/gunzip' },
      { path: 'run/lock', type: 'dir' },
      { path: 'var/lock', type: 'symlink', target: '/run/lock' },
      { path: 'usr/bin/big', content: 'x'.repeat(200) },
      { path: 'usr/bin/big-link', type: 'symlink', target: 'big' },
    ], sel);
    assert.deepEqual(a.hardlinks, [], 'the hard link would be skipped like its target');
    const tree = new MergedTree();
    tree.apply(a, 'l');
    assert.deepEqual([...tree.missingTargets(sel).keys()], []);
    const fs = tree.toFs(sel, []);
    assert.equal(fs.get('usr/bin/big-link')?.content.toString(), 'x'.repeat(200));
  });

  it('missing targets and the merged view are the same whether layers recorded their wanted links or not (older cache entries)', async () => {
    const sel = selector((p) => p.endsWith('os-release') || p.startsWith('var/lib/dpkg/') || p.endsWith('.jar'));
    const l1 = await layer([
      { path: 'usr/lib/os-release', content: 'ID=debian\n' },
      { path: 'usr/share/java/a-1.0.jar', content: 'jar a' },
      { path: 'usr/share/java/b.jar', content: 'jar b' },
      { path: 'opt/data/x', content: 'data' },
    ], sel);
    const l2 = await layer([
      { path: 'etc/os-release', type: 'symlink', target: '../usr/lib/os-release' },
      { path: 'usr/share/java/a.jar', type: 'symlink', target: 'a-1.0.jar' },
      { path: 'usr/share/java/b-2.0.jar', type: 'symlink', target: '/usr/share/java/./b.jar' },
      { path: 'opt/java', type: 'symlink', target: '../usr/share/java' },
      { path: 'var/lib/dpkg/status', type: 'symlink', target: '../../../opt/data/x' },
      { path: 'loop/a.jar', type: 'symlink', target: 'b.jar' },
      { path: 'loop/b.jar', type: 'symlink', target: 'a.jar' },
    ], sel);
    assert.deepEqual(l2.wantedLinks, ['etc/os-release', 'usr/share/java/a.jar', 'usr/share/java/b-2.0.jar', 'var/lib/dpkg/status', 'loop/a.jar', 'loop/b.jar']);
    const view = (layers: typeof l1[]): [string[], Record<string, string>, string[]] => {
      const tree = new MergedTree();
      layers.forEach((a, i) => tree.apply(a, `layer${i}`));
      const notes: string[] = [];
      const files: Record<string, string> = {};
      for (const f of tree.toFs(sel, notes).files()) files[f.path] = `${f.content.toString()}${f.linkOf ? ` <- ${f.linkOf}` : ''}`;
      return [[...tree.missingTargets(sel).keys()], files, notes];
    };
    const recorded = view([l1, l2]);
    const { wantedLinks: _a, ...old1 } = l1;
    const { wantedLinks: _b, ...old2 } = l2;
    assert.deepEqual(view([old1, old2]), recorded);
    assert.deepEqual(recorded[0], ['opt/data/x'], 'a wanted link to a file nobody kept');
    assert.equal(recorded[1]['opt/java/a-1.0.jar'], 'jar a <- usr/share/java/a-1.0.jar', 'through a directory link');
    assert.equal(recorded[1]['usr/share/java/b-2.0.jar'], 'jar b <- usr/share/java/b.jar');
    assert.match(recorded[2].join('\n'), /symlink \/loop\/a\.jar could not be resolved/);
  });

  it('a later regular file replaces a symlink and vice versa', async () => {
    const l1 = await layer([{ path: 'usr/lib/os-release', content: 'ID=a\n' }, { path: 'etc/os-release', type: 'symlink', target: '../usr/lib/os-release' }]);
    const l2 = await layer([{ path: 'etc/os-release', content: 'ID=b\n' }]);
    assert.equal(merged([l1, l2]).files['etc/os-release'], 'ID=b\n');
    const l3 = await layer([{ path: 'etc/os-release', type: 'symlink', target: '../usr/lib/os-release' }]);
    assert.equal(merged([l1, l2, l3]).files['etc/os-release'], 'ID=a\n');
  });

  it('records which layer last wrote each file', async () => {
    const l1 = await layer([{ path: 'etc/os-release', content: 'ID=a\n' }, { path: 'var/lib/dpkg/status', content: 's' }]);
    const l2 = await layer([{ path: 'etc/os-release', content: 'ID=b\n' }]);
    const tree = new MergedTree();
    tree.apply(l1, 'sha256:one');
    tree.apply(l2, 'sha256:two');
    const fs = tree.toFs(WANT, []);
    assert.equal(fs.get('etc/os-release')?.layer, 'sha256:two');
    assert.equal(fs.get('var/lib/dpkg/status')?.layer, 'sha256:one');
  });
});
