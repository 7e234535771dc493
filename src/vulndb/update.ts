/**
 * `portcullis db update`: per ecosystem, `<base>/<Ecosystem>/all.zip` from the public OSV bucket or
 * a mirror with the same layout (http(s), file:// or a path), and optional NVD CVE JSON 2.0 feeds.
 *
 * 1. Download (3 at a time) with conditional requests against the validators stored for that source
 *    in the current DB: a 304 (or an unchanged mirror file) skips the ecosystem.
 * 2. If anything changed: build the new DB beside the live one (sqlite-writer.ts), import each
 *    download in its own transaction (a corrupt zip fails that ecosystem only; it keeps its previous
 *    data), then swap atomically. Nothing changed → the live file is not touched at all.
 *
 * Each ecosystem's outcome (updated / unchanged / failed, with ids added / modified / withdrawn /
 * removed) is returned and kept in the DB's change log.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScannerError, UserError, describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { VERSION } from '../shared/version.ts';
import { ecosystemSourceId, parseEcosystemList } from './ecosystems.ts';
import { nvdFileSeverities, sniffFile, zipRecords } from './feeds.ts';
import { download, type DownloadResult } from './fetch.ts';
import { osvCheckedPath, osvDbPath } from './paths.ts';
import { SqliteStore, type SourceChange, type SourceStatus } from './sqlite-store.ts';
import { acquireLock, cleanStaleTemps, withNewDb } from './sqlite-writer.ts';
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from './zip-reader.ts';

export const OSV_BUCKET_URL = 'https://osv-vulnerabilities.storage.googleapis.com';

export interface ProgressEvent {
  phase: string;
  done: number;
  total?: number;
  item?: string;
}

export interface UpdateOsvOptions {
  cacheDir: string;
  logger: Logger;
  /** OSV ecosystem names; empty → DEFAULT_ECOSYSTEMS. */
  ecosystems?: readonly string[];
  /** Base URL or directory laid out as `<base>/<Ecosystem>/all.zip` (default: the OSV bucket). */
  mirror?: string;
  /** NVD CVE JSON 2.0 feed URLs or paths. */
  nvd?: readonly string[];
  /** Download everything again, ignoring the stored ETag / Last-Modified. */
  force?: boolean;
  timeoutMs?: number;
  retries?: number;
  retryBaseMs?: number;
  maxDownloadBytes?: number;
  zipLimits?: Partial<ZipLimits>;
  /** Parallel downloads (default 3). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  now?: () => Date;
}

export interface FeedOutcome {
  /** 'Debian', or the NVD feed URL / path. */
  name: string;
  sourceId: string;
  url: string;
  /** 'skipped': a default ecosystem the bucket / mirror does not publish (404); not an error. */
  status: 'updated' | 'unchanged' | 'failed' | 'skipped';
  change?: SourceChange;
  bytes?: number;
  error?: string;
}

export interface UpdateOsvResult {
  dbPath: string;
  /** The live DB was replaced by the new one. */
  swapped: boolean;
  updateId?: number;
  outcomes: FeedOutcome[];
  failed: number;
}

export interface CheckedStamp {
  checkedAt?: string;
  sources: Record<string, string>;
}

/** When each source last answered a `db update` (see paths.ts); missing or unreadable → empty. */
export function readChecked(cacheDir: string): CheckedStamp {
  try {
    const v: unknown = JSON.parse(readFileSync(osvCheckedPath(cacheDir), 'utf8'));
    if (typeof v !== 'object' || v === null) return { sources: {} };
    const o = v as Record<string, unknown>;
    const sources: Record<string, string> = {};
    if (typeof o['sources'] === 'object' && o['sources'] !== null) {
      for (const [k, x] of Object.entries(o['sources'] as Record<string, unknown>)) if (typeof x === 'string') sources[k] = x;
    }
    return typeof o['checkedAt'] === 'string' ? { checkedAt: o['checkedAt'], sources } : { sources };
  } catch {
    return { sources: {} };
  }
}

function writeChecked(cacheDir: string, ids: readonly string[], at: Date): void {
  const stamp = readChecked(cacheDir);
  const iso = at.toISOString();
  stamp.checkedAt = iso;
  for (const id of ids) stamp.sources[id] = iso;
  const path = osvCheckedPath(cacheDir);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(stamp, null, 2)}\n`);
    renameSync(tmp, path);
  } catch {
    rmSync(tmp, { force: true }); // only informational: a failure here never fails the update
  }
}

/** `<base>/<Ecosystem>/all.zip` for a URL base, a file:// base or a directory. */
export function ecosystemZipUrl(base: string, ecosystem: string): string {
  if (/^https?:\/\//i.test(base)) return `${base.replace(/\/+$/, '')}/${encodeURIComponent(ecosystem)}/all.zip`;
  if (/^file:/i.test(base)) return `${base.replace(/\/+$/, '')}/${encodeURIComponent(ecosystem)}/all.zip`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(base)) throw new UserError(`unsupported mirror URL ${base} (use http://, https://, file:// or a directory)`);
  return pathToFileURL(join(resolve(base), ecosystem, 'all.zip')).href;
}

function nvdUrl(x: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(x) || x.startsWith('file:') ? x : pathToFileURL(resolve(x)).href;
}

/** Sources of the live DB, when it opens (a corrupt DB is rebuilt, so nothing is conditional then). */
function currentSources(dbPath: string, logger: Logger): Map<string, SourceStatus> {
  if (!existsSync(dbPath)) return new Map();
  try {
    const s = SqliteStore.open(dbPath, { cacheRecords: 0 });
    try {
      return new Map(s.sources().map((x) => [x.id, x]));
    } finally {
      s.close();
    }
  } catch (err) {
    logger.warn({ err: describeError(err) }, 'the current advisory DB is unusable; every feed is downloaded again');
    return new Map();
  }
}

interface Job {
  name: string;
  sourceId: string;
  kind: 'osv' | 'nvd';
  url: string;
  dest: string;
  result?: DownloadResult;
  error?: unknown;
  done: number;
  total?: number;
}

async function runPool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!);
    }
  });
  await Promise.all(workers);
}

export async function updateOsvDb(opts: UpdateOsvOptions): Promise<UpdateOsvResult> {
  const dbPath = osvDbPath(opts.cacheDir);
  const dir = dirname(dbPath);
  mkdirSync(dir, { recursive: true });
  const ecosystems = parseEcosystemList(opts.ecosystems);
  const defaults = (opts.ecosystems ?? []).every((e) => e.trim() === '');
  const base = opts.mirror ?? OSV_BUCKET_URL;
  const tag = `${process.pid}.${Date.now().toString(36)}`;
  const jobs: Job[] = [
    ...ecosystems.map((e, i): Job => ({ name: e, sourceId: ecosystemSourceId(e), kind: 'osv', url: ecosystemZipUrl(base, e), dest: join(dir, `.download.${tag}.${i}.zip`), done: 0 })),
    ...(opts.nvd ?? []).map((x, i): Job => {
      const url = nvdUrl(x);
      return { name: x, sourceId: `nvd:${url}`, kind: 'nvd', url, dest: join(dir, `.download.${tag}.nvd${i}`), done: 0 };
    }),
  ];
  // one writer at a time, from before the first download (a second update fails at once)
  const release = acquireLock(dbPath);
  let previous: Map<string, SourceStatus>;
  try {
    cleanStaleTemps(dir);
    previous = currentSources(dbPath, opts.logger);
  } catch (err) {
    release();
    throw err;
  }
  const report = (): void => {
    if (!opts.onProgress) return;
    const active = jobs.filter((j) => j.done > 0 && !j.result && !j.error);
    const done = jobs.reduce((s, j) => s + j.done, 0);
    const totals = jobs.filter((j) => j.total !== undefined);
    const e: ProgressEvent = { phase: `downloading ${jobs.filter((j) => j.result || j.error).length}/${jobs.length}`, done };
    if (totals.length === jobs.filter((j) => j.done > 0 || j.result).length && totals.length > 0) e.total = totals.reduce((s, j) => s + (j.total ?? 0), 0);
    if (active[0]) e.item = active.map((j) => j.name).join(', ');
    opts.onProgress(e);
  };
  try {
    await runPool(jobs, opts.concurrency ?? 3, async (job) => {
      const prev = previous.get(job.sourceId);
      const conditional = !opts.force && prev && prev.url === job.url;
      try {
        job.result = await download(job.url, job.dest, {
          logger: opts.logger,
          userAgent: `portcullis/${VERSION}`,
          ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
          ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
          ...(opts.retryBaseMs !== undefined ? { retryBaseMs: opts.retryBaseMs } : {}),
          ...(opts.maxDownloadBytes !== undefined ? { maxBytes: opts.maxDownloadBytes } : {}),
          ...(conditional && prev.etag ? { etag: prev.etag } : {}),
          ...(conditional && prev.lastModified ? { lastModified: prev.lastModified } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
          onProgress: (d, t) => {
            job.done = d;
            if (t !== undefined) job.total = t;
            report();
          },
        });
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        job.error = err;
      }
      report();
    });
    const outcomes: FeedOutcome[] = [];
    const changed = jobs.filter((j) => j.result?.status === 'downloaded');
    for (const j of jobs) {
      const notPublished = defaults && j.kind === 'osv' && j.error instanceof ScannerError && j.error.code === 'FEED_NOT_FOUND';
      if (notPublished) outcomes.push({ name: j.name, sourceId: j.sourceId, url: j.url, status: 'skipped', error: describeError(j.error) });
      else if (j.error) outcomes.push({ name: j.name, sourceId: j.sourceId, url: j.url, status: 'failed', error: describeError(j.error) });
      else if (j.result?.status === 'not-modified') outcomes.push({ name: j.name, sourceId: j.sourceId, url: j.url, status: 'unchanged' });
    }
    let swapped = false;
    let updateId: number | undefined;
    if (changed.length > 0) {
      const limits = { ...DEFAULT_ZIP_LIMITS, ...opts.zipLimits };
      const command = `db update ${ecosystems.join(',')}${opts.mirror ? ` --mirror ${opts.mirror}` : ''}`;
      const r = await withNewDb(dbPath, { logger: opts.logger, command, locked: true, ...(opts.now ? { now: opts.now } : {}) }, async (w) => {
        for (const o of outcomes) {
          if (o.status === 'unchanged') w.unchanged(o.sourceId);
          else if (o.status === 'failed') w.failed(o.sourceId, o.error);
        }
        for (const j of changed) {
          const res = j.result;
          if (res?.status !== 'downloaded') continue;
          const desc = {
            id: j.sourceId,
            kind: j.kind === 'osv' ? ('osv-ecosystem' as const) : ('nvd' as const),
            url: j.url,
            sha256: res.sha256,
            bytes: res.bytes,
            ...(res.etag ? { etag: res.etag } : {}),
            ...(res.lastModified ? { lastModified: res.lastModified } : {}),
          };
          const progress = (d: number, t: number | undefined): void => opts.onProgress?.({ phase: `importing ${j.name}`, done: d, ...(t !== undefined ? { total: t } : {}) });
          try {
            let change: SourceChange;
            if (j.kind === 'osv') change = await w.importSource(desc, zipRecords(res.path, limits, progress, opts.signal), opts.signal ? { signal: opts.signal } : {});
            else change = await w.importCves(desc, nvdFileSeverities(res.path, sniffFile(res.path), progress), opts.signal ? { signal: opts.signal } : {});
            outcomes.push({ name: j.name, sourceId: j.sourceId, url: j.url, status: 'updated', change, bytes: res.bytes });
          } catch (err) {
            if (opts.signal?.aborted) throw err;
            opts.logger.warn({ source: j.sourceId, err: describeError(err) }, 'feed not imported; it keeps its previous data');
            w.failed(j.sourceId, err);
            outcomes.push({ name: j.name, sourceId: j.sourceId, url: j.url, status: 'failed', error: describeError(err) });
          } finally {
            rmSync(res.path, { force: true });
          }
        }
      });
      swapped = r.swapped;
      if (swapped) updateId = r.updateId;
    }
    const heard = outcomes.filter((o) => o.status === 'updated' || o.status === 'unchanged').map((o) => o.sourceId);
    if (heard.length > 0) writeChecked(opts.cacheDir, heard, (opts.now ?? (() => new Date()))());
    const order = new Map(jobs.map((j, i) => [j.sourceId, i]));
    outcomes.sort((a, b) => (order.get(a.sourceId) ?? 0) - (order.get(b.sourceId) ?? 0));
    const result: UpdateOsvResult = { dbPath, swapped, outcomes, failed: outcomes.filter((o) => o.status === 'failed').length };
    if (updateId !== undefined) result.updateId = updateId;
    return result;
  } catch (err) {
    if (opts.signal?.aborted) throw new ScannerError('ABORTED', 'db update interrupted; the advisory DB was left as it was', { cause: err });
    throw err;
  } finally {
    for (const j of jobs) rmSync(j.dest, { force: true });
    release();
  }
}
