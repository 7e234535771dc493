/**
 * OCI image layouts: a directory (`oci:DIR[:TAG]`) or the same inside a tar (`oci-archive:PATH`).
 * The image is picked by its `org.opencontainers.image.ref.name` annotation; a layout holding one
 * image needs no tag. Blob paths are built from validated digests only, and must be regular files.
 */
import { createReadStream } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScannerError } from '../../shared/errors.ts';
import { verified } from '../digest.ts';
import { MANIFEST_MAX_BYTES, MEDIA, parseManifest, selectPlatform, type Descriptor, type Platform } from '../manifest.ts';
import { checkDigest } from '../reference.ts';
import { imageFromManifest, resolveManifest, verifyingStore } from './image.ts';
import type { TarIndex } from './tar-index.ts';
import type { ImageSource, RawLayer } from './types.ts';

const REF_NAME = 'org.opencontainers.image.ref.name';

function blobPath(digest: string): string {
  checkDigest(digest);
  const [algo = '', hex = ''] = digest.split(':');
  return `blobs/${algo}/${hex}`;
}

interface LayoutFiles {
  readFile(name: string, max: number): Promise<Buffer | undefined>;
  open(desc: Pick<Descriptor, 'digest' | 'size'>, what: string): Promise<AsyncIterable<Buffer>>;
  /** The blob's bytes as a file range, unverified (the layer decoder verifies them). */
  raw(desc: Pick<Descriptor, 'digest' | 'size'>, what: string): Promise<RawLayer>;
}

function dirFiles(dir: string, what: string): LayoutFiles {
  const raw = async (desc: Pick<Descriptor, 'digest' | 'size'>, w: string): Promise<RawLayer> => {
    const p = join(dir, blobPath(desc.digest));
    const st = await lstat(p).catch(() => undefined);
    if (!st) throw new ScannerError('BLOB_NOT_FOUND', `${w}: blob missing from the layout (${blobPath(desc.digest)})`);
    if (!st.isFile()) throw new ScannerError('LAYOUT_INVALID', `${w}: ${blobPath(desc.digest)} is not a regular file`);
    // one byte more than declared is enough for the decoder to report "larger than its declared size"
    return { file: { path: p, start: 0, length: Math.min(st.size, desc.size + 1) } };
  };
  return {
    async readFile(name, max) {
      const p = join(dir, name);
      let st;
      try {
        st = await lstat(p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new ScannerError('LAYOUT_UNREADABLE', `${what}: cannot read ${name} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      if (!st.isFile()) throw new ScannerError('LAYOUT_INVALID', `${what}: ${name} is not a regular file`);
      if (st.size > max) throw new ScannerError('SIZE_LIMIT', `${what}: ${name} is larger than ${max} bytes`);
      return readFile(p);
    },
    async open(desc, w) {
      const r = await raw(desc, w);
      const path = 'file' in r ? r.file.path : '';
      return verified(createReadStream(path, { highWaterMark: 256 << 10 }), { digest: desc.digest, size: desc.size, what: w });
    },
    raw,
  };
}

function archiveFiles(idx: TarIndex): LayoutFiles {
  return {
    readFile: (name, max) => idx.read(name, max),
    async open(desc, w) {
      const m = idx.member(blobPath(desc.digest));
      if (!m) throw new ScannerError('BLOB_NOT_FOUND', `${w}: blob missing from the archive (${blobPath(desc.digest)})`);
      return verified(idx.stream(m), { digest: desc.digest, size: desc.size, what: w });
    },
    raw(desc, w) {
      const m = idx.member(blobPath(desc.digest));
      if (!m) return Promise.reject(new ScannerError('BLOB_NOT_FOUND', `${w}: blob missing from the archive (${blobPath(desc.digest)})`));
      return Promise.resolve({ file: { path: idx.path, start: m.offset, length: Math.min(m.size, desc.size + 1) } });
    },
  };
}

async function layoutSource(files: LayoutFiles, what: string, input: string, tag: string | undefined, platform: Platform): Promise<ImageSource> {
  const layout = await files.readFile('oci-layout', 64 * 1024);
  if (!layout) throw new ScannerError('LAYOUT_INVALID', `${what}: not an OCI image layout (no oci-layout file)`);
  const indexBytes = await files.readFile('index.json', MANIFEST_MAX_BYTES);
  if (!indexBytes) throw new ScannerError('LAYOUT_INVALID', `${what}: not an OCI image layout (no index.json)`);
  const index = parseManifest(indexBytes, MEDIA.ociIndex, `${what}: index.json`);
  if (index.kind !== 'index') throw new ScannerError('LAYOUT_INVALID', `${what}: index.json is not an image index`);
  let candidates = index.manifests;
  if (tag !== undefined) {
    candidates = candidates.filter((d) => d.annotations?.[REF_NAME] === tag);
    if (!candidates.length) {
      const tags = index.manifests.map((d) => d.annotations?.[REF_NAME]).filter((t): t is string => !!t);
      throw new ScannerError('IMAGE_NOT_FOUND', `${what}: no image tagged "${tag}"${tags.length ? ` (tags: ${[...new Set(tags)].slice(0, 20).join(', ')})` : ''}`);
    }
  }
  let chosen: Descriptor | undefined;
  if (candidates.length === 1) chosen = candidates[0];
  else if (candidates.length > 1 && candidates.every((d) => d.platform)) {
    chosen = selectPlatform({ ...index, manifests: candidates }, platform, what);
  } else {
    const tags = candidates.map((d) => d.annotations?.[REF_NAME]).filter((t): t is string => !!t);
    throw new ScannerError(
      candidates.length ? 'IMAGE_AMBIGUOUS' : 'IMAGE_NOT_FOUND',
      candidates.length
        ? `${what}: the layout holds ${candidates.length} images; name one as oci:DIR:TAG${tags.length ? ` (tags: ${[...new Set(tags)].slice(0, 20).join(', ')})` : ''}`
        : `${what}: the layout's index.json lists no images`,
    );
  }
  if (!chosen) throw new ScannerError('IMAGE_NOT_FOUND', `${what}: no image found`);
  const store = verifyingStore(what, files.open);
  const topBytes = await store.readBlob(chosen, MANIFEST_MAX_BYTES, `${what}: manifest ${chosen.digest}`);
  const { manifest, digest } = await resolveManifest(store, { bytes: topBytes, mediaType: chosen.mediaType, digest: chosen.digest }, platform);
  const refName = chosen.annotations?.[REF_NAME];
  return imageFromManifest(store, manifest, digest, refName ? { name: input, repoTags: [refName] } : { name: input }, (d, w) => files.raw(d, w));
}

export function ociDirSource(dir: string, tag: string | undefined, input: string, platform: Platform): Promise<ImageSource> {
  const what = input;
  return layoutSource(dirFiles(dir, what), what, input, tag, platform);
}

export function ociArchiveSource(idx: TarIndex, input: string, platform: Platform): Promise<ImageSource> {
  return layoutSource(archiveFiles(idx), input, input, undefined, platform);
}
