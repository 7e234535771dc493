/**
 * `db update --source trivy` end to end below the CLI: a real Trivy DB artifact (db.tar.gz built from
 * ../shared/testdata/trivy-db/db, OCI manifest with Trivy's media types) pushed to Debian's
 * docker-registry on a free 127.0.0.1 port, pulled by updateTrivyDb with the project's registry client,
 * installed, and matched against. Every kind of bad artifact leaves the previous DB byte-for-byte in
 * place, leaves no staging directory behind, and fails with one line and a stable code.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import tar from 'tar-stream';
import { ScannerError } from '../../src/shared/errors.ts';
import { buildInventory } from '../../src/scan/index.ts';
import { matchTrivy } from '../../src/scan/match-trivy.ts';
import { silentLogger } from '../../src/shared/log.ts';
import { openTrivyDb, TrivyDb, trivyDbDir, trivyDbStatus, updateTrivyDb } from '../../src/vulndb/trivy/index.ts';
import { TRIVY_DB_LAYER_MEDIA_TYPE } from '../../src/vulndb/trivy/pull.ts';
import type { BuiltImage } from '../helpers/image-builder.ts';
import { TESTDATA } from '../helpers/paths.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';

const DB_DIR = join(TESTDATA, 'trivy-db', 'db');
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function dbTarGz(files: Record<string, Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const [name, content] of Object.entries(files)) pack.entry({ name, size: content.length, mode: 0o644, mtime: new Date('2023-08-23T00:00:00Z') }, content);
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

/** An OCI artifact shaped like ghcr.io/aquasecurity/trivy-db:2, as the registry helper pushes it. */
function artifact(layer: Buffer, layerMediaType = TRIVY_DB_LAYER_MEDIA_TYPE): BuiltImage {
  const configBytes = Buffer.from('{}');
  const config = { mediaType: 'application/vnd.aquasec.trivy.config.v1+json', digest: sha256(configBytes), size: configBytes.length };
  const layerDesc = { mediaType: layerMediaType, digest: sha256(layer), size: layer.length, annotations: { 'org.opencontainers.image.title': 'db.tar.gz' } };
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layerDesc], annotations: { 'org.opencontainers.image.created': '2023-08-23T00:00:00Z' } }));
  const manifestDigest = sha256(manifestBytes);
  return {
    kind: 'image',
    platform: { os: 'unknown', architecture: 'unknown' },
    layers: [],
    config: {},
    configBytes,
    configDigest: config.digest,
    manifestBytes,
    manifestDigest,
    manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    blobs: new Map([
      [config.digest, configBytes],
      [layerDesc.digest, layer],
      [manifestDigest, manifestBytes],
    ]),
  };
}

const skip = registryAvailable();
const realDb = readFileSync(join(DB_DIR, 'trivy.db'));
const realMeta = readFileSync(join(DB_DIR, 'metadata.json'));

describe('Trivy DB pull from a real registry', { skip: skip ?? false }, () => {
  let reg: TestRegistry;
  let cacheDir: string;
  let goodLayer: Buffer;
  before(async () => {
    reg = await startRegistry();
    cacheDir = mkdtempSync(join(tmpdir(), 'pc-trivydb-pull-'));
    goodLayer = await dbTarGz({ 'trivy.db': realDb, 'metadata.json': realMeta });
    await reg.pushImage(artifact(goodLayer), 'aquasecurity/trivy-db:2');
  });
  after(async () => {
    await reg.stop();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  const installedHash = (): string => sha256(readFileSync(join(trivyDbDir(cacheDir), 'trivy.db')));
  const noStaging = (): void => assert.deepEqual(readdirSync(cacheDir).filter((f) => f.startsWith('.trivy-db-staging')), []);

  /** A bad artifact must fail with `code`, in one line, and leave the DB installed before untouched. */
  async function expectRefused(ref: string, code: string, extra: { maxBytes?: number } = {}): Promise<ScannerError> {
    const before = installedHash();
    const beforeMeta = readFileSync(join(trivyDbDir(cacheDir), 'metadata.json'), 'utf8');
    let caught: unknown;
    try {
      await updateTrivyDb({ cacheDir, repository: `${reg.host}/${ref}`, force: true, logger: silentLogger, ...extra });
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof ScannerError, `expected a ScannerError, got ${String(caught)}`);
    assert.equal(caught.code, code, caught.message);
    assert.ok(!caught.message.includes('\n'), 'one line');
    assert.equal(installedHash(), before, 'previous trivy.db untouched');
    assert.equal(readFileSync(join(trivyDbDir(cacheDir), 'metadata.json'), 'utf8'), beforeMeta, 'previous metadata.json untouched');
    noStaging();
    const db = openTrivyDb(cacheDir);
    assert.ok(db, 'the previous DB still opens');
    db.close();
    return caught;
  }

  it('pulls, verifies and installs the artifact; the installed DB matches as the shared one does', async () => {
    const progress: { done: number; total?: number }[] = [];
    const status = await updateTrivyDb({ cacheDir, repository: `${reg.host}/aquasecurity/trivy-db:2`, logger: silentLogger, onProgress: (p) => progress.push(p) });
    assert.equal(status.skipped, undefined);
    assert.equal(installedHash(), sha256(realDb));
    const shared = TrivyDb.open(DB_DIR);
    assert.equal(status.vulnerabilities, shared.summary().vulnerabilities);
    shared.close();
    assert.equal(status.metadata.Version, 2);
    assert.ok(status.metadata.DownloadedAt && Date.now() - Date.parse(status.metadata.DownloadedAt) < 60_000, 'DownloadedAt stamped');
    assert.ok(progress.length > 0 && progress.at(-1)?.done === goodLayer.length && progress.at(-1)?.total === goodLayer.length, JSON.stringify(progress.at(-1)));
    noStaging();
    const db = openTrivyDb(cacheDir);
    assert.ok(db);
    try {
      const inv = await buildInventory(`rootfs:${join(TESTDATA, 'trivy-db', 'rootfs', 'alpine-310')}`, { cacheDir, logger: silentLogger, noCache: true });
      const ids = matchTrivy(inv, db).findings.map((f) => `${f.package.name} ${f.advisoryId}`).sort();
      assert.deepEqual(ids, ['libcrypto1.1 CVE-2019-1549', 'libcrypto1.1 CVE-2019-1551', 'libssl1.1 CVE-2019-1549', 'libssl1.1 CVE-2019-1551']);
    } finally {
      db.close();
    }
  });

  it('skips while NextUpdate is in the future, pulls again with force', async () => {
    const skipped = await updateTrivyDb({ cacheDir, repository: `${reg.host}/aquasecurity/trivy-db:2`, logger: silentLogger });
    assert.equal(skipped.skipped, true);
    const forced = await updateTrivyDb({ cacheDir, repository: `${reg.host}/aquasecurity/trivy-db`, force: true, logger: silentLogger });
    assert.equal(forced.skipped, undefined, 'tag 2 is the default');
  });

  it('refuses an artifact without the Trivy DB media type', async () => {
    await reg.pushImage(artifact(goodLayer, 'application/vnd.oci.image.layer.v1.tar+gzip'), 'wrong/media:2');
    const err = await expectRefused('wrong/media:2', 'TRIVYDB_MEDIA_TYPE');
    assert.match(err.message, /not a Trivy DB artifact: no layer of media type application\/vnd\.aquasec\.trivy\.db\.layer\.v1\.tar\+gzip \(found: application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip\)/);
  });

  it('refuses a blob whose bytes do not match its digest (corrupted in storage)', async () => {
    const layer = await dbTarGz({ 'trivy.db': realDb, 'metadata.json': Buffer.from('{"Version":2,"NextUpdate":"2099-01-01T00:00:00Z"}') });
    await reg.pushImage(artifact(layer), 'corrupt/blob:2');
    const file = reg.blobFile(sha256(layer));
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    const err = await expectRefused('corrupt/blob:2', 'DIGEST_MISMATCH');
    assert.match(err.message, /digest mismatch/);
  });

  it('refuses a truncated db.tar.gz', async () => {
    await reg.pushImage(artifact(goodLayer.subarray(0, goodLayer.length >> 1)), 'truncated/tarball:2');
    const err = await expectRefused('truncated/tarball:2', 'TRIVYDB_ARCHIVE');
    assert.match(err.message, /not a complete gzip-compressed tar archive/);
  });

  it('refuses an unknown schema version', async () => {
    await reg.pushImage(artifact(await dbTarGz({ 'trivy.db': realDb, 'metadata.json': Buffer.from('{"Version":3,"UpdatedAt":"2030-01-01T00:00:00Z"}') })), 'schema/v3:2');
    const err = await expectRefused('schema/v3:2', 'TRIVYDB_SCHEMA');
    assert.match(err.message, /schema version 3 is not supported/);
  });

  it('refuses a corrupt trivy.db (meta pages intact, data pages garbage)', async () => {
    const bad = Buffer.from(realDb);
    let x = 12345;
    for (let i = 3 * 4096; i < bad.length; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      bad[i] = x & 0xff;
    }
    await reg.pushImage(artifact(await dbTarGz({ 'trivy.db': bad, 'metadata.json': realMeta })), 'corrupt/db:2');
    await expectRefused('corrupt/db:2', 'TRIVYDB_CORRUPT');
  });

  it('refuses an archive without trivy.db', async () => {
    await reg.pushImage(artifact(await dbTarGz({ 'metadata.json': realMeta })), 'empty/archive:2');
    await expectRefused('empty/archive:2', 'TRIVYDB_NO_DB');
  });

  it('refuses a layer larger than the size cap before downloading it', async () => {
    await expectRefused('aquasecurity/trivy-db:2', 'TRIVYDB_TOO_LARGE', { maxBytes: 1024 });
  });

  it('a missing repository is a clear registry error', async () => {
    const err = await expectRefused('no/such-db:2', 'REGISTRY_NOT_FOUND');
    assert.match(err.message, /404/);
  });
});

describe('Trivy DB pull with registry credentials', { skip: skip ?? false }, () => {
  let reg: TestRegistry;
  let cacheDir: string;
  before(async () => {
    reg = await startRegistry({ auth: 'token' });
    cacheDir = mkdtempSync(join(tmpdir(), 'pc-trivydb-pull-auth-'));
    await reg.pushImage(artifact(await dbTarGz({ 'trivy.db': realDb, 'metadata.json': realMeta })), 'mirror/trivy-db:2');
  });
  after(async () => {
    await reg.stop();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('uses the docker config credentials (token auth)', async () => {
    const registryConfig = reg.dockerConfig();
    const status = await updateTrivyDb({ cacheDir, repository: `${reg.host}/mirror/trivy-db:2`, registryConfig, insecure: [reg.host], logger: silentLogger });
    assert.ok(existsSync(status.path) && statSync(status.path).size === realDb.length);
    assert.ok(reg.tokenRequests.some((t) => t.user === reg.user && t.status === 200), 'token fetched with the configured user');
  });

  it('without credentials: unauthorized, nothing installed', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'pc-trivydb-pull-none-'));
    try {
      await assert.rejects(updateTrivyDb({ cacheDir: empty, repository: `${reg.host}/mirror/trivy-db:2`, logger: silentLogger }), (err: unknown) => err instanceof ScannerError && err.code === 'REGISTRY_UNAUTHORIZED');
      assert.equal(trivyDbStatus(empty), undefined);
      assert.deepEqual(readdirSync(empty).filter((f) => f.startsWith('.trivy-db-staging')), []);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
