/**
 * analyzeTarget: any target → its artifact description and the merged, selector-filtered
 * filesystem. Layers are streamed (never unpacked to disk) a few at a time — zlib runs in libuv's
 * thread pool, so two layers use two cores — and applied strictly in order. Each layer's analysis
 * is cached by its verified digest.
 */
import type { Artifact, ReadonlyFs } from '../domain/index.ts';
import { ScannerError, describeError } from '../shared/errors.ts';
import { silentLogger, type Logger } from '../shared/log.ts';
import { LayerCache } from './cache.ts';
import { decompress } from './decompress.ts';
import { hashing, sha256Digest } from './digest.ts';
import { combineAnalyses, analyzeLayerTar, type FileSelector, type LayerAnalysis } from './layers.ts';
import { parsePlatform, type Platform } from './manifest.ts';
import { MergedTree } from './merge.ts';
import { RegistryClient, type RegistryOptions } from './registry/client.ts';
import { dockerArchiveSource } from './sources/docker-archive.ts';
import { ociArchiveSource, ociDirSource } from './sources/oci-layout.ts';
import { registrySource } from './sources/registry.ts';
import { readRootfsExtra, rootfsArtifact, walkRootfs } from './sources/rootfs.ts';
import { TarIndex } from './sources/tar-index.ts';
import type { ImageSource, LayerSource } from './sources/types.ts';
import { parseTarget, type Target } from './target.ts';

export interface ProgressEvent {
  phase: string;
  done: number;
  total?: number;
  item?: string;
}

/** Field names follow InventoryOptions (src/scan/types.ts). */
export interface AnalyzeOptions {
  cacheDir: string;
  logger?: Logger;
  /** 'linux/amd64' by default. */
  platform?: string;
  insecure?: boolean | readonly string[];
  /** docker config.json / .dockerconfigjson path. */
  registryConfig?: string;
  allowPrivateRegistries?: boolean;
  noCache?: boolean;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  /** Layers read at the same time (default 2). */
  concurrency?: number;
  /** Extra registry settings (timeouts, retries, credentials lookup). */
  registry?: Omit<RegistryOptions, 'insecure' | 'registryConfig' | 'allowPrivateRegistries' | 'signal' | 'logger'>;
}

export interface AnalyzeStats {
  layers: number;
  cacheHits: number;
  layersRead: number;
  /** Raw (possibly compressed) bytes streamed from layers. */
  bytesRead: number;
  /** True when a second pass was needed for link targets. */
  secondPass: boolean;
}

export interface AnalyzeResult {
  artifact: Artifact;
  fs: ReadonlyFs;
  notes: string[];
  stats: AnalyzeStats;
}

const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

async function* abortable(src: AsyncIterable<Buffer>, signal: AbortSignal, what: string, count: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const c of src) {
    if (signal.aborted) throw new ScannerError('CANCELLED', `${what}: cancelled`);
    count(c.length);
    yield c;
  }
}

interface Ctx {
  sel: FileSelector;
  cache: LayerCache | undefined;
  signal: AbortSignal;
  stats: AnalyzeStats;
  progress: (n: number, item: string) => void;
  log: Logger;
}

async function analyzeOne(layer: LayerSource, ctx: Ctx): Promise<LayerAnalysis> {
  const key = LayerCache.key(layer.cacheKey, ctx.sel.key);
  const hit = ctx.cache?.get(key);
  if (hit) {
    ctx.stats.cacheHits++;
    return hit;
  }
  ctx.stats.layersRead++;
  const raw = abortable(await layer.open(), ctx.signal, layer.what, (n) => {
    ctx.stats.bytesRead += n;
    ctx.progress(n, layer.what);
  });
  let diffId: string | undefined;
  let tar = decompress(raw, layer.what);
  if (layer.verifyDiffId) tar = hashing(tar, (d) => (diffId = d));
  let a: LayerAnalysis;
  try {
    a = await analyzeLayerTar(tar, ctx.sel, layer.what);
  } catch (err) {
    if (err instanceof ScannerError && err.code === 'TAR_CORRUPT') {
      throw new ScannerError('LAYER_CORRUPT', `${layer.what}: ${err.message}`, { cause: err });
    }
    throw err;
  }
  if (layer.verifyDiffId && diffId !== layer.verifyDiffId) {
    throw new ScannerError('DIGEST_MISMATCH', `${layer.what}: the layer's content hashes to ${diffId ?? '?'}, not its diff ID ${layer.verifyDiffId}`);
  }
  ctx.cache?.put(key, a);
  return a;
}

/** Analyses every layer, `concurrency` at a time; results in layer order. First failure cancels the rest. */
async function analyzeLayers(layers: LayerSource[], ctx: Ctx, concurrency: number): Promise<LayerAnalysis[]> {
  const out = new Array<LayerAnalysis>(layers.length);
  let next = 0;
  let failed: unknown;
  const ac = new AbortController();
  const inner: Ctx = { ...ctx, signal: AbortSignal.any([ctx.signal, ac.signal]) };
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < layers.length) {
      const i = next++;
      const layer = layers[i];
      if (!layer) break;
      try {
        out[i] = await analyzeOne(layer, inner);
      } catch (err) {
        if (failed === undefined) failed = err;
        ac.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, layers.length)) }, worker));
  if (failed !== undefined) throw failed;
  return out;
}

function extraSelector(sel: FileSelector, paths: Set<string>): FileSelector {
  const sorted = [...paths].sort();
  const extra: FileSelector = {
    key: `${sel.key}+links:${sha256Digest(sorted.join('\n')).slice(7, 23)}`,
    wants: (f) => paths.has(f.path),
    maxFileSize: (p) => sel.maxFileSize(p),
  };
  if (sel.condense) {
    const c = sel.condense.bind(sel);
    extra.condense = (p, content) => c(p, content);
  }
  return extra;
}

async function openSource(t: Exclude<Target, { kind: 'rootfs' }>, opts: AnalyzeOptions, platform: Platform, cache: LayerCache | undefined, client: () => RegistryClient): Promise<ImageSource> {
  switch (t.kind) {
    case 'registry':
      return registrySource(t.input, t.ref, client(), platform, cache);
    case 'oci-layout':
      return ociDirSource(t.path, t.tag, t.input, platform);
    case 'oci-archive':
      return ociArchiveSource(await TarIndex.build(t.path, t.input), t.input, platform);
    case 'docker-archive':
      return dockerArchiveSource(await TarIndex.build(t.path, t.input), t.input);
  }
}

function withTarget(err: unknown, target: string): unknown {
  if (err instanceof ScannerError) {
    if (err.message.includes(target)) return err;
    return new ScannerError(err.code, `${target}: ${err.message}`, { cause: err });
  }
  return new ScannerError('IMAGE_ANALYSIS_FAILED', `${target}: ${describeError(err)}`, { cause: err });
}

export function registryOptions(opts: AnalyzeOptions, signal?: AbortSignal): RegistryOptions {
  const r: RegistryOptions = { ...(opts.registry ?? {}) };
  if (opts.insecure !== undefined) r.insecure = opts.insecure;
  if (opts.registryConfig !== undefined) r.registryConfig = opts.registryConfig;
  if (opts.allowPrivateRegistries !== undefined) r.allowPrivateRegistries = opts.allowPrivateRegistries;
  const sig = signal ?? opts.signal;
  if (sig) r.signal = sig;
  if (opts.logger) r.logger = opts.logger;
  return r;
}

export async function analyzeTarget(target: string, selector: FileSelector, opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const log = (opts.logger ?? silentLogger).child({ component: 'image' });
  const t = parseTarget(target);
  const platform = opts.platform ? parsePlatform(opts.platform) : DEFAULT_PLATFORM;
  const stats: AnalyzeStats = { layers: 0, cacheHits: 0, layersRead: 0, bytesRead: 0, secondPass: false };
  if (t.kind === 'rootfs') {
    const notes: string[] = [];
    const a = walkRootfs(t.path, selector, t.input);
    const tree = new MergedTree();
    tree.apply(a, undefined);
    const missing = tree.missingTargets(selector);
    if (missing.size) {
      stats.secondPass = true;
      tree.apply(readRootfsExtra(t.path, selector, missing), undefined);
    }
    notes.push(...a.notes);
    return { artifact: rootfsArtifact(t.input), fs: tree.toFs(selector, notes), notes, stats };
  }
  const cache = opts.noCache ? undefined : new LayerCache(opts.cacheDir, log);
  const ac = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, ac.signal]) : ac.signal;
  let client: RegistryClient | undefined;
  const getClient = (): RegistryClient => (client ??= new RegistryClient(registryOptions(opts, signal)));
  try {
    const src = await openSource(t, opts, platform, cache, getClient);
    stats.layers = src.layers.length;
    const total = src.layers.reduce((s, l) => s + (l.size ?? 0), 0);
    let done = 0;
    const ctx: Ctx = {
      sel: selector,
      cache,
      signal,
      stats,
      log,
      progress: (n, item) => {
        done += n;
        opts.onProgress?.({ phase: 'layers', done, total, item });
      },
    };
    const concurrency = opts.concurrency ?? 2;
    let analyses = await analyzeLayers(src.layers, ctx, concurrency);
    let tree = new MergedTree();
    analyses.forEach((a, i) => tree.apply(a, src.layers[i]?.id));
    const missing = tree.missingTargets(selector);
    if (missing.size) {
      stats.secondPass = true;
      log.debug({ paths: missing.size }, 'second pass for link targets');
      const extra = await analyzeLayers(src.layers, { ...ctx, sel: extraSelector(selector, missing) }, concurrency);
      analyses = analyses.map((a, i) => combineAnalyses(a, extra[i] ?? a));
      tree = new MergedTree();
      analyses.forEach((a, i) => tree.apply(a, src.layers[i]?.id));
    }
    const notes = [...src.notes, ...analyses.flatMap((a) => a.notes)];
    const fs = tree.toFs(selector, notes);
    return { artifact: src.artifact, fs, notes, stats };
  } catch (err) {
    ac.abort();
    throw withTarget(err, t.input);
  } finally {
    client?.close();
    cache?.close();
  }
}
