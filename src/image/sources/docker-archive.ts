/**
 * `docker save` archives: manifest.json → config → layer tars, all members of the outer tar (read by
 * offset through TarIndex). The config must hash to the ID its file name carries; each layer's
 * uncompressed tar must hash to the config's diff ID (checked while it streams).
 */
import type { Artifact, LayerInfo } from '../../domain/index.ts';
import { ScannerError } from '../../shared/errors.ts';
import { sha256Digest } from '../digest.ts';
import { CONFIG_MAX_BYTES, formatPlatform, layerHistory, parseImageConfig } from '../manifest.ts';
import type { TarIndex } from './tar-index.ts';
import type { ImageSource, LayerSource } from './types.ts';

interface ArchiveImage {
  config: string;
  repoTags: string[];
  layers: string[];
}

function invalid(what: string, why: string): ScannerError {
  return new ScannerError('ARCHIVE_INVALID', `${what}: not a docker-archive: ${why}`);
}

function parseArchiveManifest(bytes: Buffer, what: string): ArchiveImage[] {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid(what, 'manifest.json is not JSON');
  }
  if (!Array.isArray(doc) || doc.length === 0) throw invalid(what, 'manifest.json lists no images');
  return doc.map((e: unknown) => {
    const o = e as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.Config !== 'string' || !Array.isArray(o.Layers)) {
      throw invalid(what, 'manifest.json entry without Config/Layers');
    }
    const layers = o.Layers.map((l: unknown) => {
      if (typeof l !== 'string') throw invalid(what, 'manifest.json has a non-string layer path');
      return l;
    });
    const repoTags = Array.isArray(o.RepoTags) ? o.RepoTags.filter((t: unknown): t is string => typeof t === 'string') : [];
    return { config: o.Config, repoTags, layers };
  });
}

export async function dockerArchiveSource(idx: TarIndex, input: string): Promise<ImageSource> {
  const what = input;
  const mbytes = await idx.read('manifest.json', 4 * 1024 * 1024);
  if (!mbytes) throw invalid(what, 'no manifest.json (for an OCI archive use oci-archive:PATH)');
  const images = parseArchiveManifest(mbytes, what);
  const img = images[0];
  if (!img) throw invalid(what, 'manifest.json lists no images');
  const notes: string[] = [];
  if (images.length > 1) notes.push(`${what} holds ${images.length} images; scanned the first (${img.repoTags[0] ?? img.config})`);
  const cfgBytes = await idx.read(img.config, CONFIG_MAX_BYTES);
  if (!cfgBytes) throw invalid(what, `config ${img.config} is missing`);
  const imageId = sha256Digest(cfgBytes);
  const named = /([0-9a-f]{64})(?:\.json)?$/.exec(img.config);
  if (named && `sha256:${named[1]}` !== imageId) {
    throw new ScannerError('DIGEST_MISMATCH', `${what}: config ${img.config} does not hash to its name (got ${imageId})`);
  }
  const cfg = parseImageConfig(cfgBytes, what);
  if (cfg.diffIds.length !== img.layers.length) {
    throw invalid(what, `manifest.json lists ${img.layers.length} layers but the config has ${cfg.diffIds.length} diff IDs`);
  }
  const history = layerHistory(cfg);
  const infos: LayerInfo[] = [];
  const layers: LayerSource[] = img.layers.map((name, i) => {
    const m = idx.member(name);
    if (!m) throw invalid(what, `layer ${name} is missing from the archive`);
    const diffId = cfg.diffIds[i] ?? '';
    const info: LayerInfo = { diffId, size: m.size };
    const createdBy = history[i];
    if (createdBy !== undefined) info.createdBy = createdBy;
    infos.push(info);
    return {
      // the verified diff ID names the tar itself (not a blob that decodes to it): its own key space
      cacheKey: `tar ${diffId}`,
      id: diffId,
      what: `${what}: layer ${diffId}`,
      size: m.size,
      verifyDiffId: diffId,
      openRaw: () => Promise.resolve({ file: { path: idx.path, start: m.offset, length: m.size } }),
    };
  });
  const artifact: Artifact = {
    name: input,
    type: 'container_image',
    imageId,
    diffIds: cfg.diffIds,
    layers: infos,
    imageConfig: cfg.raw,
  };
  if (img.repoTags.length) artifact.repoTags = img.repoTags;
  if (cfg.os && cfg.architecture) {
    artifact.platform = formatPlatform(cfg.variant ? { os: cfg.os, architecture: cfg.architecture, variant: cfg.variant } : { os: cfg.os, architecture: cfg.architecture });
  }
  return { artifact, layers, notes };
}
