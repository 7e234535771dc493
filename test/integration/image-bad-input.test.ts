/**
 * Bad input: each case gives one clear line (a ScannerError with a stable code) naming the image and
 * the cause, and no result.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { catalogFs, fileSelector } from '../../src/ecosystems/index.ts';
import { analyzeTarget, LayerCache } from '../../src/image/index.ts';
import { ScannerError, UserError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/log.ts';
import {
  blobPath,
  buildImage,
  osReleaseEntries,
  pkgdbEntries,
  sha256,
  tarLayer,
  UBUNTU_1804,
  writeDockerArchive,
  writeHugeFileLayout,
  writeOciLayout,
  type LayerSpec,
} from '../helpers/image-builder.ts';

const work = mkdtempSync(join(tmpdir(), 'pc-img-bad-'));
let n = 0;
const cacheDir = (): string => join(work, `cache-${n++}`);
const selector = fileSelector();
const base = (): LayerSpec => ({ entries: [...osReleaseEntries(UBUNTU_1804), ...pkgdbEntries('dpkg-trivy-only-apt')] });

/** Fails the same way on the main thread and in the decoder workers. */
async function fails(target: string, code: string, re: RegExp, opts: { cache?: string; verifyDiffIds?: boolean } = {}): Promise<ScannerError | UserError> {
  let first: ScannerError | UserError | undefined;
  for (const workers of [false, true]) {
    const e = await failsOnce(target, code, re, { ...opts, workers });
    if (first) assert.equal(e.message, first.message, 'workers and main thread report the same');
    first = e;
  }
  assert.ok(first);
  return first;
}

async function failsOnce(target: string, code: string, re: RegExp, opts: { cache?: string; workers: boolean; verifyDiffIds?: boolean }): Promise<ScannerError | UserError> {
  let caught: unknown;
  await assert.rejects(analyzeTarget(target, selector, { cacheDir: opts.cache ?? cacheDir(), workers: opts.workers, verifyDiffIds: opts.verifyDiffIds ?? false }), (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof ScannerError || caught instanceof UserError, String(caught));
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.startsWith(target) || caught.message.includes(`"${target}"`), `names the image: ${caught.message}`);
  assert.match(caught.message, re);
  assert.ok(!caught.message.includes('\n'), 'one line');
  assert.ok(caught.message.length < 600, 'short');
  return caught;
}

function layout(name: string, layers: LayerSpec[]): string {
  const dir = join(work, name);
  writeOciLayout(dir, [{ tag: 'latest', image: buildImage({ layers }) }]);
  return `oci:${dir}`;
}

describe('bad layers', () => {
  it('a truncated gzip layer (digest matches the truncated bytes) is LAYER_CORRUPT', async () => {
    const t = layout('trunc-gzip', [base(), { entries: [{ path: 'etc/x', content: 'y'.repeat(20000) }], blobMutate: (b) => b.subarray(0, b.length - 100) }]);
    await fails(t, 'LAYER_CORRUPT', /layer sha256:[0-9a-f]{64}: gzip stream is truncated/);
  });

  it('bytes after the last gzip member (zeros, or a zero then another member) are LAYER_CORRUPT, not ignored', async () => {
    // zlib would stop at the zero byte and ignore the rest; Go's gzip reader (the runtimes') refuses
    // it. Since diff IDs are not hashed, we must accept only what decodes the same everywhere.
    const big = { entries: [{ path: 'etc/x', content: 'y'.repeat(20000) }] };
    const zeros = layout('gzip-zeros', [base(), { ...big, blobMutate: (b) => Buffer.concat([b, Buffer.alloc(512)]) }]);
    await fails(zeros, 'LAYER_CORRUPT', /gzip stream is corrupt \(data after the end of the compressed stream\)/);
    const hidden = layout('gzip-hidden-member', [base(), { ...big, blobMutate: (b) => Buffer.concat([b, Buffer.alloc(1), b]) }]);
    await fails(hidden, 'LAYER_CORRUPT', /data after the end of the compressed stream/);
    // zstd: the worker's libzstd calls refuse trailing bytes ("Unknown frame descriptor"); the stream
    // API on the main thread ended quietly before them, and is caught by the consumed-input check
    const zst = layout('zstd-zeros', [base(), { ...big, compression: 'zstd', blobMutate: (b) => Buffer.concat([b, Buffer.alloc(64)]) }]);
    for (const workers of [false, true]) await failsOnce(zst, 'LAYER_CORRUPT', /zstd stream is corrupt \((Unknown frame descriptor|data after the end of the compressed stream)\)/, { workers });
    // two members back to back are one valid gzip stream (RFC 1952), decoded whole
    const two = layout('gzip-two-members', [base(), { ...big, blobMutate: (b) => Buffer.concat([b, b]) }]);
    for (const workers of [false, true]) assert.ok((await analyzeTarget(two, selector, { cacheDir: cacheDir(), workers })).fs.get('etc/os-release'));
  });

  it('a corrupt tar header inside a valid gzip stream is LAYER_CORRUPT', async () => {
    const t = layout('bad-tar', [{
      ...base(),
      tarMutate: (tar) => {
        const b = Buffer.from(tar);
        b[512 + 3] = (b[512 + 3] ?? 0) ^ 0x20; // second header's name: checksum no longer matches
        return b;
      },
    }]);
    await fails(t, 'LAYER_CORRUPT', /layer sha256:[0-9a-f]{64}: tar header checksum mismatch/);
  });

  it('a layer whose content does not match its diff ID: DIGEST_MISMATCH from a docker-archive always, from a layout with verifyDiffIds', async () => {
    const wrong = sha256('something else');
    const t = layout('bad-diffid', [base(), { entries: [{ path: 'etc/os-release', content: 'ID=z\n' }], diffId: wrong }]);
    await fails(t, 'DIGEST_MISMATCH', new RegExp(`hashes to sha256:[0-9a-f]{64}, not its diff ID ${wrong}`), { verifyDiffIds: true });
    // by default the verified blob is what is analysed (no runtime would unpack this image: it checks diff IDs)
    for (const workers of [false, true]) {
      const r = await analyzeTarget(t, selector, { cacheDir: cacheDir(), workers });
      assert.equal(r.fs.get('etc/os-release')?.content.toString(), 'ID=z\n');
      assert.equal(r.artifact.diffIds?.[1], wrong, 'the claimed diff ID is reported');
    }
    const img = buildImage({ layers: [base()] });
    const other = tarLayer([{ path: 'etc/os-release', content: 'ID=evil\n' }]);
    const file = writeDockerArchive(join(work, 'bad-diffid.tar'), img, ['x:1'], { layerTars: [other] });
    await fails(`docker-archive:${file}`, 'DIGEST_MISMATCH', /not its diff ID/);
  });

  it('a blob whose bytes do not match its digest is DIGEST_MISMATCH; a missing blob is BLOB_NOT_FOUND', async () => {
    const img = buildImage({ layers: [base()] });
    const dir = join(work, 'tampered');
    writeOciLayout(dir, [{ image: img }]);
    const layer = img.layers[0];
    assert.ok(layer);
    const f = blobPath(dir, layer.digest);
    const b = readFileSync(f);
    b[b.length - 20] = (b[b.length - 20] ?? 0) ^ 1;
    writeFileSync(f, b);
    await fails(`oci:${dir}`, 'DIGEST_MISMATCH', new RegExp(`layer ${layer.digest}: digest mismatch`));
    unlinkSync(f);
    await fails(`oci:${dir}`, 'BLOB_NOT_FOUND', /blob missing from the layout \(blobs\/sha256\/[0-9a-f]{64}\)/);
  });

  it('a layer of an unknown media type is refused by name', async () => {
    const t = layout('helm', [{ ...base(), mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip' }]);
    await fails(t, 'MEDIA_TYPE_UNKNOWN', /has unsupported media type "application\/vnd\.cncf\.helm\.chart\.content\.v1\.tar\+gzip"/);
  });

  it('a manifest of an unknown media type is refused by name', async () => {
    const dir = join(work, 'weird-manifest');
    const img = buildImage({ layers: [base()] });
    writeOciLayout(dir, [{ image: img }]);
    const weird = Buffer.from(img.manifestBytes.toString().replace('application/vnd.oci.image.manifest.v1+json', 'application/vnd.example.weird.v1+json'));
    writeFileSync(blobPath(dir, sha256(weird)), weird);
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.example.weird.v1+json', digest: sha256(weird), size: weird.length }] }));
    await fails(`oci:${dir}`, 'MEDIA_TYPE_UNKNOWN', /unknown manifest media type "application\/vnd\.example\.weird\.v1\+json"/);
  });

  it('a 2 GB file inside a layer is skipped quickly with a note, without buffering it', async () => {
    const dir = join(work, 'huge');
    await writeHugeFileLayout(dir, 'var/lib/dpkg/status', 2 * 1024 ** 3, [...osReleaseEntries(UBUNTU_1804)]);
    assert.ok(statSync(dir).isDirectory());
    for (const workers of [false, true]) {
      const rssBefore = process.memoryUsage().rss;
      const r = await analyzeTarget(`oci:${dir}`, selector, { cacheDir: cacheDir(), workers });
      const grown = process.memoryUsage().rss - rssBefore;
      assert.match(r.notes.join('\n'), /skipped \/var\/lib\/dpkg\/status \(2\.0 GiB, over the [0-9.]+ MiB limit for this file\) in oci:.*: layer sha256:/);
      assert.equal(r.fs.get('var/lib/dpkg/status'), undefined);
      assert.ok(r.fs.get('etc/os-release'));
      assert.ok(grown < 150 * 1024 * 1024, `RSS grew by ${Math.round(grown / 1048576)} MiB (workers: ${workers})`);
    }
  });
});

describe('bad images and archives', () => {
  it('no OS release file: a note, not a crash', async () => {
    const t = layout('no-os', [{ entries: pkgdbEntries('dpkg-trivy-only-apt') }]);
    const r = await analyzeTarget(t, selector, { cacheDir: cacheDir() });
    const cat = await catalogFs(r.fs);
    assert.equal(cat.os, undefined);
    assert.equal(cat.packages.length, 1);
    assert.match(cat.notes.join('\n'), /no OS release file/);
  });

  it('an empty image (no layers) is a valid, empty result', async () => {
    const r = await analyzeTarget(layout('empty', []), selector, { cacheDir: cacheDir() });
    assert.equal([...r.fs.files()].length, 0);
    assert.equal(r.stats.layers, 0);
  });

  it('a docker-archive cut short is ARCHIVE_CORRUPT', async () => {
    const file = writeDockerArchive(join(work, 'cut.tar'), buildImage({ layers: [base(), { entries: [{ path: 'a', content: 'b'.repeat(50000) }] }] }), ['x:1']);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    await fails(`docker-archive:${file}`, 'ARCHIVE_CORRUPT', /archive is truncated/);
  });

  it('files that are not archives, and missing paths, say so', async () => {
    const junk = join(work, 'junk.tar');
    writeFileSync(junk, 'this is not a tar file at all, just text\n'.repeat(40));
    await fails(`docker-archive:${junk}`, 'ARCHIVE_CORRUPT', /not a tar archive/);
    await fails(`oci-archive:${junk}`, 'ARCHIVE_CORRUPT', /not a tar archive/);
    await fails(`docker-archive:${join(work, 'missing.tar')}`, 'ARCHIVE_NOT_FOUND', /cannot open .*missing\.tar \(ENOENT\)/);
    await fails(`oci:${join(work, 'missing-dir')}`, 'LAYOUT_INVALID', /not an OCI image layout \(no oci-layout file\)/);
    const ociAsDocker = join(work, 'oci-as-docker.tar');
    writeFileSync(ociAsDocker, tarLayer([{ path: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' }, { path: 'index.json', content: '{"schemaVersion":2,"manifests":[]}' }]));
    await fails(`docker-archive:${ociAsDocker}`, 'ARCHIVE_INVALID', /no manifest\.json \(for an OCI archive use oci-archive:PATH\)/);
    await fails(`oci-archive:${ociAsDocker}`, 'IMAGE_NOT_FOUND', /lists no images/);
  });

  it('a docker-archive whose manifest.json is malformed or lies about its layers', async () => {
    const img = buildImage({ layers: [base()] });
    const bad = (name: string, manifest: string): string => {
      const f = join(work, `${name}.tar`);
      writeFileSync(f, tarLayer([{ path: `${img.configDigest.slice(7)}.json`, content: img.configBytes }, { path: 'manifest.json', content: manifest }]));
      return `docker-archive:${f}`;
    };
    await fails(bad('m1', '{nope'), 'ARCHIVE_INVALID', /manifest\.json is not JSON/);
    await fails(bad('m2', '[]'), 'ARCHIVE_INVALID', /lists no images/);
    await fails(bad('m3', JSON.stringify([{ Config: `${img.configDigest.slice(7)}.json`, Layers: ['x/layer.tar'] }])), 'ARCHIVE_INVALID', /layer x\/layer\.tar is missing from the archive/);
    await fails(bad('m4', JSON.stringify([{ Config: `${img.configDigest.slice(7)}.json`, Layers: [] }])), 'ARCHIVE_INVALID', /lists 0 layers but the config has 1 diff IDs/);
  });

  it('a config that does not hash to its name in a docker-archive is DIGEST_MISMATCH', async () => {
    const img = buildImage({ layers: [base()] });
    const f = join(work, 'cfg.tar');
    const layerTar = img.layers[0]?.tar ?? Buffer.alloc(0);
    const cfg = Buffer.from(img.configBytes.toString().replace('"os":"linux"', '"os":"linux" '));
    writeFileSync(f, tarLayer([{ path: `${img.configDigest.slice(7)}.json`, content: cfg }, { path: 'l/layer.tar', content: layerTar }, { path: 'manifest.json', content: JSON.stringify([{ Config: `${img.configDigest.slice(7)}.json`, Layers: ['l/layer.tar'] }]) }]));
    await fails(`docker-archive:${f}`, 'DIGEST_MISMATCH', /does not hash to its name/);
  });

  it('an invalid reference or platform is a UserError/ScannerError before anything is read', async () => {
    await fails('Bad/Ref;rm -rf', 'IMAGE_REF_INVALID', /invalid image reference/);
    await assert.rejects(analyzeTarget('oci:/x', selector, { cacheDir: cacheDir(), platform: 'linux' }), (e: unknown) => e instanceof ScannerError && e.code === 'PLATFORM_INVALID');
  });
});

describe('a corrupt cache DB', () => {
  it('is rebuilt, not fatal', async () => {
    const t = layout('cache-corrupt', [base()]);
    const dir = cacheDir();
    const first = await analyzeTarget(t, selector, { cacheDir: dir });
    assert.equal(first.stats.layersRead, 1);
    writeFileSync(join(dir, 'layers.sqlite'), 'garbage, not a SQLite file'.repeat(100));
    rmSync(join(dir, 'layers.sqlite-wal'), { force: true });
    rmSync(join(dir, 'layers.sqlite-shm'), { force: true });
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)), child: () => logger };
    const second = await analyzeTarget(t, selector, { cacheDir: dir, logger });
    assert.equal(second.stats.layersRead, 1, 'read again');
    assert.ok(second.fs.get('var/lib/dpkg/status'));
    assert.match(warnings.join('\n'), /layer cache unusable; discarding it/);
    const third = await analyzeTarget(t, selector, { cacheDir: dir });
    assert.equal(third.stats.cacheHits, 1, 'the rebuilt cache works');
    const c = new LayerCache(dir, silentLogger);
    c.close();
  });
});

after(() => rmSync(work, { recursive: true, force: true }));
