/**
 * OCI image / Docker schema-2 manifests, indexes and manifest lists: media types, validation of the
 * attacker-supplied JSON, and platform selection.
 */
import { ScannerError } from '../shared/errors.ts';
import { checkDigest } from './reference.ts';

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest];
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
export const CONFIG_MAX_BYTES = 16 * 1024 * 1024;

/** Layer media types we can read (compression is detected from magic bytes anyway). */
const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.zstd',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  artifactType?: string;
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

function invalid(what: string, why: string): ScannerError {
  return new ScannerError('MANIFEST_INVALID', `${what}: invalid manifest: ${why}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  const [os, architecture, variant] = parts;
  if (parts.length < 2 || parts.length > 3 || !os || !architecture || (parts.length === 3 && !variant) || !/^[a-z0-9_.-]+(\/[a-z0-9_.-]+){1,2}$/.test(s)) {
    throw new ScannerError('PLATFORM_INVALID', `invalid platform "${s}": expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v)) throw invalid(what, 'descriptor is not an object');
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string' || !mediaType) throw invalid(what, 'descriptor without mediaType');
  if (typeof digest !== 'string') throw invalid(what, 'descriptor without digest');
  try {
    checkDigest(digest);
  } catch {
    throw invalid(what, `descriptor digest "${digest.slice(0, 80)}" is not a sha256/sha512 digest`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(what, `descriptor ${digest} has no valid size`);
  const d: Descriptor = { mediaType, digest, size };
  const ann = stringMap(v['annotations']);
  if (ann) d.annotations = ann;
  if (Array.isArray(v['urls'])) d.urls = v['urls'].filter((u): u is string => typeof u === 'string');
  if (typeof v['artifactType'] === 'string') d.artifactType = v['artifactType'];
  const p = v['platform'];
  if (isObject(p) && typeof p['os'] === 'string' && typeof p['architecture'] === 'string') {
    d.platform = { os: p['os'], architecture: p['architecture'] };
    if (typeof p['variant'] === 'string' && p['variant']) d.platform.variant = p['variant'];
  }
  return d;
}

/**
 * Parses a manifest or index. `headerType` is the Content-Type the registry sent (or the descriptor's
 * media type); the document's own mediaType wins when present. Unknown types are refused.
 */
export function parseManifest(bytes: Buffer, headerType: string | undefined, what: string): ImageManifest | ImageIndex {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid(what, 'not JSON');
  }
  if (!isObject(doc)) throw invalid(what, 'not a JSON object');
  const declared = typeof doc['mediaType'] === 'string' ? doc['mediaType'] : undefined;
  let mediaType = declared ?? headerType?.split(';')[0]?.trim() ?? '';
  if (!mediaType || mediaType === 'application/json' || mediaType === 'application/octet-stream') {
    // OCI allows mediaType to be absent: infer from the shape.
    mediaType = Array.isArray(doc['manifests']) ? MEDIA.ociIndex : isObject(doc['config']) ? MEDIA.ociManifest : '';
  }
  if (mediaType === MEDIA.dockerSchema1 || mediaType === MEDIA.dockerSchema1Signed || doc['schemaVersion'] === 1) {
    throw new ScannerError('MEDIA_TYPE_UNSUPPORTED', `${what}: Docker schema 1 manifests are deprecated and not supported; push the image again with a current client`);
  }
  if (doc['schemaVersion'] !== 2) throw invalid(what, 'schemaVersion is not 2');
  if (mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList) {
    const ms = doc['manifests'];
    if (!Array.isArray(ms)) throw invalid(what, 'index without manifests');
    if (ms.length > 10000) throw invalid(what, 'index lists too many manifests');
    const idx: ImageIndex = { kind: 'index', mediaType, manifests: ms.map((m) => parseDescriptor(m, what)) };
    const ann = stringMap(doc['annotations']);
    if (ann) idx.annotations = ann;
    return idx;
  }
  if (mediaType === MEDIA.ociManifest || mediaType === MEDIA.dockerManifest) {
    const layers = doc['layers'];
    if (!Array.isArray(layers)) throw invalid(what, 'manifest without layers');
    if (layers.length > 1000) throw invalid(what, 'manifest lists more than 1000 layers');
    const m: ImageManifest = {
      kind: 'manifest',
      mediaType,
      config: parseDescriptor(doc['config'], what),
      layers: layers.map((l) => parseDescriptor(l, what)),
    };
    const ann = stringMap(doc['annotations']);
    if (ann) m.annotations = ann;
    if (typeof doc['artifactType'] === 'string') m.artifactType = doc['artifactType'];
    return m;
  }
  throw new ScannerError('MEDIA_TYPE_UNKNOWN', `${what}: unknown manifest media type "${mediaType.slice(0, 120)}"`);
}

/** Refuses layers whose media type is not an image layer (e.g. a Helm chart or an encrypted layer). */
export function checkLayerMediaType(d: Descriptor, what: string, allowed?: ReadonlySet<string>): void {
  if ((allowed ?? LAYER_TYPES).has(d.mediaType)) return;
  throw new ScannerError('MEDIA_TYPE_UNKNOWN', `${what}: layer ${d.digest} has unsupported media type "${d.mediaType.slice(0, 120)}"`);
}

/** Normalises arm variants as containerd does (arm64 ⇒ v8, arm ⇒ v7 when unspecified). */
function normVariant(p: Platform): string {
  if (p.variant) return p.variant;
  if (p.architecture === 'arm64') return 'v8';
  if (p.architecture === 'arm') return 'v7';
  return '';
}

/** Picks the manifest for `want` from an index; throws listing what is available. */
export function selectPlatform(index: ImageIndex, want: Platform, what: string): Descriptor {
  const candidates = index.manifests.filter(
    (d) => (d.mediaType === MEDIA.ociManifest || d.mediaType === MEDIA.dockerManifest || d.mediaType === MEDIA.ociIndex || d.mediaType === MEDIA.dockerList),
  );
  const sameArch = candidates.filter(
    (d) => d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture,
  );
  const match =
    sameArch.find((d) => d.platform && normVariant(d.platform) === normVariant(want)) ??
    (want.variant === undefined ? sameArch[0] : undefined);
  if (match) return match;
  // An index without platforms and one image manifest (common in OCI layouts): take it.
  const images = candidates.filter((d) => !d.platform || d.platform.os !== 'unknown');
  if (images.length === 1 && images[0] && !images[0].platform) return images[0];
  const avail = candidates
    .filter((d) => d.platform && d.platform.os !== 'unknown')
    .map((d) => (d.platform ? formatPlatform(d.platform) : '?'));
  throw new ScannerError(
    'PLATFORM_NOT_FOUND',
    `${what}: no image for platform ${formatPlatform(want)}${avail.length ? ` (available: ${[...new Set(avail)].join(', ')})` : ''}`,
  );
}

export interface ImageConfig {
  raw: unknown;
  diffIds: string[];
  os?: string;
  architecture?: string;
  variant?: string;
  history: { createdBy?: string; emptyLayer: boolean }[];
}

/** Reads the parts of an image config we use; the raw JSON is kept for reports. */
export function parseImageConfig(bytes: Buffer, what: string): ImageConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ScannerError('CONFIG_INVALID', `${what}: image config is not JSON`);
  }
  if (!isObject(doc)) throw new ScannerError('CONFIG_INVALID', `${what}: image config is not a JSON object`);
  const rootfs = doc['rootfs'];
  const diffIds: string[] = [];
  if (isObject(rootfs) && Array.isArray(rootfs['diff_ids'])) {
    for (const d of rootfs['diff_ids']) {
      if (typeof d !== 'string') throw new ScannerError('CONFIG_INVALID', `${what}: image config has a non-string diff_id`);
      try {
        checkDigest(d);
      } catch {
        throw new ScannerError('CONFIG_INVALID', `${what}: image config has an invalid diff_id "${d.slice(0, 80)}"`);
      }
      diffIds.push(d);
    }
  }
  const history: ImageConfig['history'] = [];
  if (Array.isArray(doc['history'])) {
    for (const h of doc['history']) {
      if (!isObject(h)) continue;
      const e: ImageConfig['history'][number] = { emptyLayer: h['empty_layer'] === true };
      if (typeof h['created_by'] === 'string') e.createdBy = h['created_by'];
      history.push(e);
    }
  }
  const c: ImageConfig = { raw: doc, diffIds, history };
  if (typeof doc['os'] === 'string') c.os = doc['os'];
  if (typeof doc['architecture'] === 'string') c.architecture = doc['architecture'];
  if (typeof doc['variant'] === 'string') c.variant = doc['variant'];
  return c;
}

/** created_by of each non-empty history entry, in layer order. */
export function layerHistory(cfg: ImageConfig): (string | undefined)[] {
  return cfg.history.filter((h) => !h.emptyLayer).map((h) => h.createdBy);
}
