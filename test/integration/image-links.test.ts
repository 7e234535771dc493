/**
 * Files reached through links are reported once, at their real path, as the real Trivy reports them
 * (it reads regular files only): a real tree with Debian's /usr/share/java (jar symlinks in both
 * directions: aopalliance.jar → aopalliance-1.0.jar, commons-io-2.11.0.jar → commons-io.jar), a Go
 * binary behind the usr-merge `bin → usr/bin` and a file symlink, a venv's `lib64 → lib`, and (in the
 * image) a tar hard link; as an image layer and as a root filesystem.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { elfWithBuildInfo } from '../../src/ecosystems/gobinary/testdata/exe-writer.ts';
import { pom, zip } from '../../src/ecosystems/java/testdata/jars.ts';
import { catalogFs, fileSelector } from '../../src/ecosystems/index.ts';
import { analyzeTarget } from '../../src/image/index.ts';
import { buildImage, writeOciLayout, type Entry } from '../helpers/image-builder.ts';
import { TESTDATA } from '../helpers/paths.ts';
import { trivyBinary } from '../helpers/trivy.ts';

const run = promisify(execFile);
const trivy = trivyBinary();
const work = mkdtempSync(join(tmpdir(), 'pc-img-links-'));
after(() => rmSync(work, { recursive: true, force: true }));

const root = join(work, 'tree');
const put = (path: string, content: Buffer | string, mode = 0o644): void => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content, { mode });
};
const link = (path: string, target: string): void => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  symlinkSync(target, join(root, path));
};

/** The tree as tar entries (files, directories, symlinks), in readdir order. */
function entriesOf(dir: string, prefix = ''): Entry[] {
  const out: Entry[] = [];
  for (const d of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const p = prefix ? `${prefix}/${d.name}` : d.name;
    const abs = join(dir, p);
    if (d.isSymbolicLink()) out.push({ path: p, type: 'symlink', target: readlinkSync(abs) });
    else if (d.isDirectory()) out.push({ path: p, type: 'dir' }, ...entriesOf(dir, p));
    else out.push({ path: p, content: readFileSync(abs), mode: lstatSync(abs).mode & 0o7777 });
  }
  return out;
}

let debianJars = 0;
before(async () => {
  put('etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n');
  if (existsSync('/usr/share/java')) {
    cpSync('/usr/share/java', join(root, 'usr/share/java'), { recursive: true, verbatimSymlinks: true });
    debianJars = readdirSync('/usr/share/java').filter((n) => n.endsWith('.jar')).length;
  }
  // both directions also where Debian's tree is absent: versioned real file, and versioned link
  put('usr/share/java/lib-a-1.2.3.jar', await zip([['META-INF/maven/com.example/lib-a/pom.properties', pom('com.example', 'lib-a', '1.2.3')]]));
  link('usr/share/java/lib-a.jar', 'lib-a-1.2.3.jar');
  put('usr/share/java/lib-b.jar', await zip([['META-INF/maven/com.example/lib-b/pom.properties', pom('com.example', 'lib-b', '2.0.1')]]));
  link('usr/share/java/lib-b-2.0.1.jar', 'lib-b.jar');
  // a Go program under usr/bin, reached as bin/tool (usr-merge) and usr/sbin/tool-link
  const modinfo = 'path\texample.com/tool/cmd/tool\nmod\texample.com/tool\t(devel)\t\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:a=\n';
  put('usr/bin/tool', elfWithBuildInfo({ goVersion: 'go1.21.5', modinfo, layout: 'inline' }), 0o755);
  link('bin', 'usr/bin');
  link('usr/sbin/tool-link', '../bin/tool');
  // a venv whose lib64 is a symlink to lib
  put('opt/venv/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA', 'Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n');
  link('opt/venv/lib64', 'lib');
});

const row = (p: { type: string; filePath?: string; name: string; version: string }): string => [p.type, p.filePath ?? '', p.name, p.version].join(' | ');
const LANG = new Set(['jar', 'gobinary', 'python-pkg']);

async function ours(target: string): Promise<{ rows: string[]; fs: Awaited<ReturnType<typeof analyzeTarget>>['fs'] }> {
  const res = await analyzeTarget(target, fileSelector(), { cacheDir: join(work, 'c'), noCache: true });
  const cat = await catalogFs(res.fs, { artifactType: res.artifact.type });
  return { rows: cat.packages.filter((p) => LANG.has(p.type)).map(row).sort(), fs: res.fs };
}

interface TrivyReport {
  Results?: { Target: string; Type?: string; Packages?: { Name: string; Version: string; FilePath?: string }[] }[];
}

/** Trivy 0.44 reads jars only with its Java index DB: an empty one (same schema) lets it run offline. */
function trivyCache(): string {
  const cache = mkdtempSync(join(work, 'trivy-'));
  const dir = join(cache, 'java-db');
  mkdirSync(dir, { recursive: true });
  const db = new DatabaseSync(join(dir, 'trivy-java.db'));
  db.exec('CREATE TABLE artifacts(id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT); CREATE TABLE indices(artifact_id INTEGER, version TEXT, sha1 BLOB, archive_type TEXT); CREATE UNIQUE INDEX artifacts_idx ON artifacts(artifact_id, group_id); CREATE UNIQUE INDEX indices_sha1_idx ON indices(sha1);');
  db.close();
  writeFileSync(join(dir, 'metadata.json'), JSON.stringify({ Version: 1, NextUpdate: '2099-01-01T00:00:00Z', UpdatedAt: '2023-08-23T00:00:00Z', DownloadedAt: '2023-08-23T00:00:00Z' }));
  mkdirSync(join(cache, 'db'));
  for (const f of ['trivy.db', 'metadata.json']) copyFileSync(join(TESTDATA, 'trivy-db/db', f), join(cache, 'db', f));
  return cache;
}

async function theirs(args: string[]): Promise<string[]> {
  const cache = trivyCache();
  const out = join(cache, 'report.json');
  await run(trivy as string, [...args.slice(0, 1), '--cache-dir', cache, '--skip-db-update', '--skip-java-db-update', '--offline-scan', '--scanners', 'vuln', '--format', 'json', '--list-all-pkgs', '--quiet', '-o', out, ...args.slice(1)], { timeout: 300_000 });
  const rep = JSON.parse(readFileSync(out, 'utf8')) as TrivyReport;
  const type = (t: string | undefined): string => (t === 'python-pkg' ? 'python-pkg' : t ?? '');
  return (rep.Results ?? []).filter((r) => LANG.has(r.Type ?? '')).flatMap((r) => (r.Packages ?? []).map((p) => [type(r.Type), p.FilePath ?? r.Target, p.Name, p.Version].join(' | '))).sort();
}

describe('link copies carry linkOf: one package per real file, as Trivy', () => {
  it('image layer: file and directory symlinks and a hard link', async () => {
    const entries: Entry[] = [
      ...entriesOf(root),
      { path: 'usr/bin/tool-hard', type: 'hardlink', target: 'usr/bin/tool' },
      { path: 'opt/app/lib-a.jar', type: 'hardlink', target: 'usr/share/java/lib-a-1.2.3.jar' },
    ];
    const layout = writeOciLayout(join(work, 'layout'), [{ tag: 'latest', image: buildImage({ layers: [entries] }) }]);
    const { rows, fs } = await ours(`oci:${layout}:latest`);
    assert.equal(fs.get('bin/tool')?.linkOf, 'usr/bin/tool', 'directory symlink (usr-merge)');
    assert.equal(fs.get('usr/sbin/tool-link')?.linkOf, 'usr/bin/tool', 'file symlink');
    assert.equal(fs.get('opt/app/lib-a.jar')?.linkOf, 'usr/share/java/lib-a-1.2.3.jar', 'hard link');
    assert.equal(fs.get('usr/bin/tool-hard'), undefined, 'a link only the Go cataloger (which never follows links) would want');
    assert.equal(fs.get('usr/bin/tool')?.linkOf, undefined, 'the real file');
    assert.equal(fs.get('usr/share/java/lib-a.jar')?.linkOf, 'usr/share/java/lib-a-1.2.3.jar');
    assert.equal(fs.get('usr/share/java/lib-b-2.0.1.jar')?.linkOf, 'usr/share/java/lib-b.jar');
    assert.equal(fs.get('opt/venv/lib64/python3.11/site-packages/requests-2.31.0.dist-info/METADATA')?.linkOf, 'opt/venv/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA');
    // one row per real file
    assert.deepEqual(rows.filter((r) => r.includes('lib-a') || r.includes('lib-b') || r.startsWith('gobinary') || r.startsWith('python')), [
      'gobinary | usr/bin/tool | github.com/pkg/errors | v0.9.1',
      'jar | usr/share/java/lib-a-1.2.3.jar | com.example:lib-a | 1.2.3',
      'jar | usr/share/java/lib-b.jar | com.example:lib-b | 2.0.1',
      'python-pkg | opt/venv/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA | requests | 2.31.0',
    ]);
    if (trivy) assert.deepEqual(rows, await theirs(['image', '--input', layout]));
  });

  it('root filesystem: the same tree, with a hard link on disk (two regular files, for Trivy too)', async () => {
    linkSync(join(root, 'usr/bin/tool'), join(root, 'usr/bin/tool-hard'));
    try {
      const { rows, fs } = await ours(`rootfs:${root}`);
      assert.equal(fs.get('bin/tool')?.linkOf, 'usr/bin/tool');
      assert.equal(fs.get('usr/share/java/lib-b-2.0.1.jar')?.linkOf, 'usr/share/java/lib-b.jar');
      assert.ok(rows.includes('gobinary | usr/bin/tool-hard | github.com/pkg/errors | v0.9.1'));
      if (debianJars) assert.ok(rows.filter((r) => r.startsWith('jar | usr/share/java/')).length >= 2 + Math.min(1, debianJars));
      if (trivy) assert.deepEqual(rows, await theirs(['rootfs', root]));
    } finally {
      rmSync(join(root, 'usr/bin/tool-hard'));
    }
  });
});
