/**
 * analyzeTarget: any target → its artifact description and the merged, selector-filtered
 * filesystem. Layers are streamed (never unpacked to disk) a few at a time — zlib runs in libuv's
 * thread pool, so two layers use two cores — and applied strictly in order. Each layer's analysis
 * is cached by its verified digest.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { MemoryFs, type Artifact, type ReadonlyFs } from '../domain/index.ts';
import { ScannerError, describeError } from '../shared/errors.ts';
import { silentLogger, type Logger } from '../shared/log.ts';
import { LAYER_ANALYZER_VERSION, LayerCache } from './cache.ts';
import { decompress } from './decompress.ts';
import { DecodePool, type DecodeJob } from './decode-pool.ts';
import { hashing, sha256Digest, verified, type StreamCheck } from './digest.ts';
import { combineAnalyses, analyzeLayerTar, completeReread, wholeSelector, type FileSelector, type LayerAnalysis } from './layers.ts';
import { parsePlatform, type Platform } from './manifest.ts';
import { MergedTree } from './merge.ts';
// The registry client (node:http, whose ESM facade alone costs ~15 ms) loads only for registry targets.
import type { RegistryClient, RegistryOptions } from './registry/client.ts';
import { dockerArchiveSource } from './sources/docker-archive.ts';
import { ociArchiveSource, ociDirSource } from './sources/oci-layout.ts';
import { readRootfsExtra, rootfsArtifact, walkRootfs } from './sources/rootfs.ts';
import { TarIndex } from './sources/tar-index.ts';
import type { ImageSource, LayerSource, RawLayer } from './sources/types.ts';
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
  /**
   * Decode layers in a worker thread: 'auto' (default) = when the layers to read are big enough to be
   * worth a thread (24 MiB), true = always, false = never (everything on the main thread). The worker
   * takes the blob hash, decompression and the diff-ID hash off the main thread and decompresses into
   * recycled buffers: less CPU and less memory than the main-thread path (docs/image.md).
   */
  workers?: boolean | 'auto';
  /**
   * Also hash every layer's decompressed tar against the config's diff ID when the blob digest is
   * verified (registry, OCI layouts): costs a SHA-256 pass over the uncompressed image (~0.5 s on a
   * 787 MB image) and proves our decompressor agrees with the runtime's. Default false: see
   * docs/image.md, "Verification". docker-archive layers are always checked (nothing else is).
   */
  verifyDiffIds?: boolean;
  /**
   * Called once the image is known (manifest and config read and verified, no layer read yet) with
   * `imageKey`, which names everything the merged filesystem depends on: the config digest, each
   * layer's cache key and id, the selector's key, verifyDiffIds and this module's version. Returning
   * true skips the layers: the result then has the artifact, an empty fs and `skipped: true` (the
   * caller has what it would make of them, e.g. a cached inventory). Not called for rootfs.
   */
  skipLayersIf?: (imageKey: string) => boolean;
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
  /** Layers read a second time for files a streaming condenser needed whole (pre-1.18 Go binaries). */
  layersReread?: number;
}

export interface AnalyzeResult {
  artifact: Artifact;
  fs: ReadonlyFs;
  notes: string[];
  stats: AnalyzeStats;
  /** Images (not rootfs): see AnalyzeOptions.skipLayersIf. */
  imageKey?: string;
  /** True when skipLayersIf said so: `fs` is empty, no layer was read. */
  skipped?: boolean;
}

/** AnalyzeOptions.skipLayersIf's key: what the merged filesystem of this image depends on. */
function imageKeyOf(src: ImageSource, selector: FileSelector, verifyDiffIds: boolean): string {
  const layers = src.layers.map((l) => [l.cacheKey, l.id, l.verifyDiffId ?? '', l.claimedDiffId ?? '']);
  const key = JSON.stringify([LAYER_ANALYZER_VERSION, selector.key, verifyDiffIds, src.artifact.imageId ?? '', src.artifact.diffIds ?? [], layers]);
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
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
  /** Decoder workers, when the layers to read are big enough to be worth them. */
  pool: DecodePool | undefined;
  /** Send every layer to the pool, small ones too. */
  poolAll?: boolean;
  /** Hash claimed diff IDs too (AnalyzeOptions.verifyDiffIds). */
  verifyDiffIds?: boolean;
}

function diffIdToCheck(layer: LayerSource, ctx: Ctx): string | undefined {
  return layer.verifyDiffId ?? (ctx.verifyDiffIds ? layer.claimedDiffId : undefined);
}

/** Layers smaller than this are decoded on the main thread (a worker would cost more than it saves). */
const POOL_MIN_LAYER = 4 << 20;
/** Start decoder workers only when at least this many raw bytes must be read. */
const POOL_MIN_TOTAL = 24 << 20;

async function* copies(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const c of src) yield Buffer.from(c);
}

function rawStream(raw: RawLayer): AsyncIterable<Buffer> {
  // zlib streams hold on to their input: a transient view must be copied first
  if ('stream' in raw) return raw.transient ? copies(raw.stream) : raw.stream;
  const { path, start, length } = raw.file;
  if (length === 0) return (async function* () {})();
  return createReadStream(path, { start, end: start + length - 1, highWaterMark: 1 << 20 });
}

/** The decompressed tar of one layer, verified as it streams (blob digest, size, diff ID). */
async function layerTar(layer: LayerSource, ctx: Ctx): Promise<AsyncIterable<Buffer>> {
  const raw = await layer.openRaw();
  let last = 0;
  const onRaw = (n: number): void => {
    if (n > last) {
      ctx.stats.bytesRead += n - last;
      ctx.progress(n - last, layer.what);
      last = n;
    }
  };
  if (ctx.pool && (ctx.poolAll || (layer.size ?? POOL_MIN_LAYER) >= POOL_MIN_LAYER)) {
    const job: DecodeJob = { what: layer.what, onRaw };
    if (layer.digest) job.digest = layer.digest;
    if (layer.size !== undefined) job.size = layer.size;
    const diffId = diffIdToCheck(layer, ctx);
    if (diffId) job.diffId = diffId;
    if ('file' in raw) job.file = raw.file;
    else job.source = raw.stream;
    return ctx.pool.decode(job, ctx.signal);
  }
  let n = 0;
  let bytes = abortable(rawStream(raw), ctx.signal, layer.what, (k) => onRaw((n += k)));
  if (layer.digest || layer.size !== undefined) {
    const check: StreamCheck = { what: layer.what };
    if (layer.digest) check.digest = layer.digest;
    if (layer.size !== undefined) check.size = layer.size;
    bytes = verified(bytes, check);
  }
  let tar = decompress(bytes, layer.what);
  const diffId = diffIdToCheck(layer, ctx);
  if (diffId) {
    tar = hashing(tar, (d) => {
      if (d !== diffId) throw new ScannerError('DIGEST_MISMATCH', `${layer.what}: the layer's content hashes to ${d}, not its diff ID ${diffId}`);
    });
  }
  return tar;
}

async function readLayer(layer: LayerSource, ctx: Ctx, sel: FileSelector): Promise<LayerAnalysis> {
  try {
    return await analyzeLayerTar(await layerTar(layer, ctx), sel, layer.what);
  } catch (err) {
    if (err instanceof ScannerError && err.code === 'TAR_CORRUPT') {
      throw new ScannerError('LAYER_CORRUPT', `${layer.what}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

async function analyzeOne(layer: LayerSource, ctx: Ctx, key: string): Promise<LayerAnalysis> {
  ctx.stats.layersRead++;
  let a = await readLayer(layer, ctx, ctx.sel);
  if (a.reread?.length) {
    // a streaming condenser could not finish in one pass (a pre-1.18 Go binary): read those files whole
    ctx.log.debug({ layer: layer.what, paths: a.reread.slice(0, 5), count: a.reread.length }, 'reading the layer again for files needed whole');
    ctx.stats.layersReread = (ctx.stats.layersReread ?? 0) + 1;
    a = completeReread(a, await readLayer(layer, ctx, wholeSelector(ctx.sel, new Set(a.reread))));
  }
  ctx.cache?.put(key, a);
  return a;
}

/**
 * Analyses every layer: cache hits first, then the rest `concurrency` at a time, largest first (so
 * the big layer does not start last); results in layer order. First failure cancels the rest.
 */
async function analyzeLayers(layers: LayerSource[], ctx: Ctx, concurrency: number, workers: boolean | 'auto' | undefined): Promise<LayerAnalysis[]> {
  const out = new Array<LayerAnalysis>(layers.length);
  const todo: { i: number; key: string; size: number }[] = [];
  layers.forEach((layer, i) => {
    // a verifying scan trusts only entries that were verified against the same diff ID
    const claimed = ctx.verifyDiffIds && !layer.verifyDiffId ? layer.claimedDiffId : undefined;
    const key = LayerCache.key(claimed ? `${layer.cacheKey} tar ${claimed}` : layer.cacheKey, ctx.sel.key);
    const hit = ctx.cache?.get(key);
    if (hit) {
      ctx.stats.cacheHits++;
      out[i] = hit;
    } else todo.push({ i, key, size: layer.size ?? 0 });
  });
  if (!todo.length) return out;
  todo.sort((a, b) => b.size - a.size);
  const big = todo.filter((t) => t.size >= POOL_MIN_LAYER).length;
  const total = todo.reduce((s, t) => s + t.size, 0);
  const auto = (workers === 'auto' || workers === undefined) && big > 0 && total >= POOL_MIN_TOTAL;
  const pool = workers === true || auto ? new DecodePool(Math.min(concurrency, workers === true ? todo.length : big)) : undefined;
  let next = 0;
  let failed: unknown;
  const ac = new AbortController();
  const inner: Ctx = { ...ctx, pool, poolAll: workers === true, signal: AbortSignal.any([ctx.signal, ac.signal]) };
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < todo.length) {
      const t = todo[next++];
      const layer = t ? layers[t.i] : undefined;
      if (!t || !layer) break;
      try {
        out[t.i] = await analyzeOne(layer, inner, t.key);
      } catch (err) {
        if (failed === undefined) failed = err;
        ac.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, todo.length)) }, worker));
  } finally {
    await pool?.close();
  }
  if (failed !== undefined) throw failed;
  return out;
}

/**
 * The second pass's selector: exactly the missing link targets, each sized and condensed as the
 * (first) link path it is wanted under — a file is judged by the name it is read by.
 */
function extraSelector(sel: FileSelector, targets: Map<string, string[]>): FileSelector {
  const sorted = [...targets.keys()].sort();
  const via = (p: string): string => targets.get(p)?.[0] ?? p;
  const extra: FileSelector = {
    key: `${sel.key}+links:${sha256Digest(sorted.join('\n')).slice(7, 23)}`,
    wants: (f) => targets.has(f.path),
    maxFileSize: (p) => Math.max(...(targets.get(p) ?? [p]).map((l) => sel.maxFileSize(l))),
  };
  if (sel.condense) {
    const c = sel.condense.bind(sel);
    extra.condense = (p, content) => c(via(p), content);
  }
  if (sel.condenseStream) {
    const c = sel.condenseStream.bind(sel);
    extra.condenseStream = (p, header) => c(via(p), { ...header, path: via(p) });
  }
  return extra;
}

async function openSource(t: Exclude<Target, { kind: 'rootfs' }>, opts: AnalyzeOptions, platform: Platform, cache: LayerCache | undefined, client: () => Promise<RegistryClient>): Promise<ImageSource> {
  switch (t.kind) {
    case 'registry': {
      const { registrySource } = await import('./sources/registry.ts');
      return registrySource(t.input, t.ref, await client(), platform, cache);
    }
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
      tree.apply(readRootfsExtra(t.path, extraSelector(selector, missing), missing.keys()), undefined);
    }
    notes.push(...a.notes);
    return { artifact: rootfsArtifact(t.input), fs: tree.toFs(selector, notes), notes, stats };
  }
  const cache = opts.noCache ? undefined : new LayerCache(opts.cacheDir, log);
  const ac = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, ac.signal]) : ac.signal;
  let client: RegistryClient | undefined;
  const getClient = async (): Promise<RegistryClient> => {
    const { RegistryClient: Client } = await import('./registry/client.ts');
    return (client ??= new Client(registryOptions(opts, signal)));
  };
  try {
    const src = await openSource(t, opts, platform, cache, getClient);
    stats.layers = src.layers.length;
    const imageKey = imageKeyOf(src, selector, opts.verifyDiffIds ?? false);
    if (opts.skipLayersIf?.(imageKey)) return { artifact: src.artifact, fs: new MemoryFs(), notes: [...src.notes], stats, imageKey, skipped: true };
    const total = src.layers.reduce((s, l) => s + (l.size ?? 0), 0);
    let done = 0;
    const ctx: Ctx = {
      pool: undefined,
      verifyDiffIds: opts.verifyDiffIds ?? false,
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
    let analyses = await analyzeLayers(src.layers, ctx, concurrency, opts.workers);
    let tree = new MergedTree();
    analyses.forEach((a, i) => tree.apply(a, src.layers[i]?.id));
    const missing = tree.missingTargets(selector);
    if (missing.size) {
      stats.secondPass = true;
      log.debug({ paths: missing.size, sample: [...missing].slice(0, 5) }, 'second pass for link targets');
      const extra = await analyzeLayers(src.layers, { ...ctx, sel: extraSelector(selector, missing) }, concurrency, opts.workers);
      analyses = analyses.map((a, i) => combineAnalyses(a, extra[i] ?? a));
      tree = new MergedTree();
      analyses.forEach((a, i) => tree.apply(a, src.layers[i]?.id));
    }
    const notes = [...src.notes, ...analyses.flatMap((a) => a.notes)];
    const fs = tree.toFs(selector, notes);
    return { artifact: src.artifact, fs, notes, stats, imageKey };
  } catch (err) {
    ac.abort();
    throw withTarget(err, t.input);
  } finally {
    client?.close();
    cache?.close();
  }
}
