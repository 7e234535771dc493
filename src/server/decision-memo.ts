/**
 * A short-lived memo of whole answers ("decisions cached"): the same review, byte for byte (for an
 * AdmissionReview: the same body but for `request.uid`), within `ttlMs` of a decision made with the
 * same backend identity (scanner + DB), gets the same answer without being parsed, validated or
 * decided again. It absorbs bursts — a Deployment scaled to 100 replicas sends 100 identical reviews,
 * the ImagePolicyWebhook sends the same ImageReview for every pod of a workload.
 *
 * What keeps it correct:
 *  - only decisions without pending or failed images are kept (those must be retried for real);
 *  - an entry dies after `ttlMs` (default 1 s), when the backend identity changes (DB update), and at
 *    the next policy exception expiry instant, so no exception outlives its date;
 *  - an entry matches a request only when the request's bytes equal the stored body's bytes
 *    (memcmp), all of them or — AdmissionReview — all but the uid slot, which the caller has proven
 *    to be request.uid; bodies are bounded in size, and so is the memo;
 *  - a hit is still logged and counted as a decision, like any other.
 * Tag → digest staleness grows by at most `ttlMs` beyond `cache.resolveTtl`.
 */
import type { Decision, Policy } from '../domain/policy.ts';
import type { CounterSeries, HistogramSeries } from '../metrics/index.ts';
import { exceptionExpiry } from '../policy/index.ts';
import type { Logger } from '../shared/log.ts';

export interface MemoEntry {
  /** The serialized answer; for AdmissionReview split around the uid: parts[0] + JSON(uid) + parts[1]. */
  parts: [string] | [string, string];
  decision: Decision;
  identity: string;
  expires: number;
  /** Fields for the decision log line that are not in the request itself. */
  log: Record<string, unknown>;
  /** A child logger with the decision's fixed fields bound (pino serializes bindings once). */
  logger?: Logger;
  /** The decision line's fixed fields, serialised once (written directly by the server's own logger). */
  line?: string;
  /** Metric series for this decision, looked up once. */
  counted?: { decision: CounterSeries; duration: HistogramSeries; breakGlass: CounterSeries; kind?: CounterSeries };
  /** UTF-8 length of the answer (for AdmissionReview without the quoted uid: add 38). */
  bytes: number;
  /** The request body's bytes before its uid slot (ImageReview: the whole body) and after it. */
  head: Buffer;
  tail: Buffer;
}

/**
 * Where a request body may differ from the stored one: `at` (byte offset) and `len` (0, or 36 for a
 * uid). Outside it every byte must be equal.
 */
export interface MemoSlot {
  at: number;
  len: number;
}

const NO_SLOT = (body: Buffer): MemoSlot => ({ at: body.length, len: 0 });

/** Entries per bucket (bodies sharing route, slot, length and 16 sampled bytes). */
const BUCKET_MAX = 8;

/**
 * The bucket of a body: route, slot position, length and 16 sampled bytes outside the slot, hashed
 * (FNV-1a) into a small integer. Cheap (no string is built or hashed); a collision only shares a
 * bucket, the byte comparison decides.
 */
function bucketOf(route: string, body: Buffer, slot: MemoSlot): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < route.length; i++) h = Math.imul(h ^ route.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ slot.at, 0x01000193);
  h = Math.imul(h ^ body.length, 0x01000193);
  const n = body.length;
  for (let i = 0; i < 16 && n > 0; i++) {
    const p = Math.floor((i * (n - 1)) / 15);
    if (p >= slot.at && p < slot.at + slot.len) continue;
    h = Math.imul(h ^ (body[p] as number), 0x01000193);
  }
  return h & 0x3fffffff;
}

function matches(e: MemoEntry, body: Buffer, slot: MemoSlot): boolean {
  const hl = e.head.length;
  return (
    hl === slot.at &&
    body.length === hl + slot.len + e.tail.length &&
    body.compare(e.head, 0, hl, 0, hl) === 0 &&
    body.compare(e.tail, 0, e.tail.length, hl + slot.len, body.length) === 0
  );
}

/** Bodies larger than this are never memoized (keeps memory bounded: maxEntries × this). */
export const MEMO_MAX_BODY = 16 * 1024;

export function memoizable(d: Decision): boolean {
  if (d.code === 'pending' || d.code === 'scan-error') return false;
  return !d.images.some((v) => v.code === 'pending' || v.code === 'scan-error');
}

export class DecisionMemo {
  readonly #max: number;
  readonly #ttl: number;
  readonly #boundaries: number[];
  readonly #buckets = new Map<number, MemoEntry[]>();
  #count = 0;

  constructor(policy: Policy, opts: { maxEntries?: number; ttlMs?: number } = {}) {
    this.#max = opts.maxEntries ?? 2000;
    this.#ttl = opts.ttlMs ?? 1000;
    this.#boundaries = policy.exceptions
      .map((e) => (e.expires === undefined ? NaN : exceptionExpiry(e.expires)))
      .filter((t) => Number.isFinite(t))
      .sort((a, b) => a - b);
  }

  get enabled(): boolean {
    return this.#ttl > 0;
  }

  /** Expiry for an entry made at `now`: now + ttl, or just before the next exception expiry. */
  #expiry(now: number): number {
    let end = now + this.#ttl;
    for (const b of this.#boundaries) {
      if (b >= now) {
        end = Math.min(end, b);
        break;
      }
    }
    return end;
  }

  /** The live entry for this body (same bytes outside `slot`), made with this identity, or undefined. */
  get(route: string, body: Buffer, identity: string, now: number, slot: MemoSlot = NO_SLOT(body)): MemoEntry | undefined {
    if (body.length === 0) return undefined;
    const key = bucketOf(route, body, slot);
    const list = this.#buckets.get(key);
    if (!list) return undefined;
    for (let i = 0; i < list.length; i++) {
      const e = list[i] as MemoEntry;
      if (e.expires <= now || e.identity !== identity) {
        list.splice(i--, 1);
        this.#count--;
        continue;
      }
      if (matches(e, body, slot)) return e;
    }
    if (list.length === 0) this.#buckets.delete(key);
    return undefined;
  }

  /** Remembers the answer for this body (its bytes are copied: the request's buffer may be reused). */
  set(route: string, body: Buffer, entry: Omit<MemoEntry, 'expires' | 'head' | 'tail'>, now: number, slot: MemoSlot = NO_SLOT(body)): void {
    if (!this.enabled || body.length === 0 || body.length > MEMO_MAX_BODY) return;
    const key = bucketOf(route, body, slot);
    let list = this.#buckets.get(key);
    if (!list) this.#buckets.set(key, (list = []));
    const at = list.findIndex((e) => matches(e, body, slot));
    if (at >= 0) {
      list.splice(at, 1);
      this.#count--;
    }
    const copy = Buffer.from(body);
    list.push({ ...entry, expires: this.#expiry(now), head: copy.subarray(0, slot.at), tail: copy.subarray(slot.at + slot.len) });
    this.#count++;
    if (list.length > BUCKET_MAX) {
      list.shift();
      this.#count--;
    }
    if (this.#count > this.#max) {
      // Drop the oldest buckets until a quarter is gone (amortised; entries live one second anyway).
      for (const [k, l] of this.#buckets) {
        if (this.#count <= Math.floor(this.#max * 0.75)) break;
        this.#buckets.delete(k);
        this.#count -= l.length;
      }
    }
  }

  get size(): number {
    return this.#count;
  }
}
