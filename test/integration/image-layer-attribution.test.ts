/**
 * Layer attribution as Trivy's applier: a package's layer is the first layer whose own copy of its
 * file lists it at that version — not the layer that last rewrote the dpkg database or the file. A
 * real multi-layer image (dpkg status rewritten by every layer: upgrades, a removal and re-install, an
 * epoch-only change; a package.json rewritten unchanged and one upgraded; a dist-info whited out and
 * re-added), checked against expected layers and against the real Trivy's Packages[].Layer.DiffID.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { catalogFs, fileSelector } from '../../src/ecosystems/index.ts';
import { analyzeTarget } from '../../src/image/index.ts';
import { buildImage, DEBIAN_12, osReleaseEntries, writeDockerArchive, writeOciLayout, type Entry } from '../helpers/image-builder.ts';
import { trivyBinary } from '../helpers/trivy.ts';

const run = promisify(execFile);
const trivy = trivyBinary();
const work = mkdtempSync(join(tmpdir(), 'pc-img-attr-'));
after(() => rmSync(work, { recursive: true, force: true }));

const stanza = (name: string, version: string): string =>
  `Package: ${name}\nStatus: install ok installed\nPriority: optional\nSection: misc\nInstalled-Size: 10\nMaintainer: Test <t@example.com>\nArchitecture: amd64\nVersion: ${version}\nDescription: ${name}\n test package\n`;
const status = (pkgs: [string, string][]): Entry => ({ path: 'var/lib/dpkg/status', content: `${pkgs.map(([n, v]) => stanza(n, v)).join('\n')}\n` });
const pkgJson = (name: string, version: string): Entry => ({ path: `app/node_modules/${name}/package.json`, content: JSON.stringify({ name, version, license: 'MIT' }) });
const SITE = 'usr/local/lib/python3.11/site-packages';
const metadata = (name: string, version: string): Entry => ({ path: `${SITE}/${name}-${version}.dist-info/METADATA`, content: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n` });

// L1 installs; L2 upgrades libb, adds libc, rewrites lodash's package.json unchanged, upgrades left-pad,
// bumps only libe's epoch; L3 rewrites the status (apt) adding libd; L4 removes libc; L5 re-installs
// libc at the same version and re-adds a dist-info L3 deleted.
const layers: Entry[][] = [
  [...osReleaseEntries(DEBIAN_12), status([['liba', '1.0-1'], ['libb', '1.0-1'], ['libe', '1:2.0-1']]), pkgJson('lodash', '4.17.21'), pkgJson('left-pad', '1.0.0'), metadata('requests', '2.31.0')],
  [status([['liba', '1.0-1'], ['libb', '2.0-1'], ['libc', '1.0-1'], ['libe', '2:2.0-1']]), pkgJson('lodash', '4.17.21'), pkgJson('left-pad', '1.3.0')],
  [status([['liba', '1.0-1'], ['libb', '2.0-1'], ['libc', '1.0-1'], ['libd', '1.0-1'], ['libe', '2:2.0-1']]), { path: `${SITE}/requests-2.31.0.dist-info`, type: 'whiteout' }],
  [status([['liba', '1.0-1'], ['libb', '2.0-1'], ['libd', '1.0-1'], ['libe', '2:2.0-1']])],
  [status([['liba', '1.0-1'], ['libb', '2.0-1'], ['libc', '1.0-1'], ['libd', '1.0-1'], ['libe', '2:2.0-1']]), metadata('requests', '2.31.0')],
];
const image = buildImage({ layers });
const diffIds = image.layers.map((l) => l.diffId);

const EXPECTED: Record<string, number> = {
  'liba@1.0-1': 0,
  'libb@2.0-1': 1,
  'libc@1.0-1': 1, // first installed at this version in L2, removed in L4, back in L5
  'libd@1.0-1': 2,
  'libe@2:2.0-1': 0, // Trivy compares name, version and release, not the epoch
  'lodash@4.17.21': 0, // rewritten unchanged in L2
  'left-pad@1.3.0': 1,
  'requests@2.31.0': 0, // whited out in L3, the same version re-added in L5: Trivy looks at every layer
};

async function ours(target: string): Promise<Map<string, string>> {
  const res = await analyzeTarget(target, fileSelector(), { cacheDir: join(work, 'cache'), noCache: true });
  const cat = await catalogFs(res.fs, { artifactType: res.artifact.type });
  return new Map(cat.packages.map((p) => [`${p.name}@${p.version}`, p.locations[0]?.layer ?? '']));
}

describe('layer attribution (the first layer that had the package, as Trivy)', () => {
  for (const kind of ['oci', 'docker'] as const) {
    it(`${kind}: every package gets the layer that first had it at its version`, async () => {
      const target = kind === 'oci' ? `oci:${writeOciLayout(join(work, 'layout'), [{ tag: 'latest', image }])}:latest` : `docker-archive:${writeDockerArchive(join(work, 'img.tar'), image, ['attr:latest'])}`;
      const got = await ours(target);
      assert.deepEqual(Object.fromEntries([...got].map(([k, l]) => [k, diffIds.indexOf(l)]).sort()), Object.fromEntries(Object.entries(EXPECTED).sort()));
    });
  }

  it('the same layer as the real Trivy, for every package', { skip: trivy ? false : 'no Trivy binary (set PORTCULLIS_TEST_TRIVY)' }, async () => {
    const tar = writeDockerArchive(join(work, 'trivy.tar'), image, ['attr:latest']);
    const cache = mkdtempSync(join(work, 'trivy-'));
    const out = join(cache, 'report.json');
    await run(trivy as string, ['image', '--input', tar, '--cache-dir', cache, '--format', 'json', '--list-all-pkgs', '--scanners', 'license', '--offline-scan', '--quiet', '-o', out], { timeout: 300_000 });
    const rep = JSON.parse(readFileSync(out, 'utf8')) as { Results?: { Packages?: { Name: string; Version: string; Release?: string; Epoch?: number; Layer?: { DiffID?: string } }[] }[] };
    const theirs = new Map<string, string>();
    for (const r of rep.Results ?? []) {
      for (const p of r.Packages ?? []) theirs.set(`${p.Name}@${p.Epoch ? `${p.Epoch}:` : ''}${p.Version}${p.Release ? `-${p.Release}` : ''}`, p.Layer?.DiffID ?? '');
    }
    const got = await ours(`docker-archive:${tar}`);
    assert.deepEqual([...theirs.keys()].sort(), Object.keys(EXPECTED).sort(), 'the same packages');
    assert.deepEqual(Object.fromEntries([...got].sort()), Object.fromEntries([...theirs].sort()));
  });
});
