/**
 * Downloading one feed file (an OSV `all.zip`, an NVD feed) to a local temp file:
 *
 * - http(s): conditional GET (If-None-Match / If-Modified-Since from the previous run) → 304 means
 *   unchanged; a timeout for the response headers and for every gap in the body (a server that hangs
 *   is abandoned); retries with exponential backoff (and Retry-After, capped) on network errors,
 *   timeouts, truncated bodies, 408/429/5xx; no retry on other 4xx; a size cap; redirects followed
 *   by hand (at most 5, http(s) only, never https → http).
 * - file:// URLs and plain paths (air-gapped mirrors): the file is copied, and (size, mtime) stands
 *   in for the ETag so an unchanged mirror file is skipped too.
 *
 * The configured base URL is trusted as given (a mirror on an internal host is the point of
 * --mirror); nothing else is reachable through a redirect from it than http(s).
 */
import { closeSync, copyFileSync, openSync, rmSync, statSync, writeSync, createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScannerError, UserError, describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';

export interface DownloadOptions {
  logger: Logger;
  /** Response headers and each gap in the body (default 60 s). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** First backoff delay; doubles each retry, with jitter (default 1 s). */
  retryBaseMs?: number;
  /** Refuse larger files (default 4 GiB). */
  maxBytes?: number;
  /** From the previous download, for a conditional request. */
  etag?: string;
  lastModified?: string;
  userAgent?: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number | undefined) => void;
}

export type DownloadResult =
  | { status: 'not-modified'; url: string }
  | { status: 'downloaded'; url: string; path: string; bytes: number; sha256: string; etag?: string; lastModified?: string };

export const DEFAULT_MAX_DOWNLOAD = 4 * 1024 ** 3;
const MAX_REDIRECTS = 5;
const MAX_RETRY_AFTER_MS = 60_000;

/** A failure worth another attempt (network, timeout, truncated body, 408/429/5xx). */
class Retryable extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

function isLocal(url: string): boolean {
  return url.startsWith('file:') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url);
}

export function localPath(url: string): string {
  return url.startsWith('file:') ? fileURLToPath(url) : url;
}

/** The stand-in validator of a local file: changes when its size or mtime does. */
function fileTag(size: number, mtimeMs: number): string {
  return `"file-${size}-${Math.trunc(mtimeMs)}"`;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function copyLocal(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
  const path = localPath(url);
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ScannerError(code === 'ENOENT' ? 'FEED_NOT_FOUND' : 'FEED_READ', `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
  }
  if (!st.isFile()) throw new ScannerError('FEED_READ', `${path} is not a regular file`);
  const max = opts.maxBytes ?? DEFAULT_MAX_DOWNLOAD;
  if (st.size > max) throw new ScannerError('FEED_TOO_LARGE', `${path} is ${st.size} bytes (limit ${max})`);
  const tag = fileTag(st.size, st.mtimeMs);
  if (opts.etag === tag) return { status: 'not-modified', url };
  copyFileSync(path, dest);
  opts.onProgress?.(st.size, st.size);
  return { status: 'downloaded', url, path: dest, bytes: st.size, sha256: await sha256File(dest), etag: tag, lastModified: st.mtime.toUTCString() };
}

function retryAfter(h: string | null): number | undefined {
  if (!h) return undefined;
  const s = Number(h);
  const ms = Number.isFinite(s) ? s * 1000 : Date.parse(h) - Date.now();
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

interface Attempt {
  url: string;
  opts: DownloadOptions;
  dest: string;
}

/** One attempt: follow redirects, stream the body to dest. */
async function attempt({ url, opts, dest }: Attempt): Promise<DownloadResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const max = opts.maxBytes ?? DEFAULT_MAX_DOWNLOAD;
  const ctl = new AbortController();
  const onAbort = (): void => ctl.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      ctl.abort(new Error('timeout'));
    }, timeoutMs);
  };
  let current = url;
  try {
    arm();
    let res: Response | undefined;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': opts.userAgent ?? 'portcullis', accept: '*/*' };
      if (hop === 0 && opts.etag) headers['if-none-match'] = opts.etag;
      if (hop === 0 && opts.lastModified) headers['if-modified-since'] = opts.lastModified;
      try {
        res = await fetch(current, { headers, redirect: 'manual', signal: ctl.signal });
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        throw new Retryable(timedOut ? `no response from ${current} within ${timeoutMs} ms` : `${current}: ${describeError((err as Error).cause ?? err)}`, undefined, { cause: err });
      }
      if (res.status < 300 || res.status >= 400 || res.status === 304) break;
      const loc = res.headers.get('location');
      await res.body?.cancel();
      if (!loc || hop >= MAX_REDIRECTS) throw new ScannerError('FEED_REDIRECT', `${url}: ${loc ? 'too many redirects' : `redirect ${res.status} without a Location`}`);
      const next = new URL(loc, current);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new ScannerError('FEED_REDIRECT', `${url}: refusing a redirect to ${next.protocol} URL`);
      if (new URL(current).protocol === 'https:' && next.protocol === 'http:') throw new ScannerError('FEED_REDIRECT', `${url}: refusing a redirect from https to http`);
      current = next.href;
    }
    if (res.status === 304) {
      await res.body?.cancel();
      return { status: 'not-modified', url };
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      const msg = `${current}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      if (res.status === 408 || res.status === 429 || res.status >= 500) throw new Retryable(msg, retryAfter(res.headers.get('retry-after')));
      throw new ScannerError(res.status === 404 ? 'FEED_NOT_FOUND' : 'FEED_HTTP', msg);
    }
    const lenHeader = res.headers.get('content-length');
    const declared = lenHeader !== null && /^\d+$/.test(lenHeader) && !res.headers.get('content-encoding') ? Number(lenHeader) : undefined;
    if (declared !== undefined && declared > max) {
      await res.body?.cancel();
      throw new ScannerError('FEED_TOO_LARGE', `${current} is ${declared} bytes (limit ${max})`);
    }
    const fd = openSync(dest, 'w');
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      if (res.body) {
        try {
          for await (const chunk of res.body) {
            arm();
            bytes += chunk.length;
            if (bytes > max) throw new ScannerError('FEED_TOO_LARGE', `${current} is larger than ${max} bytes (limit)`);
            hash.update(chunk);
            writeSync(fd, chunk);
            opts.onProgress?.(bytes, declared);
          }
        } catch (err) {
          if (err instanceof ScannerError || opts.signal?.aborted) throw err;
          throw new Retryable(timedOut ? `${current}: the download stalled for ${timeoutMs} ms after ${bytes} bytes` : `${current}: download interrupted after ${bytes} bytes (${describeError((err as Error).cause ?? err)})`, undefined, { cause: err });
        }
      }
    } finally {
      closeSync(fd);
    }
    if (declared !== undefined && bytes !== declared) throw new Retryable(`${current}: got ${bytes} of ${declared} bytes`);
    const out: DownloadResult = { status: 'downloaded', url, path: dest, bytes, sha256: hash.digest('hex') };
    const etag = res.headers.get('etag');
    if (etag) out.etag = etag;
    const lm = res.headers.get('last-modified');
    if (lm) out.lastModified = lm;
    return out;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Fetch `url` into `dest`. 'not-modified' when the server (or the local file) says the previous
 * copy is current. Failures after the retries are ScannerErrors naming the URL and the last cause.
 */
export async function download(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
  if (isLocal(url)) return copyLocal(url, dest, opts);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`not a valid URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UserError(`unsupported URL scheme ${parsed.protocol} (use http, https, file or a path): ${url}`);
  const retries = opts.retries ?? 3;
  const base = opts.retryBaseMs ?? 1000;
  for (let i = 0; ; i++) {
    try {
      return await attempt({ url, opts, dest });
    } catch (err) {
      rmSync(dest, { force: true });
      if (opts.signal?.aborted) throw new ScannerError('ABORTED', `download of ${url} interrupted`, { cause: err });
      if (!(err instanceof Retryable)) throw err;
      if (i >= retries) throw new ScannerError('FEED_DOWNLOAD', `${err.message} (gave up after ${i + 1} attempts)`, { cause: err });
      const delay = err.retryAfterMs ?? base * 2 ** i * (0.75 + Math.random() / 2);
      opts.logger.warn({ url, attempt: i + 1, delayMs: Math.round(delay), err: err.message }, 'download failed, retrying');
      await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined);
    }
  }
}
