/**
 * What every manifest-based source shares (registry, OCI layout dir, oci-archive): walking from the
 * top manifest or index to one image manifest for the platform, reading the verified config, and
 * describing the layers.
 */
import type { Artifact, LayerInfo } from '../../domain/index.ts';
import { ScannerError } from '../../shared/errors.ts';
import { verifyBuffer } from '../digest.ts';
import {
  CONFIG_MAX_BYTES,
  MANIFEST_MAX_BYTES,
  MEDIA,
  checkLayerMediaType,
  formatPlatform,
  layerHistory,
  parseImageConfig,
  parseManifest,
  selectPlatform,
  type Descriptor,
  type ImageManifest,
  type Platform,
} from '../manifest.ts';
import type { ImageSource, LayerSource, RawLayer } from './types.ts';

export interface BlobStore {
  /** Names the image in errors. */
  what: string;
  /** Whole blob, verified against its digest, at most `max` bytes. */
  readBlob(desc: Pick<Descriptor, 'digest' | 'size'>, max: number, what: string): Promise<Buffer>;
  /** Blob stream that throws at the end unless digest and size match. */
  openBlob(desc: Pick<Descriptor, 'digest' | 'size'>, what: string): Promise<AsyncIterable<Buffer>>;
  /**
   * A manifest an index points to, verified. In a layout it is a blob; a registry serves it from
   * /manifests/<digest>, never /blobs/. Defaults to readBlob.
   */
  readManifest?(desc: Pick<Descriptor, 'digest' | 'size' | 'mediaType'>, what: string): Promise<Buffer>;
}

export interface TopManifest {
  bytes: Buffer;
  mediaType: string | undefined;
  digest: string;
}

/** Descends through indexes (at most 3 levels) to the image manifest for `platform`. */
export async function resolveManifest(
  store: BlobStore,
  top: TopManifest,
  platform: Platform,
): Promise<{ manifest: ImageManifest; digest: string }> {
  let cur = top;
  for (let depth = 0; depth < 4; depth++) {
    const m = parseManifest(cur.bytes, cur.mediaType, store.what);
    if (m.kind === 'manifest') return { manifest: m, digest: cur.digest };
    const d = selectPlatform(m, platform, store.what);
    const w = `${store.what}: manifest ${d.digest}`;
    if (d.size > MANIFEST_MAX_BYTES) throw new ScannerError('SIZE_LIMIT', `${w}: ${d.size} bytes exceeds the ${MANIFEST_MAX_BYTES}-byte limit`);
    const bytes = store.readManifest ? await store.readManifest(d, w) : await store.readBlob(d, MANIFEST_MAX_BYTES, w);
    cur = { bytes, mediaType: d.mediaType, digest: d.digest };
  }
  throw new ScannerError('MANIFEST_INVALID', `${store.what}: indexes nested too deeply`);
}

export interface ImageNames {
  name: string;
  repoTags?: string[];
  repoDigests?: string[];
}

const CONFIG_TYPES = new Set<string>([MEDIA.ociConfig, MEDIA.dockerConfig]);

export async function imageFromManifest(
  store: BlobStore,
  manifest: ImageManifest,
  manifestDigest: string,
  names: ImageNames,
  openLayer: (d: Descriptor, what: string) => Promise<RawLayer>,
): Promise<ImageSource> {
  if (!CONFIG_TYPES.has(manifest.config.mediaType)) {
    throw new ScannerError(
      'MEDIA_TYPE_UNKNOWN',
      `${store.what}: not a container image (config media type "${manifest.config.mediaType.slice(0, 120)}")`,
    );
  }
  for (const l of manifest.layers) checkLayerMediaType(l, store.what);
  const cfgBytes = await store.readBlob(manifest.config, CONFIG_MAX_BYTES, `${store.what}: image config ${manifest.config.digest}`);
  const cfg = parseImageConfig(cfgBytes, store.what);
  if (cfg.diffIds.length && cfg.diffIds.length !== manifest.layers.length) {
    throw new ScannerError(
      'MANIFEST_INVALID',
      `${store.what}: the manifest lists ${manifest.layers.length} layers but the config has ${cfg.diffIds.length} diff IDs`,
    );
  }
  const history = layerHistory(cfg);
  const infos: LayerInfo[] = [];
  const layers: LayerSource[] = manifest.layers.map((d, i) => {
    const info: LayerInfo = { digest: d.digest, size: d.size, mediaType: d.mediaType };
    const diffId = cfg.diffIds[i];
    if (diffId) info.diffId = diffId;
    const createdBy = history[i];
    if (createdBy !== undefined) info.createdBy = createdBy;
    infos.push(info);
    const what = `${store.what}: layer ${d.digest}`;
    // Keyed by the blob digest, which is verified as the bytes stream: the analysis is a function of
    // those bytes, whatever diff ID a config claims for them. The diff ID is not hashed (the decoders
    // accept only input every conforming decoder decodes alike), unless verifyDiffIds asks for it:
    // docs/image.md, "Verification".
    const layer: LayerSource = { cacheKey: `blob ${d.digest}`, id: diffId ?? d.digest, what, size: d.size, digest: d.digest, openRaw: () => openLayer(d, what) };
    if (diffId) layer.claimedDiffId = diffId;
    return layer;
  });
  const artifact: Artifact = {
    name: names.name,
    type: 'container_image',
    digest: manifestDigest,
    imageId: manifest.config.digest,
    diffIds: cfg.diffIds,
    layers: infos,
    imageConfig: cfg.raw,
  };
  if (names.repoTags) artifact.repoTags = names.repoTags;
  if (names.repoDigests) artifact.repoDigests = names.repoDigests;
  if (cfg.os && cfg.architecture) {
    artifact.platform = formatPlatform(cfg.variant ? { os: cfg.os, architecture: cfg.architecture, variant: cfg.variant } : { os: cfg.os, architecture: cfg.architecture });
  }
  return { artifact, layers, notes: [] };
}

/** A BlobStore over any "read the bytes of digest X" function, verifying everything. */
export function verifyingStore(
  what: string,
  open: (desc: Pick<Descriptor, 'digest' | 'size'>, what: string) => Promise<AsyncIterable<Buffer>>,
): BlobStore {
  return {
    what,
    openBlob: open,
    async readBlob(desc, max, w) {
      if (desc.size > max) throw new ScannerError('SIZE_LIMIT', `${w}: ${desc.size} bytes exceeds the ${max}-byte limit`);
      const parts: Buffer[] = [];
      for await (const c of await open(desc, w)) parts.push(c);
      const buf = Buffer.concat(parts);
      verifyBuffer(buf, desc.digest, w);
      return buf;
    },
  };
}
