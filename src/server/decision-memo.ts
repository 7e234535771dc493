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
import { crc32 } from 'node:zlib';
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
  /** AdmissionReview: the uid the entry was made with, and whether its slot has been proven to be request.uid (done on first match). */
  uid?: string;
  proven?: boolean;
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
/** Reviews whose misses are remembered (for `repeated`). */
const SEEN_MAX = 4096;

/**
 * The bucket of a body: route, slot position, length and 16 sampled bytes outside the slot, hashed
 * (FNV-1a) into a small integer. Cheap (no string is built or hashed) for the hit path; a collision
 * only shares a bucket, the byte comparison decides.
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

/**
 * Which review a missed lookup was, for the repeat rule: route, slot position, length and the CRC-32
 * of every byte outside the slot (zlib's, native: ~0.5 µs for a pod's review). Reviews of distinct
 * pods differ in a few bytes (name suffix) that 16 samples would miss; a full hash tells them apart,
 * so they never count as repeats of each other. Computed on misses only.
 */
function reviewKey(route: string, body: Buffer, slot: MemoSlot): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < route.length; i++) h = Math.imul(h ^ route.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ slot.at, 0x01000193);
  h = Math.imul(h ^ body.length, 0x01000193);
  const end = slot.at + slot.len;
  let c = crc32(slot.at === body.length ? body : body.subarray(0, slot.at));
  if (end < body.length) c = crc32(body.subarray(end), c);
  return Math.imul(h ^ c, 0x01000193) >>> 0;
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
  /** The last missed lookup's body and bucket (a body is not changed between its lookup and its entry), and whether its bucket had missed before. */
  #last: { body: Buffer; route: string; at: number; key: number; seen: boolean } | undefined;
  /** Review key → when a lookup of it last missed (bounded; cleared when full). */
  readonly #seen = new Map<number, number>();
  readonly #seenTtl: number;

  readonly #bucketOf: typeof bucketOf;

  /** `bucketOf` replaces the bucket hash (tests: force bodies into one bucket). */
  constructor(policy: Policy, opts: { maxEntries?: number; ttlMs?: number; bucketOf?: (route: string, body: Buffer, slot: MemoSlot) => number } = {}) {
    this.#bucketOf = opts.bucketOf ?? bucketOf;
    this.#max = opts.maxEntries ?? 2000;
    this.#ttl = opts.ttlMs ?? 1000;
    this.#seenTtl = 10 * this.#ttl;
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
    const key = this.#bucketOf(route, body, slot);
    const list = this.#buckets.get(key);
    if (list) {
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as MemoEntry;
        if (e.expires <= now || e.identity !== identity) {
          list.splice(i--, 1);
          this.#count--;
          continue;
        }
        if (matches(e, body, slot)) {
          this.#last = undefined;
          return e;
        }
      }
      if (list.length === 0) this.#buckets.delete(key);
    }
    this.#last = { body, route, at: slot.at, key, seen: this.#sighted(reviewKey(route, body, slot), now) };
    return undefined;
  }

  /**
   * Whether `set(…, { repeated: true })` would keep an entry for this body now (so the caller can
   * skip preparing one). Without a lookup of this very body just before, this counts as its lookup.
   */
  wouldKeepRepeated(route: string, body: Buffer, now: number, slot: MemoSlot = NO_SLOT(body)): boolean {
    if (!this.enabled || body.length === 0 || body.length > MEMO_MAX_BODY) return false;
    const last = this.#last;
    if (last !== undefined && last.body === body && last.route === route && last.at === slot.at) return last.seen;
    const key = this.#bucketOf(route, body, slot);
    const seen = this.#sighted(reviewKey(route, body, slot), now);
    this.#last = { body, route, at: slot.at, key, seen };
    return seen;
  }

  /** Whether a lookup of this review (`reviewKey`) missed within `#seenTtl` before; notes this one. */
  #sighted(key: number, now: number): boolean {
    const t = this.#seen.get(key);
    if (this.#seen.size >= SEEN_MAX) this.#seen.clear();
    this.#seen.set(key, now);
    return t !== undefined && now - t <= this.#seenTtl;
  }

  /**
   * Remembers the answer for this body (its bytes are copied: the request's buffer may be reused).
   * With `repeated`, only when the same review (by `reviewKey`) was looked up and missed before,
   * within 10 × the TTL: reviews that never repeat — AdmissionReviews of distinct pods differ in more
   * than their uid — cost no entry (copies, memory, GC), and a repeating one is answered from the
   * memo from its third request on (its second, when it repeated recently).
   */
  set(route: string, body: Buffer, entry: Omit<MemoEntry, 'expires' | 'head' | 'tail'>, now: number, slot: MemoSlot = NO_SLOT(body), opts: { repeated?: boolean } = {}): void {
    if (!this.enabled || body.length === 0 || body.length > MEMO_MAX_BODY) return;
    // The bucket of the last lookup when it was for this very body (the usual miss → decide → set).
    const last = this.#last;
    const same = last !== undefined && last.body === body && last.route === route && last.at === slot.at;
    const key = same ? last.key : this.#bucketOf(route, body, slot);
    this.#last = undefined;
    if (opts.repeated === true && !(same ? last.seen : this.#sighted(reviewKey(route, body, slot), now))) return;
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

  /** Forgets an entry (it is removed at the next lookup of its bucket). */
  drop(e: MemoEntry): void {
    e.expires = -Infinity;
  }

  get size(): number {
    return this.#count;
  }
}
