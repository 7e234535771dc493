/**
 * Scanning at admission: the `ImageLookup` the admission functions call for each image.
 *
 *   image as written ──parse──► tag → digest (resolveDigest, SSRF-guarded; cached `resolveTtl`, single flight)
 *        ──► result cache by digest + backend identity (memory LRU, then SQLite)      hit → scanned, fromCache
 *        ──► single flight per key ──► bounded worker pool (queue full → QUEUE_FULL) ──► backend.scan(pinned)
 *
 * Every step races the request's deadline: what has not finished by then is answered `pending` and
 * keeps running, so the API server's retry is answered from the cache. Results are kept `allowTtl` or
 * `denyTtl` depending on the last decision for the digest (noteVerdicts), failures `errorTtl`.
 * Clients get curated reasons with stable codes; the full error is logged.
 */
import type { Finding, OsInfo } from '../domain/index.ts';
import type { ImageCheck, ImageLookup, LookupContext } from '../admission/types.ts';
import type { ScanBackend } from '../backends/index.ts';
import { formatReference, parseReference, resolveDigest, type ImageRef, type RegistryOptions } from '../image/index.ts';
import type { CounterSeries, Metrics } from '../metrics/index.ts';
import { ScannerError, describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { ResultStore } from '../store/results-store.ts';
import { WorkerPool } from './pool.ts';
import { TtlCache } from './ttl-cache.ts';

export interface ScanServiceOptions {
  backend: ScanBackend;
  metrics: Metrics;
  logger: Logger;
  registry: {
    allowPrivateRegistries: boolean;
    insecureRegistries: readonly string[];
    registryConfig?: string;
  };
  cache: { allowTtl: number; denyTtl: number; errorTtl: number; resolveTtl: number; maxEntries: number };
  workers: number;
  queueSize: number;
  /** A scan running longer is aborted (ms). */
  scanTimeout: number;
  /** A tag → digest resolution taking longer is abandoned (ms). Default 30 s. */
  resolveTimeout?: number;
  store?: ResultStore;
  /** Injected for tests (a registry double is never used: tests run a real registry). */
  now?: () => number;
}

/** What the cache holds per key. */
export type CachedResult =
  | { ok: true; digest: string; findings: Finding[]; os?: OsInfo; packages?: number; scannedAt: number }
  | { ok: false; digest: string; code: string; reason: string };

interface Resolved {
  ref: ImageRef;
  digest: string;
}

/** Parsed image strings and digest keys kept (each map is cleared when full). */
const REFS_MAX = 4096;
const RESULT_HIT = { cache: 'result', result: 'hit' } as const;
const RESOLVE_HIT = { cache: 'resolve', result: 'hit' } as const;
const INVALID_IMAGE = { kind: 'invalid_image' } as const;

/** Time kept free before the request's deadline so the pending answer wins the race. */
const DEADLINE_SLACK_MS = 20;

type Raced<T> = { done: true; ok: true; value: T } | { done: true; ok: false; err: unknown } | { done: false };

/** Wait for `p` until `deadline`; never rejects (the caller keeps `p` running when it lost). */
function raceDeadline<T>(p: Promise<T>, deadline: number, now: () => number): Promise<Raced<T>> {
  const ms = deadline - now();
  const settled = p.then(
    (value): Raced<T> => ({ done: true, ok: true, value }),
    (err: unknown): Raced<T> => ({ done: true, ok: false, err }),
  );
  if (ms <= 0) return Promise.race([settled, Promise.resolve<Raced<T>>({ done: false })]);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Raced<T>>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
  });
  return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
}

/** Curated, client-safe text per error code (the full message is logged, never sent). */
export function clientReason(code: string): string {
  switch (code) {
    case 'REGISTRY_ADDRESS_BLOCKED':
      return 'registry address not allowed (loopback, private or link-local; see allowPrivateRegistries)';
    case 'REGISTRY_NOT_FOUND':
      return 'image not found in the registry';
    case 'REGISTRY_UNAUTHORIZED':
    case 'REGISTRY_FORBIDDEN':
      return 'the registry refused access (check the registry credentials)';
    case 'REGISTRY_RATE_LIMITED':
      return 'the registry is rate limiting requests';
    case 'REGISTRY_UNREACHABLE':
    case 'REGISTRY_TIMEOUT':
    case 'REGISTRY_SERVER_ERROR':
      return 'the registry could not be reached';
    case 'REGISTRY_INSECURE':
      return 'the registry needs plain HTTP and is not listed in insecureRegistries';
    case 'DB_MISSING':
      return 'the advisory database is not loaded';
    case 'QUEUE_FULL':
      return 'the scan queue is full; retry later';
    case 'SCAN_TIMEOUT':
      return 'the scan took too long and was stopped';
    case 'SCAN_ABORTED':
      return 'the scan was stopped (server shutting down)';
    case 'SCANNER_MISSING':
    case 'SCANNER_FAILED':
    case 'SCANNER_CRASHED':
    case 'SCANNER_OUTPUT_INVALID':
    case 'SCANNER_OUTPUT_TOO_LARGE':
      return 'the scanner failed';
    case 'INVALID_IMAGE':
      return 'invalid image reference';
    default:
      if (code.startsWith('REGISTRY_')) return 'registry error';
      if (code.startsWith('MANIFEST') || code.startsWith('IMAGE_') || code.startsWith('LAYER')) return 'the image could not be read';
      return 'the scan failed';
  }
}

/** Metric `kind` for an error code (bounded). */
export function errorKind(code: string): string {
  if (code === 'REGISTRY_ADDRESS_BLOCKED') return 'registry_blocked';
  if (code === 'REGISTRY_TIMEOUT' || code === 'SCAN_TIMEOUT') return 'timeout';
  if (code.startsWith('REGISTRY_')) return 'registry';
  if (code === 'QUEUE_FULL') return 'queue_full';
  if (code === 'DB_MISSING') return 'db_missing';
  if (code.startsWith('SCANNER_')) return 'scanner';
  if (code === 'SCAN_ABORTED') return 'aborted';
  if (code === 'INVALID_IMAGE') return 'invalid_image';
  return 'scan';
}

function codeOf(err: unknown): string {
  if (err instanceof ScannerError) {
    if (err.code === 'REGISTRY_UNREACHABLE' && /time(d)? ?out/i.test(err.message)) return 'REGISTRY_TIMEOUT';
    return /^[A-Z][A-Z0-9_]{1,47}$/.test(err.code) ? err.code : 'SCAN_FAILED';
  }
  return 'INTERNAL';
}

export class ScanService {
  readonly #o: ScanServiceOptions;
  readonly #log: Logger;
  readonly #m: Metrics;
  readonly #resultHit: CounterSeries;
  readonly #resolveHit: CounterSeries;
  readonly #now: () => number;
  readonly #results: TtlCache<CachedResult>;
  readonly #resolved: TtlCache<string>;
  readonly #resolving = new Map<string, Promise<Resolved>>();
  readonly #scanning = new Map<string, Promise<CachedResult>>();
  readonly #pool: WorkerPool;
  readonly #aborts = new Set<AbortController>();
  #closed = false;

  constructor(opts: ScanServiceOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'scan-service' });
    this.#m = opts.metrics;
    this.#resultHit = opts.metrics.series(opts.metrics.cacheLookups, RESULT_HIT);
    this.#resolveHit = opts.metrics.series(opts.metrics.cacheLookups, RESOLVE_HIT);
    this.#now = opts.now ?? Date.now;
    this.#results = new TtlCache(opts.cache.maxEntries, this.#now);
    this.#resolved = new TtlCache(opts.cache.maxEntries, this.#now);
    this.#pool = new WorkerPool(opts.workers, opts.queueSize, {
      queued: (n) => this.#m.queueDepth.set(n),
      running: (n) => this.#m.inFlightScans.set(n),
    });
  }

  /**
   * The port handed to the admission functions. Never rejects. `lookup.cached` answers synchronously
   * when the digest is known (pinned, or the tag resolved recently) and its result is cached: the
   * common case at admission, decided without a promise or a timer.
   */
  readonly lookup: ImageLookup = Object.assign(
    async (image: string, ctx: LookupContext): Promise<ImageCheck> => {
      try {
        return await this.#lookup(image, ctx);
      } catch (err) {
        return this.#lookupFailed(image, err);
      }
    },
    {
      cached: (image: string): ImageCheck | undefined => {
        try {
          return this.#known(image);
        } catch (err) {
          return this.#lookupFailed(image, err);
        }
      },
    },
  );

  #lookupFailed(image: string, err: unknown): ImageCheck {
    this.#log.error({ err: describeError(err), image }, 'lookup failed');
    this.#m.errors.inc({ kind: 'internal' });
    return { state: 'error', image, code: 'INTERNAL', reason: 'internal error' };
  }

  /** Image strings as written → parsed reference and canonical name (bounded; a hot image is parsed once). */
  readonly #refs = new Map<string, { ref: ImageRef; name: string }>();

  /** The parsed reference of an image string (throws as parseReference does). */
  #parsed(image: string): { ref: ImageRef; name: string } {
    const hit = this.#refs.get(image);
    if (hit) return hit;
    const ref = parseReference(image);
    const p = { ref, name: formatReference(ref) };
    if (this.#refs.size >= REFS_MAX) this.#refs.clear();
    this.#refs.set(image, p);
    return p;
  }

  /** What `lookup` answers without waiting, or undefined (then nothing has been counted). */
  #known(image: string): ImageCheck | undefined {
    let p: { ref: ImageRef; name: string };
    try {
      p = this.#parsed(image);
    } catch {
      this.#m.errors.inc(INVALID_IMAGE);
      return { state: 'error', image, code: 'INVALID_IMAGE', reason: clientReason('INVALID_IMAGE') };
    }
    const pinned = p.ref.digest;
    const digest = pinned ?? this.#resolved.get(p.name);
    if (digest === undefined) return undefined;
    const hit = this.#cached(this.#key(digest));
    if (!hit) return undefined;
    if (pinned === undefined) this.#resolveHit.inc();
    return this.#toCheck(image, hit, true);
  }

  async #lookup(image: string, ctx: LookupContext): Promise<ImageCheck> {
    const deadline = ctx.deadline - DEADLINE_SLACK_MS;
    let ref: ImageRef;
    try {
      ref = this.#parsed(image).ref;
    } catch {
      this.#m.errors.inc(INVALID_IMAGE);
      return { state: 'error', image, code: 'INVALID_IMAGE', reason: clientReason('INVALID_IMAGE') };
    }
    // Fast path (the common case at admission): digest known, result cached: no timers, no races.
    const known = ref.digest ?? this.#resolvedDigest(ref);
    if (known) {
      const hit = this.#cached(this.#key(known));
      if (hit) return this.#toCheck(image, hit, true);
    }
    const resolving = known ? Promise.resolve({ ref, digest: known }) : this.#resolve(ref);
    const r = await raceDeadline(resolving, deadline, this.#now);
    if (!r.done) {
      // Keep going in the background so the API server's retry finds the result.
      resolving.then((res) => this.#scanShared(res)).catch(() => undefined);
      this.#m.pendingAnswers.inc({ reason: 'resolve' });
      return { state: 'pending', image, reason: 'resolving the image digest took longer than the deadline; retry' };
    }
    if (!r.ok) return this.#errorCheck(image, undefined, r.err, 'resolve');
    const { digest } = r.value;
    const key = this.#key(digest);
    const cached = this.#cached(key);
    if (cached) return this.#toCheck(image, cached, true);
    let scanning: Promise<CachedResult>;
    try {
      scanning = this.#scanShared(r.value);
    } catch (err) {
      return this.#errorCheck(image, digest, err, 'scan');
    }
    const s = await raceDeadline(scanning, deadline, this.#now);
    if (!s.done) {
      this.#m.pendingAnswers.inc({ reason: 'scan' });
      return { state: 'pending', image, digest, reason: 'scan in progress; retry' };
    }
    if (!s.ok) return this.#errorCheck(image, digest, s.err, 'scan');
    return this.#toCheck(image, s.value, false);
  }

  /** digest → cache key for the current backend identity (made once per digest, not per request). */
  #keys = new Map<string, string>();
  #keysIdentity = '';

  #key(digest: string): string {
    const identity = this.#o.backend.cacheIdentity();
    if (identity !== this.#keysIdentity) {
      this.#keys = new Map();
      this.#keysIdentity = identity;
    }
    let key = this.#keys.get(digest);
    if (key === undefined) {
      key = `${digest}|${identity}`;
      if (this.#keys.size >= REFS_MAX) this.#keys.clear();
      this.#keys.set(digest, key);
    }
    return key;
  }

  #toCheck(image: string, c: CachedResult, fromCache: boolean): ImageCheck {
    if (c.ok) return { state: 'scanned', image, digest: c.digest, findings: c.findings, fromCache };
    return { state: 'error', image, digest: c.digest, code: c.code, reason: c.reason };
  }

  #errorCheck(image: string, digest: string | undefined, err: unknown, phase: 'resolve' | 'scan'): ImageCheck {
    const code = codeOf(err);
    if (code === 'INTERNAL') {
      this.#log.error({ err: describeError(err), image, phase }, 'unexpected failure');
      this.#m.errors.inc({ kind: 'internal' });
    }
    const c: ImageCheck = { state: 'error', image, code, reason: clientReason(code) };
    if (digest) c.digest = digest;
    return c;
  }

  /** Memory first, then the persistent store (which refills memory). */
  #cached(key: string): CachedResult | undefined {
    const mem = this.#results.get(key);
    if (mem) {
      this.#resultHit.inc();
      return mem;
    }
    const stored = this.#o.store?.get(key, this.#now());
    if (stored) {
      const c: CachedResult = { ok: true, digest: stored.digest, findings: stored.findings, scannedAt: stored.scannedAt };
      if (stored.os) c.os = stored.os;
      if (stored.packages !== undefined) c.packages = stored.packages;
      this.#results.set(key, c, this.#initialTtl());
      this.#m.cacheLookups.inc({ cache: 'result', result: 'hit' });
      return c;
    }
    return undefined;
  }

  #initialTtl(): number {
    return Math.min(this.#o.cache.allowTtl, this.#o.cache.denyTtl);
  }

  /** The cached digest of a tag, if fresh (counted as a resolve-cache hit). */
  #resolvedDigest(ref: ImageRef): string | undefined {
    const d = this.#resolved.get(formatReference(ref));
    if (d) this.#resolveHit.inc();
    return d;
  }

  /** Tag → digest, cached briefly and shared by concurrent requests. */
  #resolve(ref: ImageRef): Promise<Resolved> {
    if (ref.digest) return Promise.resolve({ ref, digest: ref.digest });
    const name = formatReference(ref);
    const hit = this.#resolved.get(name);
    if (hit) {
      this.#m.cacheLookups.inc({ cache: 'resolve', result: 'hit' });
      return Promise.resolve({ ref, digest: hit });
    }
    const flying = this.#resolving.get(name);
    if (flying) {
      this.#m.cacheLookups.inc({ cache: 'resolve', result: 'shared' });
      return flying;
    }
    this.#m.cacheLookups.inc({ cache: 'resolve', result: 'miss' });
    const p = this.#doResolve(ref, name).finally(() => this.#resolving.delete(name));
    this.#resolving.set(name, p);
    return p;
  }

  async #doResolve(ref: ImageRef, name: string): Promise<Resolved> {
    const ac = new AbortController();
    this.#aborts.add(ac);
    const timeout = this.#o.resolveTimeout ?? 30_000;
    const timer = setTimeout(() => ac.abort(new ScannerError('REGISTRY_TIMEOUT', `resolving ${name} took more than ${timeout} ms`)), timeout);
    const opts: RegistryOptions = {
      allowPrivateRegistries: this.#o.registry.allowPrivateRegistries,
      insecure: this.#o.registry.insecureRegistries,
      signal: ac.signal,
      connectTimeoutMs: Math.min(10_000, timeout),
      readTimeoutMs: timeout,
      retry: { attempts: 2, baseDelayMs: 200, maxDelayMs: 2000 },
      logger: this.#log,
    };
    if (this.#o.registry.registryConfig) opts.registryConfig = this.#o.registry.registryConfig;
    try {
      const r = await resolveDigest(name, opts);
      this.#resolved.set(name, r.digest, this.#o.cache.resolveTtl);
      return { ref, digest: r.digest };
    } catch (err) {
      const code = ac.signal.aborted && !(err instanceof ScannerError && err.code === 'REGISTRY_NOT_FOUND') ? 'REGISTRY_TIMEOUT' : codeOf(err);
      this.#m.errors.inc({ kind: errorKind(code) });
      this.#log.warn({ image: name, code, err: describeError(err) }, 'digest resolution failed');
      throw code === codeOf(err) ? err : new ScannerError(code, `resolving ${name} timed out`, { cause: err });
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(ac);
    }
  }

  /** The scan for a digest: the cached result, the scan already in flight, or a new one in the pool. */
  #scanShared(res: Resolved): Promise<CachedResult> {
    const key = this.#key(res.digest);
    const cached = this.#results.get(key);
    if (cached) return Promise.resolve(cached);
    const flying = this.#scanning.get(key);
    if (flying) {
      this.#m.cacheLookups.inc({ cache: 'result', result: 'shared' });
      return flying;
    }
    if (this.#closed) throw new ScannerError('SCAN_ABORTED', 'server shutting down');
    this.#m.cacheLookups.inc({ cache: 'result', result: 'miss' });
    const pinned = formatReference({ registry: res.ref.registry, repository: res.ref.repository, digest: res.digest });
    const p = this.#pool
      .run(() => this.#runScan(pinned, res.digest, key))
      .catch((err: unknown): never => {
        const code = codeOf(err);
        if (code === 'QUEUE_FULL') this.#m.errors.inc({ kind: 'queue_full' });
        throw err;
      })
      .finally(() => this.#scanning.delete(key));
    this.#scanning.set(key, p);
    // Nobody may be waiting any more (the request got `pending`): the rejection is handled here.
    p.catch(() => undefined);
    return p;
  }

  async #runScan(pinned: string, digest: string, key: string): Promise<CachedResult> {
    const backend = this.#o.backend;
    const ac = new AbortController();
    this.#aborts.add(ac);
    const timer = setTimeout(() => ac.abort(new ScannerError('SCAN_TIMEOUT', 'scan timeout')), this.#o.scanTimeout);
    const t0 = performance.now();
    try {
      const r = await backend.scan(pinned, { signal: ac.signal });
      const secs = (performance.now() - t0) / 1000;
      this.#m.scans.inc({ backend: backend.name, outcome: 'ok' });
      this.#m.scanDuration.observe({ backend: backend.name, outcome: 'ok' }, secs);
      const c: CachedResult = { ok: true, digest, findings: r.findings, scannedAt: Date.now() };
      if (r.os) c.os = r.os;
      if (r.inventory) c.packages = r.inventory.packages.length;
      this.#results.set(key, c, this.#initialTtl());
      if (this.#o.store) {
        const expires = this.#now() + this.#initialTtl();
        this.#o.store.put(key, { digest, identity: backend.cacheIdentity(), scannedAt: c.scannedAt, findings: c.findings, ...(c.os ? { os: c.os } : {}), ...(c.packages !== undefined ? { packages: c.packages } : {}) }, expires);
        this.#storedExpiry.set(c, expires);
      }
      this.#log.info({ image: pinned, findings: r.findings.length, durationMs: Math.round(secs * 1000) }, 'scanned');
      return c;
    } catch (err) {
      const timedOut = ac.signal.aborted && !this.#closed;
      const code = timedOut ? 'SCAN_TIMEOUT' : codeOf(err);
      const outcome = code === 'SCAN_TIMEOUT' ? 'timeout' : 'error';
      const secs = (performance.now() - t0) / 1000;
      this.#m.scans.inc({ backend: backend.name, outcome });
      this.#m.scanDuration.observe({ backend: backend.name, outcome }, secs);
      this.#m.errors.inc({ kind: errorKind(code) });
      this.#log.warn({ image: pinned, code, err: describeError(err) }, 'scan failed');
      const failed: CachedResult = { ok: false, digest, code, reason: clientReason(code) };
      if (code !== 'SCAN_ABORTED' && code !== 'DB_MISSING') this.#results.set(key, failed, this.#o.cache.errorTtl);
      return failed;
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(ac);
    }
  }

  /** The expiry last written to the store per cached result (the store is only rewritten when it moves enough). */
  readonly #storedExpiry = new WeakMap<CachedResult, number>();

  /**
   * After a decision: keep each scanned digest `allowTtl` or `denyTtl` from now. In memory at once;
   * in the store (a write each) when the expiry moves earlier, or later by more than a tenth of the
   * TTL (at most a minute): a restarted server may then rescan a result up to that much sooner,
   * never keep one longer, and a busy server does not write SQLite on every decision.
   */
  noteVerdicts(verdicts: readonly { digest?: string; allowed: boolean; code?: string }[]): void {
    for (const v of verdicts) {
      if (!v.digest) continue;
      const key = this.#key(v.digest);
      const c = this.#results.get(key);
      if (!c || !c.ok) continue;
      const ttl = v.allowed ? this.#o.cache.allowTtl : this.#o.cache.denyTtl;
      this.#results.touch(key, ttl);
      const store = this.#o.store;
      if (!store) continue;
      const expires = this.#now() + ttl;
      const stored = this.#storedExpiry.get(c);
      if (stored !== undefined && expires >= stored && expires - stored < Math.min(60_000, ttl / 10)) continue;
      store.expire(key, expires);
      this.#storedExpiry.set(c, expires);
    }
  }

  /** Resolve and scan one image, waiting for the result (prescan). */
  async warm(image: string): Promise<'scanned' | 'cached' | 'error'> {
    try {
      const ref = parseReference(image);
      const res = await this.#resolve(ref);
      if (this.#cached(this.#key(res.digest))) return 'cached';
      const c = await this.#scanShared(res);
      return c.ok ? 'scanned' : 'error';
    } catch (err) {
      this.#log.warn({ image, err: describeError(err) }, 'prescan failed');
      return 'error';
    }
  }

  /** Warm the cache from a list, at most `workers` at a time (never overflowing the queue). */
  async prescan(images: readonly string[]): Promise<{ scanned: number; cached: number; failed: number }> {
    const out = { scanned: 0, cached: 0, failed: 0 };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < images.length && !this.#closed) {
        const image = images[next++] as string;
        const r = await this.warm(image);
        if (r === 'scanned') out.scanned++;
        else if (r === 'cached') out.cached++;
        else out.failed++;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.#o.workers) }, worker));
    return out;
  }

  get stats(): { running: number; queued: number; cached: number } {
    return { running: this.#pool.running, queued: this.#pool.queued, cached: this.#results.size };
  }

  /** Stop: abort running scans and resolutions, refuse new ones. */
  close(): void {
    this.#closed = true;
    for (const ac of this.#aborts) ac.abort(new ScannerError('SCAN_ABORTED', 'server shutting down'));
  }
}

/** Parse a prescan file: one image per line, blank lines and # comments ignored. */
export function parsePrescanList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter((l) => l !== '');
}
