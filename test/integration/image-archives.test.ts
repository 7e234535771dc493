/**
 * Local sources: OCI layouts (with and without a tag), oci-archives and docker-archives written by the
 * real skopeo, and root filesystems; layers with whiteouts, opaque directories, symlinks (relative,
 * absolute, looping) and hard links, built from the real package databases in ../shared/testdata.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { catalogFs, fileSelector } from '../../src/ecosystems/index.ts';
import { analyzeTarget, type AnalyzeResult } from '../../src/image/index.ts';
import { ScannerError } from '../../src/shared/errors.ts';
import {
  buildImage,
  buildIndex,
  DEBIAN_12,
  osReleaseEntries,
  osReleaseText,
  pkgdbEntries,
  pkgdbExpected,
  skopeoDockerArchive,
  skopeoOciArchive,
  UBUNTU_1804,
  writeDockerArchive,
  writeOciArchive,
  writeOciLayout,
  type Entry,
  type ImageSpec,
} from '../helpers/image-builder.ts';

const skopeo = existsSync('/usr/bin/skopeo') ? undefined : 'skopeo not installed (apt-get install skopeo)';
const work = mkdtempSync(join(tmpdir(), 'pc-img-arch-'));
let n = 0;
const cacheDir = (): string => join(work, `cache-${n++}`);
const base = fileSelector();
// The OS catalogers' selector plus npm package.json files (to see whiteouts and opaque dirs at work).
const selector = { ...base, key: `${base.key}+npm`, wants: (f: { path: string; size: number; mode: number }) => base.wants(f) || f.path.endsWith('/package.json') };

const pkg = (name: string, version: string): Entry => ({ path: `app/node_modules/${name}/package.json`, content: JSON.stringify({ name, version }) });
const dpkgNames = (fixture: string): string[] => pkgdbExpected(fixture).packages.map((p) => `${p.name}@${p.version}`).sort();

/**
 * The layered image every source is checked with:
 *  1 Ubuntu 18.04 base: usr/lib/os-release + etc/os-release → ../usr/lib/os-release, the 90-package dpkg status,
 *    node_modules with moment, axios 0.21.1 (and a nested file), ms
 *  2 RUN rm moment: whiteout .wh.moment
 *  3 axios replaced through an opaque directory: axios/.wh..wh..opq + axios 0.21.4
 *  4 apt-get purge: dpkg status replaced by a one-package status (whiteout + re-add in a later layer)
 *  5 a hard-linked and an absolutely symlinked copy of the release file
 */
const layeredSpec = (format: 'oci' | 'docker' = 'oci', zstd = true): ImageSpec => ({
  format,
  layers: [
    { createdBy: 'base', entries: [...osReleaseEntries(UBUNTU_1804), ...pkgdbEntries('dpkg-trivy-ubuntu-18.04-valid'), pkg('moment', '2.29.1'), pkg('axios', '0.21.1'), { path: 'app/node_modules/axios/lib/old.js', content: 'x' }, pkg('ms', '2.1.3')] },
    { createdBy: 'rm moment', entries: [{ path: 'app/node_modules/moment', type: 'whiteout' }] },
    { createdBy: 'axios 0.21.4', compression: zstd ? 'zstd' : 'gzip', entries: [{ path: 'app/node_modules/axios', type: 'opaque' }, pkg('axios', '0.21.4')] },
    { createdBy: 'purge', compression: 'none', entries: [{ path: 'var/lib/dpkg/status', type: 'whiteout' }] },
    { createdBy: 'reinstall', entries: [...pkgdbEntries('dpkg-trivy-only-apt'), { path: 'opt/release', type: 'hardlink', target: 'var/lib/dpkg/status' }, { path: 'etc/lsb-release', type: 'symlink', target: '/usr/lib/os-release' }] },
  ],
});

function checkLayered(r: AnalyzeResult, packages: string[], os: string | undefined): void {
  const files = [...r.fs.files()].map((f) => f.path);
  assert.ok(!files.includes('app/node_modules/moment/package.json'), 'moment was deleted by a whiteout');
  assert.equal(r.fs.get('app/node_modules/axios/package.json')?.content.toString(), JSON.stringify({ name: 'axios', version: '0.21.4' }), 'axios re-added after the opaque whiteout');
  assert.ok(files.includes('app/node_modules/ms/package.json'));
  assert.deepEqual(packages, dpkgNames('dpkg-trivy-only-apt'), 'the purged status is gone; only the re-added one is seen');
  assert.equal(os, 'ubuntu 18.04', 'etc/os-release → ../usr/lib/os-release was followed');
}

async function analyze(target: string): Promise<{ r: AnalyzeResult; packages: string[]; os?: string; notes: string[] }> {
  const r = await analyzeTarget(target, selector, { cacheDir: cacheDir() });
  const cat = await catalogFs(r.fs);
  const out: { r: AnalyzeResult; packages: string[]; os?: string; notes: string[] } = {
    r,
    packages: cat.packages.filter((p) => p.type === 'deb').map((p) => `${p.name}@${p.version}`).sort(),
    notes: [...r.notes, ...cat.notes],
  };
  if (cat.os) out.os = `${cat.os.family} ${cat.os.version}`;
  return out;
}

describe('OCI layouts', () => {
  const layout = join(work, 'layout');
  const img = buildImage(layeredSpec());
  before(() => {
    writeOciLayout(layout, [{ tag: 'v1', image: img }]);
  });

  it('with a tag and without one (a layout holding one image)', async () => {
    for (const target of [`oci:${layout}:v1`, `oci:${layout}`]) {
      const a = await analyze(target);
      checkLayered(a.r, a.packages, a.os);
      assert.equal(a.r.artifact.digest, img.manifestDigest);
      assert.deepEqual(a.r.artifact.diffIds, img.layers.map((l) => l.diffId));
      assert.deepEqual(a.r.artifact.layers.map((l) => l.createdBy), ['base', 'rm moment', 'axios 0.21.4', 'purge', 'reinstall']);
      assert.deepEqual(a.r.artifact.repoTags, ['v1']);
    }
  });

  it('with several tags: the tag picks one, no tag is a clear error listing the tags', async () => {
    const multi = join(work, 'multi');
    const other = buildImage({ layers: [[...osReleaseEntries(DEBIAN_12)]] });
    writeOciLayout(multi, [{ tag: 'a', image: img }, { tag: 'b', image: other }]);
    assert.equal((await analyze(`oci:${multi}:b`)).os, 'debian 12');
    await assert.rejects(analyzeTarget(`oci:${multi}`, selector, { cacheDir: cacheDir() }), (e: unknown) =>
      e instanceof ScannerError && e.code === 'IMAGE_AMBIGUOUS' && e.message === `oci:${multi}: the layout holds 2 images; name one as oci:DIR:TAG (tags: a, b)`);
    await assert.rejects(analyzeTarget(`oci:${multi}:c`, selector, { cacheDir: cacheDir() }), (e: unknown) =>
      e instanceof ScannerError && e.code === 'IMAGE_NOT_FOUND' && e.message === `oci:${multi}:c: no image tagged "c" (tags: a, b)`);
  });

  it('a multi-platform index inside a layout: linux/amd64 by default, --platform otherwise', async () => {
    const amd = buildImage({ layers: [[...osReleaseEntries(UBUNTU_1804)]] });
    const arm = buildImage({ layers: [[...osReleaseEntries(DEBIAN_12)]], architecture: 'arm64' });
    const dir = join(work, 'multiarch');
    writeOciLayout(dir, [{ tag: 'latest', image: buildIndex([arm, amd]) }]);
    assert.equal((await analyzeTarget(`oci:${dir}:latest`, selector, { cacheDir: cacheDir() })).artifact.digest, amd.manifestDigest);
    assert.equal((await analyzeTarget(`oci:${dir}`, selector, { cacheDir: cacheDir(), platform: 'linux/arm64' })).artifact.digest, arm.manifestDigest);
    await assert.rejects(analyzeTarget(`oci:${dir}`, selector, { cacheDir: cacheDir(), platform: 'linux/riscv64' }), /no image for platform linux\/riscv64 \(available: linux\/arm64, linux\/amd64\)/);
  });

  it('a layout made of images each with a platform in index.json (skopeo/buildx style)', async () => {
    const amd = buildImage({ layers: [[...osReleaseEntries(UBUNTU_1804)]] });
    const arm = buildImage({ layers: [[...osReleaseEntries(DEBIAN_12)]], architecture: 'arm64' });
    const dir = join(work, 'flat-multiarch');
    writeOciLayout(dir, [{ image: arm, withPlatform: true }, { image: amd, withPlatform: true }]);
    assert.equal((await analyzeTarget(`oci:${dir}`, selector, { cacheDir: cacheDir() })).artifact.digest, amd.manifestDigest);
  });
});

describe('archives written by skopeo', { skip: skopeo }, () => {
  const layout = join(work, 'layout-skopeo');
  before(() => {
    // skopeo refuses zstd layers for docker-archive
    writeOciLayout(layout, [{ tag: 'v1', image: buildImage(layeredSpec('oci', false)) }]);
  });

  it('docker-archive (docker save format, uncompressed layers, diff IDs checked)', async () => {
    const file = await skopeoDockerArchive(layout, 'v1', join(work, 'img-docker.tar'), 'example.com/team/app:v1');
    const a = await analyze(`docker-archive:${file}`);
    checkLayered(a.r, a.packages, a.os);
    assert.deepEqual(a.r.artifact.repoTags, ['example.com/team/app:v1']);
    assert.equal(a.r.artifact.layers.length, 5);
    assert.ok(a.r.artifact.imageId?.startsWith('sha256:'));
  });

  it('oci-archive', async () => {
    const file = await skopeoOciArchive(layout, 'v1', join(work, 'img-oci.tar'));
    const a = await analyze(`oci-archive:${file}`);
    checkLayered(a.r, a.packages, a.os);
  });

  it('oci-archive tarred by us and by GNU tar (./ prefixes)', async () => {
    const ours = writeOciArchive(join(work, 'ours.tar'), layout);
    checkLayered(...(await analyze(`oci-archive:${ours}`).then((a) => [a.r, a.packages, a.os] as const)));
    const gnu = join(work, 'gnu.tar');
    execFileSync('tar', ['-cf', gnu, '-C', layout, '.']);
    checkLayered(...(await analyze(`oci-archive:${gnu}`).then((a) => [a.r, a.packages, a.os] as const)));
  });

  it('docker format images: docker media types in a layout, and a docker save archive we write', async () => {
    const img = buildImage(layeredSpec('docker', false));
    const dir = join(work, 'layout-docker-format');
    writeOciLayout(dir, [{ tag: 'v1', image: img }]);
    const a = await analyze(`oci:${dir}:v1`);
    checkLayered(a.r, a.packages, a.os);
    const file = writeDockerArchive(join(work, 'docker-format.tar'), img, ['app:v1']);
    const b = await analyze(`docker-archive:${file}`);
    checkLayered(b.r, b.packages, b.os);
    assert.equal(b.r.artifact.imageId, img.configDigest);
  });
});

describe('root filesystems', () => {
  const root = join(work, 'rootfs');
  before(() => {
    const put = (p: string, content: string | Buffer): void => {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), content);
    };
    put('usr/lib/os-release', osReleaseText(UBUNTU_1804));
    mkdirSync(join(root, 'etc'), { recursive: true });
    symlinkSync('../usr/lib/os-release', join(root, 'etc/os-release'));
    for (const e of pkgdbEntries('dpkg-trivy-ubuntu-18.04-valid')) if (e.type === undefined || e.type === 'file') put(e.path, e.content ?? '');
    put('app/node_modules/axios/package.json', JSON.stringify({ name: 'axios', version: '0.21.4' }));
    linkSync(join(root, 'var/lib/dpkg/status'), join(root, 'status-hardlink'));
    symlinkSync('/etc/passwd', join(root, 'app/node_modules/package.json')); // absolute: must resolve inside the root, not on the host
    symlinkSync('loop-b', join(root, 'app/loop-a'));
    symlinkSync('loop-a', join(root, 'app/loop-b'));
    symlinkSync('/', join(root, 'app/node_modules/root-link')); // a directory link to the root: not walked into
  });

  it('reads an unpacked filesystem without following links out of it', async () => {
    const a = await analyze(`rootfs:${root}`);
    assert.equal(a.os, 'ubuntu 18.04');
    assert.deepEqual(a.packages, dpkgNames('dpkg-trivy-ubuntu-18.04-valid'));
    assert.equal(a.r.artifact.type, 'rootfs');
    assert.equal(a.r.fs.get('app/node_modules/package.json'), undefined, 'the /etc/passwd link resolves inside the root (where there is none)');
    assert.ok(![...a.r.fs.files()].some((f) => f.path.startsWith('app/node_modules/root-link/')));
  });

  it('a missing or non-directory root is one clear error', async () => {
    await assert.rejects(analyzeTarget(`rootfs:${join(work, 'nope')}`, selector, { cacheDir: cacheDir() }), (e: unknown) => e instanceof ScannerError && e.code === 'ROOTFS_NOT_FOUND' && /^rootfs:.*nope: cannot read .*nope \(ENOENT\)$/.test(e.message));
    await assert.rejects(analyzeTarget(`rootfs:${join(root, 'usr/lib/os-release')}`, selector, { cacheDir: cacheDir() }), /is not a directory/);
  });
});

describe('links inside layers', () => {
  it('a wanted file that is a hard link to a file nobody asked for is read in a second pass', async () => {
    const dpkg = pkgdbEntries('dpkg-trivy-only-apt')[0];
    assert.ok(dpkg && (dpkg.type === undefined || dpkg.type === 'file'));
    const img = buildImage({
      layers: [
        [...osReleaseEntries(UBUNTU_1804), { path: 'opt/status.real', content: dpkg.content ?? '' }],
        [{ path: 'var/lib/dpkg/status', type: 'hardlink', target: 'opt/status.real' }],
      ],
    });
    const dir = join(work, 'hardlink');
    writeOciLayout(dir, [{ image: img }]);
    // hard links point within their own layer in real tars; here the target is in a lower layer, which overlay also resolves
    const a = await analyze(`oci:${dir}`);
    assert.equal(a.r.stats.secondPass, true);
    assert.deepEqual(a.packages, dpkgNames('dpkg-trivy-only-apt'));
  });

  it('a symlinked release file whose target only a second pass reads (absolute link, usr-merge, loop)', async () => {
    const img = buildImage({
      layers: [
        [{ path: 'opt/os/release', content: osReleaseText(DEBIAN_12) }, { path: 'etc/os-release', type: 'symlink', target: '/opt/os/release' }],
        [...pkgdbEntries('dpkg-trivy-only-apt'), { path: 'usr/lib/os-release', type: 'symlink', target: '../lib/os-release' }, { path: 'lib', type: 'symlink', target: 'usr/lib' }],
      ],
    });
    const dir = join(work, 'symlinks');
    writeOciLayout(dir, [{ image: img }]);
    const a = await analyze(`oci:${dir}`);
    assert.equal(a.os, 'debian 12');
    assert.equal(a.r.stats.secondPass, true);
    assert.match(a.notes.join('\n'), /symlink \/usr\/lib\/os-release could not be resolved \(loop/);
  });
});

after(() => rmSync(work, { recursive: true, force: true }));
