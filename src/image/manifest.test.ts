import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScannerError } from '../shared/errors.ts';
import { MEDIA, parseImageConfig, parseManifest, parsePlatform, selectPlatform, type ImageIndex } from './manifest.ts';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const desc = (mediaType: string, c: string, platform?: Record<string, string>): Record<string, unknown> => ({ mediaType, digest: d(c), size: 100, ...(platform ? { platform } : {}) });
const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

const image = (mediaType: string, layerType: string): Buffer =>
  json({ schemaVersion: 2, mediaType, config: desc(mediaType === MEDIA.ociManifest ? MEDIA.ociConfig : MEDIA.dockerConfig, 'c'), layers: [desc(layerType, '1'), desc(layerType, '2')] });

function index(mediaType: string, entries: Record<string, unknown>[]): ImageIndex {
  const m = parseManifest(json({ schemaVersion: 2, mediaType, manifests: entries }), undefined, 'img');
  assert.equal(m.kind, 'index');
  return m as ImageIndex;
}

describe('parseManifest', () => {
  it('reads OCI and Docker schema-2 image manifests', () => {
    const oci = parseManifest(image(MEDIA.ociManifest, 'application/vnd.oci.image.layer.v1.tar+gzip'), MEDIA.ociManifest, 'img');
    assert.equal(oci.kind, 'manifest');
    assert.equal(oci.kind === 'manifest' && oci.layers.length, 2);
    const docker = parseManifest(image(MEDIA.dockerManifest, 'application/vnd.docker.image.rootfs.diff.tar.gzip'), undefined, 'img');
    assert.equal(docker.mediaType, MEDIA.dockerManifest);
  });

  it('infers the type when mediaType is absent (allowed by OCI)', () => {
    const m = parseManifest(json({ schemaVersion: 2, config: desc(MEDIA.ociConfig, 'c'), layers: [] }), 'application/json', 'img');
    assert.equal(m.mediaType, MEDIA.ociManifest);
    const i = parseManifest(json({ schemaVersion: 2, manifests: [] }), undefined, 'img');
    assert.equal(i.kind, 'index');
  });

  it('refuses unknown media types, schema 1 and malformed documents with one clear line', () => {
    const cases: [Buffer, string | undefined, string, RegExp][] = [
      [json({ schemaVersion: 2, mediaType: 'application/vnd.example.thing+json', config: desc(MEDIA.ociConfig, 'c'), layers: [] }), undefined, 'MEDIA_TYPE_UNKNOWN', /img: unknown manifest media type "application\/vnd\.example\.thing\+json"/],
      [json({ schemaVersion: 1, name: 'x', fsLayers: [] }), MEDIA.dockerSchema1Signed, 'MEDIA_TYPE_UNSUPPORTED', /schema 1 manifests are deprecated/],
      [Buffer.from('<html>'), undefined, 'MANIFEST_INVALID', /img: invalid manifest: not JSON/],
      [json([1]), undefined, 'MANIFEST_INVALID', /not a JSON object/],
      [json({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: desc(MEDIA.ociConfig, 'c') }), undefined, 'MANIFEST_INVALID', /manifest without layers/],
      [json({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, digest: 'sha256:xyz', size: 1 }, layers: [] }), undefined, 'MANIFEST_INVALID', /is not a sha256\/sha512 digest/],
      [json({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, digest: d('c'), size: -1 }, layers: [] }), undefined, 'MANIFEST_INVALID', /has no valid size/],
    ];
    for (const [bytes, ct, code, re] of cases) {
      assert.throws(() => parseManifest(bytes, ct, 'img'), (e: unknown) => e instanceof ScannerError && e.code === code && re.test(e.message) && !e.message.includes('\n'));
    }
  });
});

describe('selectPlatform', () => {
  const list = index(MEDIA.ociIndex, [
    desc(MEDIA.ociManifest, '1', { os: 'linux', architecture: 'amd64' }),
    desc(MEDIA.ociManifest, '2', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    desc(MEDIA.ociManifest, '3', { os: 'linux', architecture: 'arm', variant: 'v6' }),
    desc(MEDIA.ociManifest, '4', { os: 'linux', architecture: 'arm', variant: 'v7' }),
    desc(MEDIA.ociManifest, '5', { os: 'unknown', architecture: 'unknown' }), // buildx attestation
  ]);

  it('picks linux/amd64 by default and the named platform otherwise (arm64 = arm64/v8, arm = arm/v7)', () => {
    assert.equal(selectPlatform(list, parsePlatform('linux/amd64'), 'img').digest, d('1'));
    assert.equal(selectPlatform(list, parsePlatform('linux/arm64'), 'img').digest, d('2'));
    assert.equal(selectPlatform(list, parsePlatform('linux/arm64/v8'), 'img').digest, d('2'));
    assert.equal(selectPlatform(list, parsePlatform('linux/arm'), 'img').digest, d('4'));
    assert.equal(selectPlatform(list, parsePlatform('linux/arm/v6'), 'img').digest, d('3'));
  });

  it('a missing platform names the available ones (not the attestation entries)', () => {
    assert.throws(() => selectPlatform(list, parsePlatform('linux/s390x'), 'ghcr.io/o/app:1'), (e: unknown) => {
      assert.ok(e instanceof ScannerError);
      assert.equal(e.code, 'PLATFORM_NOT_FOUND');
      assert.equal(e.message, 'ghcr.io/o/app:1: no image for platform linux/s390x (available: linux/amd64, linux/arm64/v8, linux/arm/v6, linux/arm/v7)');
      return true;
    });
    assert.throws(() => selectPlatform(list, parsePlatform('windows/amd64'), 'img'), /no image for platform windows\/amd64/);
  });

  it('an index with one image and no platforms is that image; a Docker manifest list works the same', () => {
    assert.equal(selectPlatform(index(MEDIA.ociIndex, [desc(MEDIA.ociManifest, '9')]), parsePlatform('linux/amd64'), 'img').digest, d('9'));
    const dl = index(MEDIA.dockerList, [desc(MEDIA.dockerManifest, '7', { os: 'linux', architecture: 'ppc64le' }), desc(MEDIA.dockerManifest, '8', { os: 'linux', architecture: 'amd64' })]);
    assert.equal(selectPlatform(dl, parsePlatform('linux/amd64'), 'img').digest, d('8'));
  });

  it('refuses malformed platform strings', () => {
    for (const bad of ['linux', 'linux/', '/amd64', 'linux/amd64/v8/x', 'Linux/AMD64', 'linux/amd64;id']) {
      assert.throws(() => parsePlatform(bad), (e: unknown) => e instanceof ScannerError && e.code === 'PLATFORM_INVALID', bad);
    }
  });
});

describe('parseImageConfig', () => {
  it('reads diff IDs, platform and history (empty layers skipped by layerHistory)', () => {
    const c = parseImageConfig(json({ os: 'linux', architecture: 'arm64', variant: 'v8', rootfs: { type: 'layers', diff_ids: [d('a')] }, history: [{ created_by: 'ENV x', empty_layer: true }, { created_by: 'ADD x' }] }), 'img');
    assert.deepEqual(c.diffIds, [d('a')]);
    assert.equal(c.variant, 'v8');
    assert.deepEqual(c.history.map((h) => h.emptyLayer), [true, false]);
  });

  it('refuses invalid diff IDs', () => {
    assert.throws(() => parseImageConfig(json({ rootfs: { diff_ids: ['sha256:nothex'] } }), 'img'), /img: image config has an invalid diff_id/);
    assert.throws(() => parseImageConfig(Buffer.from('{'), 'img'), /image config is not JSON/);
  });
});
