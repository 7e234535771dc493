/**
 * Real container images for tests: tar layers built from layer specs, with correct configs (diff_ids,
 * history, os/arch), written as OCI image layouts, docker-archives and oci-archives. Everything is
 * deterministic (fixed mtimes, sorted nothing behind your back): the same spec gives the same digests.
 *
 * ## API
 *
 * Layer entries (`Entry`), paths relative to the image root ('etc/os-release', no leading '/'):
 *   { path, content?: string | Buffer, mode? }            regular file (default mode 0644)
 *   { path, type: 'dir', mode? }                          directory
 *   { path, type: 'symlink', target }                     symlink (target as written: '../usr/lib/os-release', '/abs')
 *   { path, type: 'hardlink', target }                    hard link to `target` (a path in the same layer)
 *   { path, type: 'whiteout' }                            deletes PATH from lower layers (writes DIR/.wh.NAME)
 *   { path, type: 'opaque' }                              hides the lower contents of directory PATH (PATH/.wh..wh..opq)
 * Parent directories are added automatically (once per layer) unless the layer says `parents: false`.
 *
 *   tarLayer(entries, { parents? })            → Buffer: the uncompressed tar
 *   buildImage(spec: ImageSpec)                → BuiltImage (manifest, config, layers, blobs, digests)
 *       ImageSpec = { layers: (Entry[] | LayerSpec)[], os?, architecture?, variant?, format?: 'oci' | 'docker', config? }
 *       LayerSpec = { entries, compression?: 'gzip' | 'zstd' | 'none', createdBy?, mediaType?, parents? }
 *   buildIndex([{ image, platform? }])          → BuiltIndex (a multi-platform image index, OCI or Docker list)
 *   writeOciLayout(dir, [{ tag?, image }])      → writes an OCI image layout holding those images / indexes
 *   writeOciArchive(file, layoutDir)            → tars a layout (skopeo's oci-archive format)
 *   writeDockerArchive(file, image, repoTags)   → `docker save` format written by us (for crafted bad input)
 *   skopeoDockerArchive(layoutDir, tag, file, name) → docker-archive written by the real skopeo
 *   blobPath(layoutDir, digest)                 → the file holding a blob (to corrupt it in tests)
 *   hugeFileTar(path, size)                     → AsyncIterable<Buffer>: a tar stream with one file of `size`
 *                                                  zero bytes, generated lazily (a 2 GB entry costs no memory)
 *   writeHugeFileLayout(dir, path, size, base)  → an OCI layout (tag 'latest'): layer 1 = `base` entries,
 *                                                  layer 2 = gzip of hugeFileTar, streamed to disk (2 GB → 9 MB)
 * Fixture content:
 *   pkgdbEntries(name, { under? })              → the files of ../shared/testdata/pkgdb/NAME at their in-image paths
 *   osReleaseEntries(os)                        → usr/lib/os-release + etc/os-release symlink (as Debian/Ubuntu ship)
 *   vulnerableImageSpec() / cleanImageSpec()    → two ready images for end-to-end tests (see their docs)
 *
 * With the registry helper: `await writeOciLayout(dir, [{ tag: 'v1', image }])`, then
 * `await registry.push(dir, 'app:v1', { tag: 'v1' })`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip, gzipSync, zstdCompressSync } from 'node:zlib';
import { TESTDATA } from './paths.ts';

const execFileP = promisify(execFile);

export type Entry =
  | { path: string; type?: 'file'; content?: string | Buffer; mode?: number }
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'symlink'; target: string }
  | { path: string; type: 'hardlink'; target: string }
  | { path: string; type: 'whiteout' }
  | { path: string; type: 'opaque' };

export type Compression = 'gzip' | 'zstd' | 'none';

export interface LayerSpec {
  entries: Entry[];
  compression?: Compression;
  createdBy?: string;
  /** Override the descriptor's media type (e.g. to test unknown types). */
  mediaType?: string;
  /** Add missing parent directories (default true). */
  parents?: boolean;
  /** Bad-input hooks: change the tar before it is compressed (the diff ID follows the change) … */
  tarMutate?: (tar: Buffer) => Buffer;
  /** … change the compressed blob (the descriptor digest follows; the diff ID does not) … */
  blobMutate?: (blob: Buffer) => Buffer;
  /** … or record another diff ID in the config. */
  diffId?: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageSpec {
  layers: (Entry[] | LayerSpec)[];
  os?: string;
  architecture?: string;
  variant?: string;
  /** 'oci' (default) or 'docker' (schema 2 manifest and media types). */
  format?: 'oci' | 'docker';
  /** Merged into the image config's `config` object (Env, Cmd …). */
  config?: Record<string, unknown>;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface BuiltLayer {
  /** Uncompressed tar. */
  tar: Buffer;
  /** The blob as stored (compressed or not). */
  blob: Buffer;
  diffId: string;
  digest: string;
  mediaType: string;
}

export interface BuiltImage {
  kind: 'image';
  platform: Platform;
  layers: BuiltLayer[];
  config: Record<string, unknown>;
  configBytes: Buffer;
  configDigest: string;
  manifestBytes: Buffer;
  manifestDigest: string;
  manifestMediaType: string;
  /** Every blob of the image by digest (layers, config, manifest). */
  blobs: Map<string, Buffer>;
}

export interface BuiltIndex {
  kind: 'index';
  images: BuiltImage[];
  indexBytes: Buffer;
  indexDigest: string;
  mediaType: string;
  blobs: Map<string, Buffer>;
}

export const MTIME = 1704067200; // 2024-01-01T00:00:00Z
const BLOCK = 512;

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

// ---------------------------------------------------------------------------------------------
// tar writing (ustar + pax for long names), our own so headers can be exact and streams lazy

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body);
  let total = len + String(len).length;
  if (String(total).length !== String(len).length) total = len + String(total).length;
  len = total;
  return Buffer.from(`${len}${body}`);
}

interface HeaderFields {
  name: string;
  size: number;
  mode: number;
  /** '0' file, '1' hard link, '2' symlink, '5' directory, 'x' pax */
  flag: string;
  linkname?: string;
}

/** One 512-byte ustar header (name ≤ 100 bytes, or split into prefix/name; otherwise use pax). */
export function tarHeader(h: HeaderFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  let name = h.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const i = name.lastIndexOf('/', name.length - 1);
    if (i > 0 && Buffer.byteLength(name.slice(0, i)) <= 155 && Buffer.byteLength(name.slice(i + 1)) <= 100) {
      prefix = name.slice(0, i);
      name = name.slice(i + 1);
    } else {
      name = name.slice(0, 100);
    }
  }
  b.write(name, 0, 100, 'utf8');
  b.write(octal(h.mode & 0o7777, 8), 100, 'latin1');
  b.write(octal(0, 8), 108, 'latin1');
  b.write(octal(0, 8), 116, 'latin1');
  b.write(octal(h.size, 12), 124, 'latin1');
  b.write(octal(MTIME, 12), 136, 'latin1');
  b.write('        ', 148, 'latin1');
  b.write(h.flag, 156, 'latin1');
  if (h.linkname) b.write(h.linkname.slice(0, 100), 157, 100, 'utf8');
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  b.write('root', 265, 'latin1');
  b.write('root', 297, 'latin1');
  b.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i] ?? 0;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

function pad(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** Header blocks for one member, with a pax header first when the name or link does not fit ustar. */
function memberHeader(h: HeaderFields): Buffer[] {
  const out: Buffer[] = [];
  const nameFits = Buffer.byteLength(h.name) <= 100 || (() => {
    const i = h.name.lastIndexOf('/');
    return i > 0 && Buffer.byteLength(h.name.slice(0, i)) <= 155 && Buffer.byteLength(h.name.slice(i + 1)) <= 100;
  })();
  const linkFits = !h.linkname || Buffer.byteLength(h.linkname) <= 100;
  if (!nameFits || !linkFits) {
    const recs: Buffer[] = [];
    if (!nameFits) recs.push(paxRecord('path', h.name));
    if (!linkFits && h.linkname) recs.push(paxRecord('linkpath', h.linkname));
    const body = Buffer.concat(recs);
    out.push(tarHeader({ name: 'PaxHeaders/x', size: body.length, mode: 0o644, flag: 'x' }), body, pad(body.length));
  }
  out.push(tarHeader(h));
  return out;
}

function parentsOf(path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** The uncompressed tar for `entries` (parent directories first, unless parents: false). */
export function tarLayer(entries: Entry[], opts: { parents?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  const dirs = new Set<string>();
  const addDir = (p: string, mode = 0o755): void => {
    if (dirs.has(p)) return;
    dirs.add(p);
    parts.push(...memberHeader({ name: `${p}/`, size: 0, mode, flag: '5' }));
  };
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '').replace(/\/+$/, '');
    if (opts.parents !== false) for (const d of parentsOf(path)) addDir(d);
    switch (e.type) {
      case undefined:
      case 'file': {
        const c = typeof e.content === 'string' ? Buffer.from(e.content) : (e.content ?? Buffer.alloc(0));
        parts.push(...memberHeader({ name: path, size: c.length, mode: e.mode ?? 0o644, flag: '0' }), c, pad(c.length));
        break;
      }
      case 'dir':
        if (opts.parents === false || !dirs.has(path)) {
          dirs.add(path);
          parts.push(...memberHeader({ name: `${path}/`, size: 0, mode: e.mode ?? 0o755, flag: '5' }));
        }
        break;
      case 'symlink':
        parts.push(...memberHeader({ name: path, size: 0, mode: 0o777, flag: '2', linkname: e.target }));
        break;
      case 'hardlink':
        parts.push(...memberHeader({ name: path, size: 0, mode: 0o644, flag: '1', linkname: e.target }));
        break;
      case 'whiteout': {
        const i = path.lastIndexOf('/');
        const wh = i >= 0 ? `${path.slice(0, i)}/.wh.${path.slice(i + 1)}` : `.wh.${path}`;
        parts.push(...memberHeader({ name: wh, size: 0, mode: 0o644, flag: '0' }));
        break;
      }
      case 'opaque':
        if (opts.parents !== false) addDir(path);
        parts.push(...memberHeader({ name: `${path}/.wh..wh..opq`, size: 0, mode: 0o644, flag: '0' }));
        break;
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/**
 * A tar stream holding `path` with `size` zero bytes (and an end marker), produced chunk by chunk:
 * a 2 GB entry is 2048 yields of one shared 1 MiB buffer. `truncateAt` stops the stream early.
 */
export async function* hugeFileTar(path: string, size: number, opts: { truncateAt?: number; after?: Entry[] } = {}): AsyncGenerator<Buffer> {
  const chunk = Buffer.alloc(1 << 20);
  let sent = 0;
  const limit = opts.truncateAt ?? Number.POSITIVE_INFINITY;
  const emit = function* (b: Buffer): Generator<Buffer> {
    if (sent >= limit) return;
    const take = Math.min(b.length, limit - sent);
    sent += take;
    yield take === b.length ? b : b.subarray(0, take);
  };
  for (const h of memberHeader({ name: path, size, mode: 0o644, flag: '0' })) yield* emit(h);
  let left = size;
  while (left > 0 && sent < limit) {
    const n = Math.min(left, chunk.length);
    yield* emit(n === chunk.length ? chunk : chunk.subarray(0, n));
    left -= n;
  }
  yield* emit(pad(size));
  // what follows the big file (a tar without its own end marker, then the end marker)
  const rest = opts.after ? tarLayer(opts.after, { parents: false }) : Buffer.alloc(BLOCK * 2);
  yield* emit(rest);
}

// ---------------------------------------------------------------------------------------------
// images

const OCI = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: { gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', zstd: 'application/vnd.oci.image.layer.v1.tar+zstd', none: 'application/vnd.oci.image.layer.v1.tar' },
} as const;
const DOCKER = {
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  index: 'application/vnd.docker.distribution.manifest.list.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
  layer: { gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip', zstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd', none: 'application/vnd.docker.image.rootfs.diff.tar' },
} as const;

export function compress(tar: Buffer, c: Compression): Buffer {
  if (c === 'gzip') return gzipSync(tar, { level: 6 });
  if (c === 'zstd') return zstdCompressSync(tar);
  return tar;
}

function toLayerSpec(l: Entry[] | LayerSpec): LayerSpec {
  return Array.isArray(l) ? { entries: l } : l;
}

export function buildLayer(spec: LayerSpec, format: 'oci' | 'docker' = 'oci'): BuiltLayer {
  const c = spec.compression ?? 'gzip';
  let tar = tarLayer(spec.entries, spec.parents === undefined ? {} : { parents: spec.parents });
  if (spec.tarMutate) tar = spec.tarMutate(tar);
  let blob = compress(tar, c);
  if (spec.blobMutate) blob = spec.blobMutate(blob);
  const mediaType = spec.mediaType ?? (format === 'docker' ? DOCKER : OCI).layer[c];
  return { tar, blob, diffId: spec.diffId ?? sha256(tar), digest: sha256(blob), mediaType };
}

export function buildImage(spec: ImageSpec): BuiltImage {
  const format = spec.format ?? 'oci';
  const T = format === 'docker' ? DOCKER : OCI;
  const specs = spec.layers.map(toLayerSpec);
  const layers = specs.map((l) => buildLayer(l, format));
  const platform: Platform = { os: spec.os ?? 'linux', architecture: spec.architecture ?? 'amd64' };
  if (spec.variant) platform.variant = spec.variant;
  const created = new Date(MTIME * 1000).toISOString();
  const config: Record<string, unknown> = {
    created,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...(spec.config ?? {}) },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: specs.map((l, i) => ({ created, created_by: l.createdBy ?? `layer ${i + 1}` })),
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = sha256(configBytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: T.manifest,
    config: { mediaType: T.config, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.blob.length })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = sha256(manifestBytes);
  const blobs = new Map<string, Buffer>();
  for (const l of layers) blobs.set(l.digest, l.blob);
  blobs.set(configDigest, configBytes);
  blobs.set(manifestDigest, manifestBytes);
  return { kind: 'image', platform, layers, config, configBytes, configDigest, manifestBytes, manifestDigest, manifestMediaType: T.manifest, blobs };
}

/** A multi-platform index (OCI) or manifest list (when the images are docker-format). */
export function buildIndex(images: BuiltImage[], opts: { extra?: Descriptor[] } = {}): BuiltIndex {
  const docker = images.every((i) => i.manifestMediaType === DOCKER.manifest) && images.length > 0;
  const mediaType = docker ? DOCKER.index : OCI.index;
  const manifests: Descriptor[] = images.map((i) => ({ mediaType: i.manifestMediaType, digest: i.manifestDigest, size: i.manifestBytes.length, platform: i.platform }));
  manifests.push(...(opts.extra ?? []));
  const indexBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests }));
  const indexDigest = sha256(indexBytes);
  const blobs = new Map<string, Buffer>();
  for (const i of images) for (const [d, b] of i.blobs) blobs.set(d, b);
  blobs.set(indexDigest, indexBytes);
  return { kind: 'index', images, indexBytes, indexDigest, mediaType, blobs };
}

export function descriptorOf(x: BuiltImage | BuiltIndex, tag?: string): Descriptor {
  const d: Descriptor =
    x.kind === 'image'
      ? { mediaType: x.manifestMediaType, digest: x.manifestDigest, size: x.manifestBytes.length }
      : { mediaType: x.mediaType, digest: x.indexDigest, size: x.indexBytes.length };
  if (tag !== undefined) d.annotations = { 'org.opencontainers.image.ref.name': tag };
  return d;
}

export function blobPath(layoutDir: string, digest: string): string {
  const [algo = 'sha256', hex = ''] = digest.split(':');
  return join(layoutDir, 'blobs', algo, hex);
}

/**
 * Writes an OCI image layout: every blob, `oci-layout`, and `index.json` listing each item (tagged
 * with org.opencontainers.image.ref.name when `tag` is given; `platform` on image entries when asked).
 * The directory is replaced.
 */
export function writeOciLayout(dir: string, items: { tag?: string; image: BuiltImage | BuiltIndex; withPlatform?: boolean }[]): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const manifests: Descriptor[] = [];
  for (const it of items) {
    for (const [d, b] of it.image.blobs) writeFileSync(blobPath(dir, d), b);
    const desc = descriptorOf(it.image, it.tag);
    if (it.withPlatform && it.image.kind === 'image') desc.platform = it.image.platform;
    manifests.push(desc);
  }
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI.index, manifests }));
  return dir;
}

function walkFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const abs = join(d, name);
      if (statSync(abs).isDirectory()) walk(abs);
      else out.push(abs);
    }
  };
  walk(root);
  return out;
}

/** Tars a directory (an OCI layout → an oci-archive). */
export function writeOciArchive(file: string, layoutDir: string): string {
  const entries: Entry[] = walkFiles(layoutDir).map((abs) => ({ path: relative(layoutDir, abs), content: readFileSync(abs) }));
  writeFileSync(file, tarLayer(entries));
  return file;
}

/** `docker save` format written by us: uncompressed layers as <diffhex>/layer.tar, <confighex>.json, manifest.json. */
export function writeDockerArchive(file: string, image: BuiltImage, repoTags: string[] = [], opts: { layerTars?: Buffer[] } = {}): string {
  const cfgHex = image.configDigest.slice(7);
  const entries: Entry[] = [{ path: `${cfgHex}.json`, content: image.configBytes }];
  const layerPaths: string[] = [];
  image.layers.forEach((l, i) => {
    const p = `${l.diffId.slice(7)}/layer.tar`;
    layerPaths.push(p);
    entries.push({ path: p, content: opts.layerTars?.[i] ?? l.tar });
  });
  entries.push({ path: 'manifest.json', content: JSON.stringify([{ Config: `${cfgHex}.json`, RepoTags: repoTags, Layers: layerPaths }]) });
  writeFileSync(file, tarLayer(entries));
  return file;
}

/** A docker-archive written by the real skopeo from an OCI layout's tag. */
export async function skopeoDockerArchive(layoutDir: string, tag: string, file: string, name: string): Promise<string> {
  rmSync(file, { force: true });
  await execFileP('skopeo', ['--insecure-policy', 'copy', '-q', `oci:${layoutDir}:${tag}`, `docker-archive:${file}:${name}`], { timeout: 120_000 });
  return file;
}

/** An oci-archive written by the real skopeo. */
export async function skopeoOciArchive(layoutDir: string, tag: string, file: string): Promise<string> {
  rmSync(file, { force: true });
  await execFileP('skopeo', ['--insecure-policy', 'copy', '-q', `oci:${layoutDir}:${tag}`, `oci-archive:${file}:${tag}`], { timeout: 120_000 });
  return file;
}

// ---------------------------------------------------------------------------------------------
// fixture content

/** The files of ../shared/testdata/pkgdb/NAME at their in-image paths (expected.json left out), under `under` if given. */
export function pkgdbEntries(name: string, opts: { under?: string } = {}): Entry[] {
  const root = join(TESTDATA, 'pkgdb', name);
  const prefix = opts.under ? `${opts.under.replace(/^\/+|\/+$/g, '')}/` : '';
  return walkFiles(root)
    .map((abs) => relative(root, abs))
    .filter((p) => p !== 'expected.json')
    .map((p) => ({ path: `${prefix}${p}`, content: readFileSync(join(root, p)) }));
}

/** The expected package list of a pkgdb fixture. */
export function pkgdbExpected(name: string): { packages: { name: string; version: string }[] } {
  return JSON.parse(readFileSync(join(TESTDATA, 'pkgdb', name, 'expected.json'), 'utf8')) as { packages: { name: string; version: string }[] };
}

export interface OsReleaseSpec {
  id: string;
  versionId: string;
  name?: string;
  prettyName?: string;
  codename?: string;
  idLike?: string;
}

export function osReleaseText(os: OsReleaseSpec): string {
  const name = os.name ?? os.id.charAt(0).toUpperCase() + os.id.slice(1);
  const lines = [
    `PRETTY_NAME="${os.prettyName ?? `${name} ${os.versionId}`}"`,
    `NAME="${name}"`,
    `VERSION_ID="${os.versionId}"`,
    `ID=${os.id}`,
  ];
  if (os.idLike) lines.push(`ID_LIKE=${os.idLike}`);
  if (os.codename) lines.push(`VERSION_CODENAME=${os.codename}`);
  return `${lines.join('\n')}\n`;
}

/** usr/lib/os-release plus etc/os-release → ../usr/lib/os-release, as Debian and Ubuntu ship them. */
export function osReleaseEntries(os: OsReleaseSpec): Entry[] {
  return [
    { path: 'usr/lib/os-release', content: osReleaseText(os) },
    { path: 'etc/os-release', type: 'symlink', target: '../usr/lib/os-release' },
  ];
}

export const UBUNTU_1804: OsReleaseSpec = { id: 'ubuntu', versionId: '18.04', name: 'Ubuntu', prettyName: 'Ubuntu 18.04.1 LTS', codename: 'bionic', idLike: 'debian' };
export const DEBIAN_12: OsReleaseSpec = { id: 'debian', versionId: '12', name: 'Debian GNU/Linux', prettyName: 'Debian GNU/Linux 12 (bookworm)', codename: 'bookworm' };

/**
 * A vulnerable image: Ubuntu 18.04 with the 90-package dpkg status of Trivy's test data
 * (pkgdb/dpkg-trivy-ubuntu-18.04-valid: apt 1.6.3ubuntu0.1 matches USN-3863-1 in ../shared/testdata/osv),
 * plus a Python layer with setuptools 51.3.3 (egg-info; PYSEC match in osv-matches) and an npm package.
 * Two gzip layers.
 */
export function vulnerableImageSpec(format: 'oci' | 'docker' = 'oci'): ImageSpec {
  return {
    format,
    layers: [
      { createdBy: 'ADD ubuntu 18.04 base', entries: [...osReleaseEntries(UBUNTU_1804), ...pkgdbEntries('dpkg-trivy-ubuntu-18.04-valid')] },
      {
        createdBy: 'COPY app',
        entries: [
          ...pkgdbEntries('python-trivy-setuptools-51.3.3-py3.8.egg-info', { under: 'usr/lib/python3.8' }),
          ...pkgdbEntries('npm-trivy-package-json', { under: 'app' }),
        ],
      },
    ],
  };
}

/**
 * A clean image: Debian 12 os-release, no OS package database, and packages with no advisory in
 * ../shared/testdata/osv (python simple 0.1.0, iniconfig 2.0.0: empty osv-matches files).
 */
export function cleanImageSpec(format: 'oci' | 'docker' = 'oci'): ImageSpec {
  return {
    format,
    layers: [
      { createdBy: 'ADD debian 12 base', entries: [...osReleaseEntries(DEBIAN_12)] },
      {
        createdBy: 'COPY app',
        entries: [
          ...pkgdbEntries('python-trivy-simple-0.1.0', { under: 'usr/local/lib/python3.11' }),
          ...pkgdbEntries('python-trivy-iniconfig-2.0.0', { under: 'usr/local/lib/python3.11' }),
        ],
      },
    ],
  };
}

/**
 * An OCI layout (tag 'latest') whose second layer holds one `size`-byte file at `path`, gzip-streamed
 * to disk while both digests are computed: nothing of the size is ever held in memory.
 */
export async function writeHugeFileLayout(dir: string, path: string, size: number, base: Entry[]): Promise<{ layerDigest: string }> {
  const first = buildLayer({ entries: base });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(blobPath(dir, first.digest), first.blob);
  const tmp = join(dir, 'blobs', 'huge.tmp');
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  let gzSize = 0;
  const src = Readable.from((async function* () {
    for await (const c of hugeFileTar(path, size)) {
      tarHash.update(c);
      yield c;
    }
  })());
  const gz = createGzip({ level: 1 });
  gz.on('data', (c: Buffer) => {
    gzHash.update(c);
    gzSize += c.length;
  });
  await pipeline(src, gz, createWriteStream(tmp));
  const digest = `sha256:${gzHash.digest('hex')}`;
  const diffId = `sha256:${tarHash.digest('hex')}`;
  renameSync(tmp, blobPath(dir, digest));
  const created = new Date(MTIME * 1000).toISOString();
  const config = Buffer.from(JSON.stringify({
    created, architecture: 'amd64', os: 'linux', config: {},
    rootfs: { type: 'layers', diff_ids: [first.diffId, diffId] },
    history: [{ created, created_by: 'base' }, { created, created_by: `ADD ${path} (${size} bytes)` }],
  }));
  writeFileSync(blobPath(dir, sha256(config)), config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI.manifest,
    config: { mediaType: OCI.config, digest: sha256(config), size: config.length },
    layers: [
      { mediaType: first.mediaType, digest: first.digest, size: first.blob.length },
      { mediaType: OCI.layer.gzip, digest, size: gzSize },
    ],
  }));
  writeFileSync(blobPath(dir, sha256(manifest)), manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI.index, manifests: [{ mediaType: OCI.manifest, digest: sha256(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }));
  return { layerDigest: digest };
}
