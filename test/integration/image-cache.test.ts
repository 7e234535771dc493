/** The per-layer analysis cache, against a real registry (behind a counting proxy) and OCI layouts. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { catalogFs, fileSelector } from '../../src/ecosystems/index.ts';
import { analyzeTarget, type FileSelector } from '../../src/image/index.ts';
import { buildImage, osReleaseEntries, pkgdbEntries, pkgdbExpected, UBUNTU_1804, writeDockerArchive, writeOciLayout, type Entry } from '../helpers/image-builder.ts';
import { registryAvailable, startFaultProxy, startRegistry, type FaultProxy, type TestRegistry } from '../helpers/registry.ts';

const skip = registryAvailable();
const work = mkdtempSync(join(tmpdir(), 'pc-img-cache-'));
let n = 0;
const cacheDir = (): string => join(work, `cache-${n++}`);
const selector = fileSelector();
const baseLayer: Entry[] = [...osReleaseEntries(UBUNTU_1804), ...pkgdbEntries('dpkg-trivy-ubuntu-18.04-valid')];
const imgA = buildImage({ layers: [baseLayer, [{ path: 'app/a', content: 'a' }]] });
const imgB = buildImage({ layers: [baseLayer, [{ path: 'app/b', content: 'b' }], [{ path: 'etc/os-release', type: 'whiteout' }]] });

describe('layer cache with a registry', { skip }, () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  const blobGets = (): number => proxy.requests.filter((q) => q.method === 'GET' && q.path.includes('/blobs/')).length;

  before(async () => {
    reg = await startRegistry();
    await reg.pushImage(imgA, 'cache/a:1');
    await reg.pushImage(imgB, 'cache/b:1');
    proxy = await startFaultProxy(reg.url, () => undefined);
  });
  after(async () => {
    await proxy?.stop();
    await reg?.stop();
  });

  it('a second analysis of the same image reads no layer and no blob at all', async () => {
    const dir = cacheDir();
    const opts = { cacheDir: dir, allowPrivateRegistries: true };
    const cold = await analyzeTarget(`${proxy.host}/cache/a:1`, selector, opts);
    assert.deepEqual({ hits: cold.stats.cacheHits, read: cold.stats.layersRead }, { hits: 0, read: 2 });
    const before = blobGets();
    const warm = await analyzeTarget(`${proxy.host}/cache/a:1`, selector, opts);
    assert.deepEqual({ hits: warm.stats.cacheHits, read: warm.stats.layersRead, bytes: warm.stats.bytesRead }, { hits: 2, read: 0, bytes: 0 });
    assert.equal(blobGets(), before, 'neither layers nor the (cached, verified) config were downloaded');
    const files = (r: typeof cold): [string, string, string | undefined][] => [...r.fs.files()].map((f) => [f.path, f.content.toString('base64'), f.layer]);
    assert.deepEqual(files(warm), files(cold), 'the same merged view, layer attribution included');
    assert.deepEqual(warm.artifact, cold.artifact);
  });

  it('a base layer shared by two images is read once', async () => {
    const dir = cacheDir();
    const opts = { cacheDir: dir, allowPrivateRegistries: true };
    await analyzeTarget(`${proxy.host}/cache/a:1`, selector, opts);
    const b = await analyzeTarget(`${proxy.host}/cache/b:1`, selector, opts);
    assert.deepEqual({ hits: b.stats.cacheHits, read: b.stats.layersRead }, { hits: 1, read: 2 });
    assert.equal(b.fs.get('etc/os-release'), undefined, 'whiteout in the top layer applies over the cached base');
  });

  it('an entry made for another selector key is not reused', async () => {
    const dir = cacheDir();
    const opts = { cacheDir: dir, allowPrivateRegistries: true };
    await analyzeTarget(`${proxy.host}/cache/a:1`, selector, opts);
    const other: FileSelector = { key: 'only-os-release-v1', wants: (f) => f.path.endsWith('os-release'), maxFileSize: () => 1 << 20 };
    const r = await analyzeTarget(`${proxy.host}/cache/a:1`, other, opts);
    assert.deepEqual({ hits: r.stats.cacheHits, read: r.stats.layersRead }, { hits: 0, read: 2 });
    assert.equal(r.fs.get('var/lib/dpkg/status'), undefined, 'the other selector sees only what it asked for');
    const again = await analyzeTarget(`${proxy.host}/cache/a:1`, selector, opts);
    assert.equal(again.stats.cacheHits, 2, 'both keys live side by side');
    assert.ok(again.fs.get('var/lib/dpkg/status'));
  });

  it('noCache neither reads nor writes the cache', async () => {
    const dir = cacheDir();
    const r = await analyzeTarget(`${proxy.host}/cache/a:1`, selector, { cacheDir: dir, allowPrivateRegistries: true, noCache: true });
    assert.equal(r.stats.layersRead, 2);
    assert.equal(existsSync(join(dir, 'layers.sqlite')), false);
  });
});

describe('layer cache entries', () => {
  it('a damaged entry is re-read from the layer, not trusted', async () => {
    const dir = join(work, 'layout');
    writeOciLayout(dir, [{ image: imgA }]);
    const cache = cacheDir();
    await analyzeTarget(`oci:${dir}`, selector, { cacheDir: cache });
    const db = new DatabaseSync(join(cache, 'layers.sqlite'));
    db.exec("UPDATE layers SET data = substr(data, 1, 20)");
    db.close();
    const r = await analyzeTarget(`oci:${dir}`, selector, { cacheDir: cache });
    assert.equal(r.stats.layersRead, 2);
    assert.ok(r.fs.get('var/lib/dpkg/status'));
    const again = await analyzeTarget(`oci:${dir}`, selector, { cacheDir: cache });
    assert.equal(again.stats.cacheHits, 2, 'rewritten');
  });

  it('OCI layout and docker-archive layers are cached too', async () => {
    const dir = join(work, 'layout2');
    writeOciLayout(dir, [{ image: imgB }]);
    const cache = cacheDir();
    await analyzeTarget(`oci:${dir}`, selector, { cacheDir: cache });
    const warm = await analyzeTarget(`oci:${dir}`, selector, { cacheDir: cache });
    assert.deepEqual({ hits: warm.stats.cacheHits, read: warm.stats.layersRead }, { hits: 3, read: 0 });
  });
});

describe('layer cache poisoning (blob-digest keys, diff IDs not hashed)', () => {
  // A popular image, and an attacker's image whose config claims the popular layer's diff ID for a
  // layer of its own (which would hide a vulnerable package behind the popular layer's analysis, or
  // plant its own analysis under the popular diff ID, if the cache were keyed by claimed diff IDs).
  const popular = buildImage({ layers: [baseLayer] });
  const popularDiffId = popular.layers[0]?.diffId ?? '';
  const evilLayer: Entry[] = [...osReleaseEntries(UBUNTU_1804), ...pkgdbEntries('dpkg-trivy-only-apt')];
  const evil = buildImage({ layers: [{ entries: evilLayer, diffId: popularDiffId }] });

  it('the attacker image claims the popular diff ID: its config says so, its blob is its own', () => {
    assert.equal(evil.layers[0]?.diffId, popularDiffId);
    assert.notEqual(evil.layers[0]?.digest, popular.layers[0]?.digest);
  });

  for (const order of ['popular first', 'attacker first'] as const) {
    it(`scanned in one cache (${order}), each image gets the analysis of its own bytes (OCI layouts and docker-archive)`, async () => {
      const cache = cacheDir();
      const pDir = join(work, `pop-${order}`);
      const eDir = join(work, `evil-${order}`);
      writeOciLayout(pDir, [{ image: popular }]);
      writeOciLayout(eDir, [{ image: evil }]);
      const pArchive = writeDockerArchive(join(work, `pop-${order}.tar`), popular, ['pop:1']);
      const scan = (t: string): ReturnType<typeof analyzeTarget> => analyzeTarget(t, selector, { cacheDir: cache });
      const runs = order === 'popular first' ? [`oci:${pDir}`, `docker-archive:${pArchive}`, `oci:${eDir}`] : [`oci:${eDir}`, `oci:${pDir}`, `docker-archive:${pArchive}`];
      const out = new Map<string, Awaited<ReturnType<typeof analyzeTarget>>>();
      for (const t of runs) out.set(t, await scan(t));
      const e = out.get(`oci:${eDir}`);
      const p = out.get(`oci:${pDir}`);
      const a = out.get(`docker-archive:${pArchive}`);
      assert.ok(e && p && a);
      assert.equal(e.stats.cacheHits, 0, 'the attacker image reuses nothing');
      const pkgs = async (r: typeof e): Promise<string[]> => (await catalogFs(r.fs)).packages.map((x) => `${x.name}@${x.version}`).sort();
      const expected = (f: string): string[] => pkgdbExpected(f).packages.map((x) => `${x.name}@${x.version}`).sort();
      assert.deepEqual(await pkgs(e), expected('dpkg-trivy-only-apt'), 'the attacker packages are reported');
      assert.deepEqual(await pkgs(p), expected('dpkg-trivy-ubuntu-18.04-valid'), 'the popular image never gets the attacker analysis');
      assert.deepEqual(await pkgs(a), expected('dpkg-trivy-ubuntu-18.04-valid'));
      assert.notDeepEqual(expected('dpkg-trivy-only-apt'), expected('dpkg-trivy-ubuntu-18.04-valid'));
      // the claimed diff ID is still what the report carries (Trivy's Layer.DiffID)
      assert.deepEqual(e.artifact.diffIds, [popularDiffId]);
      assert.equal(e.fs.get('var/lib/dpkg/status')?.layer, popularDiffId);
      // a verifying scan refuses the attacker image, and does not take the entry made without verification
      await assert.rejects(analyzeTarget(`oci:${eDir}`, selector, { cacheDir: cache, verifyDiffIds: true }), /DIGEST_MISMATCH|not its diff ID/);
      const pv = await analyzeTarget(`oci:${pDir}`, selector, { cacheDir: cache, verifyDiffIds: true });
      assert.equal(pv.stats.cacheHits, 0, 'verified entries are keyed with the diff ID they were verified against');
      assert.equal((await analyzeTarget(`oci:${pDir}`, selector, { cacheDir: cache, verifyDiffIds: true })).stats.cacheHits, 1);
    });
  }
});

after(() => rmSync(work, { recursive: true, force: true }));
