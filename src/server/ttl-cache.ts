/**
 * A bounded map with a per-entry expiry: least recently used entries are dropped first when full,
 * expired ones on access. Insertion order of a Map is the LRU order (an access re-inserts).
 */
export class TtlCache<V> {
  readonly #max: number;
  readonly #now: () => number;
  readonly #map = new Map<string, { value: V; expires: number; touched: number }>();

  constructor(maxEntries: number, now: () => number = Date.now) {
    this.#max = Math.max(1, maxEntries);
    this.#now = now;
  }

  get(key: string): V | undefined {
    const e = this.#map.get(key);
    if (!e) return undefined;
    const now = this.#now();
    if (e.expires <= now) {
      this.#map.delete(key);
      return undefined;
    }
    // Approximate LRU: move to the young end at most once a second (a hot entry is re-read
    // thousands of times a second; re-inserting it each time is measurable).
    if (now - e.touched > 1000) {
      e.touched = now;
      this.#map.delete(key);
      this.#map.set(key, e);
    }
    return e.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.#map.delete(key);
    if (ttlMs <= 0) return;
    const now = this.#now();
    this.#map.set(key, { value, expires: now + ttlMs, touched: now });
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value);
    }
  }

  /** Change the expiry of a live entry (measured from now); false when absent. */
  touch(key: string, ttlMs: number): boolean {
    const e = this.#map.get(key);
    if (!e || e.expires <= this.#now()) return false;
    if (ttlMs <= 0) this.#map.delete(key);
    else e.expires = this.#now() + ttlMs;
    return true;
  }

  /** Epoch ms at which a live entry expires. */
  expiresAt(key: string): number | undefined {
    return this.#map.get(key)?.expires;
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }

  get size(): number {
    return this.#map.size;
  }
}
