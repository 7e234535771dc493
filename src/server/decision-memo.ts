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
 *  - the key is the raw body (bounded size), so any difference in the request is a different key;
 *  - a hit is still logged and counted as a decision, like any other.
 * Tag → digest staleness grows by at most `ttlMs` beyond `cache.resolveTtl`.
 */
import type { Decision, Policy } from '../domain/policy.ts';
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
  /** Metric label sets for this decision, made once. */
  counted?: { decision: { route: string; result: string; code: string }; route: { route: string }; kind?: { kind: string } };
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
  readonly #map = new Map<string, MemoEntry>();

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

  get(key: string, identity: string, now: number): MemoEntry | undefined {
    const e = this.#map.get(key);
    if (!e) return undefined;
    if (e.expires <= now || e.identity !== identity) {
      this.#map.delete(key);
      return undefined;
    }
    return e;
  }

  set(key: string, entry: Omit<MemoEntry, 'expires'>, now: number): void {
    if (!this.enabled || key.length > MEMO_MAX_BODY) return;
    this.#map.delete(key);
    this.#map.set(key, { ...entry, expires: this.#expiry(now) });
    if (this.#map.size > this.#max) {
      // Drop the oldest quarter at once (amortised; entries live one second anyway).
      let n = this.#map.size - Math.floor(this.#max * 0.75);
      for (const k of this.#map.keys()) {
        if (n-- <= 0) break;
        this.#map.delete(k);
      }
    }
  }

  get size(): number {
    return this.#map.size;
  }
}
