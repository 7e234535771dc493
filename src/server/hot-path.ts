/**
 * A lean pre-router in front of fastify for the one request shape that dominates a busy webhook: a
 * POST to an admission route with `Content-Type: application/json` and a small Content-Length body.
 * It reads the body and calls the same review core as the fastify routes (reviews.ts), skipping only
 * fastify's per-request lifecycle, which alone costs about as much as a cached decision. Anything else
 * — chunked or large bodies, other content types, other methods and paths, `Expect: 100-continue` —
 * returns false and goes to fastify, which applies the same rules (and the same core) in full.
 * Server-level protections (request/header timeouts, TLS, client certificates) are the same server's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { routeOf, type Answer, type ReviewCore } from './reviews.ts';

/** Bodies up to this size take the hot path (an AdmissionReview for a pod is a few KB). */
export const HOT_PATH_MAX_BODY = 64 * 1024;

const JSON_TYPE = /^application\/json\s*(?:;|$)/i;
const INTERNAL: Answer = { status: 500, json: '{"code":"INTERNAL","message":"internal error"}' };

export interface HotPathOptions {
  core: ReviewCore;
  mutate: boolean;
  draining: () => boolean;
}

/** Answers made in this turn of the event loop, written together at its end (see `send`). */
let queued: { res: ServerResponse; a: Answer; close: boolean }[] = [];

function flush(): void {
  const q = queued;
  queued = [];
  for (const x of q) write(x.res, x.a, x.close);
}

/**
 * Answers are written at the end of the event loop's turn (setImmediate), all together, not each
 * as soon as it is made: on loopback and in VMs a write that has to wake a sleeping client costs
 * a cross-CPU wake-up; the answers of one turn written back to back wake it once.
 */
function send(res: ServerResponse, a: Answer, close: boolean): void {
  if (queued.length === 0) setImmediate(flush);
  queued.push({ res, a, close });
}

function write(res: ServerResponse, a: Answer, close: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': a.bytes ?? Buffer.byteLength(a.json) };
  if (close) headers['connection'] = 'close';
  try {
    res.writeHead(a.status, headers);
    res.end(a.json);
  } catch {
    res.destroy();
  }
}

/** The last query string and its `timeout` (an API server sends the same one on every call). */
let lastQuery: string | undefined;
let lastTimeout: string | undefined;

/** The `timeout` query parameter (the API server's `?timeout=10s`), without building a URLSearchParams. */
function timeoutOf(query: string): string | undefined {
  if (query === lastQuery) return lastTimeout;
  lastTimeout = parseTimeoutOf(query);
  lastQuery = query;
  return lastTimeout;
}

function parseTimeoutOf(query: string): string | undefined {
  for (const part of query.split('&')) {
    if (part.startsWith('timeout=')) {
      try {
        return decodeURIComponent(part.slice(8));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Returns a handler that answers the request and returns true, or returns false (fastify takes it). */
export function createHotPath(o: HotPathOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const route = routeOf(q < 0 ? url : url.slice(0, q));
    if (!route || (route === 'mutate' && !o.mutate)) return false;
    const h = req.headers;
    const ct = h['content-type'];
    const cl = h['content-length'];
    if (ct === undefined || (ct !== 'application/json' && !JSON_TYPE.test(ct)) || cl === undefined || h['transfer-encoding'] !== undefined || h['expect'] !== undefined) return false;
    const length = Number(cl);
    if (!Number.isInteger(length) || length < 0 || length > HOT_PATH_MAX_BODY) return false;
    const receivedAt = Date.now();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= length) chunks.push(c);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      let a: Answer | Promise<Answer>;
      try {
        // A memo hit, or the review decided now (all images known to the caches), or later.
        a = o.core.fromMemoBytes(route, body) ?? o.core.decide(route, body.toString('utf8'), q < 0 ? undefined : timeoutOf(url.slice(q + 1)), receivedAt, body);
      } catch {
        send(res, INTERNAL, true);
        return;
      }
      if (a instanceof Promise) {
        a.then(
          (x) => send(res, x, o.draining()),
          () => send(res, INTERNAL, true),
        );
      } else send(res, a, o.draining());
    });
    return true;
  };
}
