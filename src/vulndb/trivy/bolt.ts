/**
 * A read-only reader of bbolt (BoltDB) files, the format of Trivy's vulnerability DB.
 *
 * File layout (go.etcd.io/bbolt, documented in its page.go / bucket.go / db.go):
 * - every page starts with a 16-byte header: id u64, flags u16, count u16, overflow u32;
 *   a page with overflow N spans N+1 contiguous pages.
 * - pages 0 and 1 are meta pages: magic 0xED0CDAED, version 2, pageSize, flags, root bucket
 *   {root pgid, sequence}, freelist pgid, high-water pgid, txid, checksum (FNV-1a 64 of the preceding
 *   meta bytes). The valid meta with the highest txid wins.
 * - branch pages hold 16-byte elements {pos u32, ksize u32, pgid u64}; leaf pages hold
 *   {flags u32, pos u32, ksize u32, vsize u32}; pos is relative to the element itself.
 * - a leaf element with flag 0x01 is a nested bucket: its value starts with a 16-byte bucket header
 *   {root pgid, sequence}; root 0 means an inline bucket whose page follows the header in the value.
 *
 * Pages are read on demand with positional reads (the real trivy.db is close to 1 GB; we never load it
 * whole), through a small LRU cache. The file is opened read-only and never locked, so a DB that another
 * process holds open can be read. Every offset is bounds-checked: a corrupt or truncated file gives a
 * ScannerError('TRIVYDB_CORRUPT'), never an out-of-range read or an endless loop.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ScannerError } from '../../shared/errors.ts';

const MAGIC = 0xed0cdaed;
const PAGE_HEADER = 16;
const BRANCH_FLAG = 0x01;
const LEAF_FLAG = 0x02;
const META_FLAG = 0x04;
const BUCKET_LEAF = 0x01;
const ELEM_SIZE = 16;
const BUCKET_HEADER = 16;
const MAX_DEPTH = 64;

/** A page's bytes (including its header) and where it came from. */
interface Page {
  buf: Buffer;
  id: number;
  flags: number;
  count: number;
}

function corrupt(path: string, why: string): ScannerError {
  return new ScannerError('TRIVYDB_CORRUPT', `${path}: not a valid BoltDB file (${why})`);
}

/** FNV-1a 64-bit, as bbolt uses for the meta checksum. */
function fnv1a64(buf: Buffer): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of buf) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

export interface BoltEntry {
  key: Buffer;
  /** The value, for a plain key. */
  value?: Buffer;
  /** True when the key names a nested bucket (open it with `bucket(key)`). */
  isBucket: boolean;
}

export class BoltDb {
  readonly path: string;
  readonly pageSize: number;
  readonly txid: bigint;
  readonly #fd: number;
  readonly #fileSize: number;
  readonly #maxPgid: number;
  readonly #rootPgid: number;
  readonly #cache = new Map<number, Page>();
  readonly #cacheLimit: number;
  #closed = false;

  private constructor(path: string, fd: number, fileSize: number, meta: { pageSize: number; root: bigint; pgid: bigint; txid: bigint }, cachePages: number) {
    this.path = path;
    this.#fd = fd;
    this.#fileSize = fileSize;
    this.pageSize = meta.pageSize;
    this.#rootPgid = pgidNumber(path, meta.root);
    this.#maxPgid = pgidNumber(path, meta.pgid);
    this.txid = meta.txid;
    this.#cacheLimit = cachePages;
  }

  /** Open a bbolt file read-only. Throws ScannerError TRIVYDB_CORRUPT / TRIVYDB_OPEN with one clear line. */
  static open(path: string, opts: { cachePages?: number } = {}): BoltDb {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new ScannerError('TRIVYDB_OPEN', `cannot open ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
    try {
      const size = fstatSync(fd).size;
      const meta = BoltDb.#readMeta(path, fd, size);
      return new BoltDb(path, fd, size, meta, opts.cachePages ?? 4096);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  static #readMeta(path: string, fd: number, size: number): { pageSize: number; root: bigint; pgid: bigint; txid: bigint } {
    if (size < 2 * 1024) throw corrupt(path, `file is only ${size} bytes`);
    const first = Buffer.alloc(Math.min(size, 64 * 1024));
    readSync(fd, first, 0, first.length, 0);
    const candidates: { pageSize: number; root: bigint; pgid: bigint; txid: bigint }[] = [];
    const parse = (buf: Buffer, at: number): void => {
      if (at + PAGE_HEADER + 64 > buf.length) return;
      const flags = buf.readUInt16LE(at + 8);
      if (!(flags & META_FLAG)) return;
      const m = at + PAGE_HEADER;
      if (buf.readUInt32LE(m) !== MAGIC) return;
      if (buf.readUInt32LE(m + 4) !== 2) return;
      const pageSize = buf.readUInt32LE(m + 8);
      const checksum = buf.readBigUInt64LE(m + 56);
      if (fnv1a64(buf.subarray(m, m + 56)) !== checksum) return;
      candidates.push({ pageSize, root: buf.readBigUInt64LE(m + 16), pgid: buf.readBigUInt64LE(m + 40), txid: buf.readBigUInt64LE(m + 48) });
    };
    parse(first, 0);
    // Meta page 1 sits at pageSize; take the page size from meta 0 when valid, else try common sizes.
    const sizes = new Set<number>([...candidates.map((c) => c.pageSize), 4096, 8192, 16384, 65536, 1024, 2048]);
    for (const ps of sizes) {
      if (ps <= 0 || ps + PAGE_HEADER + 64 > size) continue;
      const buf = Buffer.alloc(PAGE_HEADER + 64);
      readSync(fd, buf, 0, buf.length, ps);
      const before = candidates.length;
      parse(buf, 0);
      const added = candidates[before];
      if (added && added.pageSize !== ps) candidates.pop();
      if (candidates.length > before) break;
    }
    const valid = candidates.filter((c) => c.pageSize >= 512 && c.pageSize <= 1 << 20 && (c.pageSize & (c.pageSize - 1)) === 0);
    if (valid.length === 0) {
      const magic = first.length >= 20 ? first.readUInt32LE(16) : 0;
      throw corrupt(path, magic === MAGIC ? 'both meta pages fail their checksum' : 'no BoltDB magic number');
    }
    valid.sort((a, b) => (a.txid > b.txid ? -1 : 1));
    const meta = valid[0]!;
    if (BigInt(size) < meta.pgid * BigInt(meta.pageSize)) {
      throw corrupt(path, `truncated: ${size} bytes but the meta page names ${meta.pgid} pages of ${meta.pageSize} bytes`);
    }
    return meta;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cache.clear();
    closeSync(this.#fd);
  }

  /** The top-level bucket of the database. */
  root(): BoltBucket {
    return new BoltBucket(this, this.#rootPgid, undefined);
  }

  /** Convenience: walk a path of nested bucket names from the root. */
  bucketPath(...names: (string | Buffer)[]): BoltBucket | undefined {
    let b: BoltBucket | undefined = this.root();
    for (const n of names) {
      b = b.bucket(n);
      if (!b) return undefined;
    }
    return b;
  }

  /**
   * @internal Read page `id` (with its overflow pages): one positional read for a plain page, a second
   * one only for the rest of an overflowing page. The page is kept in the LRU cache.
   */
  page(id: number): Page {
    const hit = this.#cached(id);
    if (hit) return hit;
    return this.#remember(this.#read(id, Buffer.allocUnsafe(this.pageSize)));
  }

  /**
   * @internal Page `id` for a lookup that uses it at once: a cached page when there is one; else a leaf
   * is read into `scratch.buf` (grown for an overflowing page) and not cached — `scratch.leaf` names it
   * until the next read through the same scratch overwrites it — while a branch page is copied into the
   * cache (branches are few and every lookup passes through them).
   */
  transientPage(id: number, scratch: { buf: Buffer; leaf: Page | undefined }): Page {
    if (scratch.leaf?.id === id) return scratch.leaf;
    const hit = this.#cached(id);
    if (hit) return hit;
    scratch.leaf = undefined;
    const p = this.#read(id, scratch.buf);
    if (p.buf.length > scratch.buf.length) scratch.buf = p.buf;
    if (p.flags & LEAF_FLAG) return (scratch.leaf = p);
    return this.#remember({ ...p, buf: Buffer.from(p.buf) });
  }

  #cached(id: number): Page | undefined {
    if (this.#closed) throw new ScannerError('TRIVYDB_CLOSED', `${this.path} is closed`);
    const hit = this.#cache.get(id);
    if (hit) {
      this.#cache.delete(id);
      this.#cache.set(id, hit);
    }
    return hit;
  }

  #remember(page: Page): Page {
    this.#cache.set(page.id, page);
    if (this.#cache.size > this.#cacheLimit) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    return page;
  }

  /** Read page `id` into `into` when it fits (a page of `pageSize` bytes), else into a new buffer. */
  #read(id: number, into: Buffer): Page {
    if (id < 2 || id >= this.#maxPgid) throw corrupt(this.path, `page id ${id} out of range`);
    const ps = this.pageSize;
    const offset = id * ps;
    if (offset + ps > this.#fileSize) throw corrupt(this.path, `page ${id} beyond the end of the file`);
    let buf = into.length >= ps ? into : Buffer.allocUnsafe(ps);
    if (readSync(this.#fd, buf, 0, ps, offset) !== ps) throw corrupt(this.path, `short read of page ${id}`);
    const overflow = buf.readUInt32LE(12);
    let len = ps;
    if (overflow > 0) {
      len = (overflow + 1) * ps;
      if (offset + len > this.#fileSize || overflow + id >= this.#maxPgid + 1) throw corrupt(this.path, `page ${id} overflows the file`);
      if (buf.length < len) {
        const whole = Buffer.allocUnsafe(len);
        buf.copy(whole, 0, 0, ps);
        buf = whole;
      }
      if (readSync(this.#fd, buf, ps, len - ps, offset + ps) !== len - ps) throw corrupt(this.path, `short read of page ${id}`);
    }
    return parsePageHeader(this.path, buf.length === len ? buf : buf.subarray(0, len), id);
  }
}

/** Page ids are u64 on disk; a valid file of any size has ids far below 2^53. */
function pgidNumber(path: string, v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(path, `page id ${v} out of range`);
  return Number(v);
}

function parsePageHeader(path: string, buf: Buffer, id: number): Page {
  const flags = buf.readUInt16LE(8);
  const count = buf.readUInt16LE(10);
  if (!(flags & (BRANCH_FLAG | LEAF_FLAG))) throw corrupt(path, `page ${id} is not a branch or leaf page (flags 0x${flags.toString(16)})`);
  if (PAGE_HEADER + count * ELEM_SIZE > buf.length) throw corrupt(path, `page ${id} claims ${count} elements`);
  return { buf, id, flags, count };
}

/** Read element i of a leaf page: key, value, flags — bounds-checked. */
function leafElem(path: string, p: Page, i: number): { flags: number; key: Buffer; value: Buffer } {
  const at = PAGE_HEADER + i * ELEM_SIZE;
  const flags = p.buf.readUInt32LE(at);
  const pos = p.buf.readUInt32LE(at + 4);
  const ksize = p.buf.readUInt32LE(at + 8);
  const vsize = p.buf.readUInt32LE(at + 12);
  const k = at + pos;
  if (k + ksize + vsize > p.buf.length) throw corrupt(path, `leaf element ${i} of page ${p.id} points outside the page`);
  return { flags, key: p.buf.subarray(k, k + ksize), value: p.buf.subarray(k + ksize, k + ksize + vsize) };
}

function branchElem(path: string, p: Page, i: number): { key: Buffer; pgid: number } {
  const at = PAGE_HEADER + i * ELEM_SIZE;
  const pos = p.buf.readUInt32LE(at);
  const ksize = p.buf.readUInt32LE(at + 4);
  const k = at + pos;
  if (k + ksize > p.buf.length) throw corrupt(path, `branch element ${i} of page ${p.id} points outside the page`);
  return { key: p.buf.subarray(k, k + ksize), pgid: branchPgid(p, at) };
}

/** The child page id of the branch element at `at` (u64 read as two u32: no BigInt on the hot path). */
function branchPgid(p: Page, at: number): number {
  const lo = p.buf.readUInt32LE(at + 8);
  const hi = p.buf.readUInt32LE(at + 12);
  // ids above 2^53 do not exist in a valid file; page() rejects the (inexact) result as out of range
  return hi * 0x100000000 + lo;
}

/**
 * Compare the key of element i of a leaf (or branch) page with `key[0, klen)` (negative: the element's
 * sorts first), without allocating: a byte loop (keys are short; a call into Buffer.compare costs more).
 */
function compareElemKey(path: string, p: Page, i: number, key: Uint8Array, klen: number, leaf: boolean): number {
  const buf = p.buf;
  const at = PAGE_HEADER + i * ELEM_SIZE;
  const pos = buf.readUInt32LE(at + (leaf ? 4 : 0));
  const ksize = buf.readUInt32LE(at + (leaf ? 8 : 4));
  const k = at + pos;
  if (k + ksize > buf.length) throw corrupt(path, `element ${i} of page ${p.id} points outside the page`);
  const n = klen < ksize ? klen : ksize;
  for (let j = 0; j < n; j++) {
    const d = buf[k + j]! - key[j]!;
    if (d !== 0) return d;
  }
  return ksize - klen;
}

const toKey = (k: string | Buffer): Buffer => (typeof k === 'string' ? Buffer.from(k) : k);

/**
 * A key found by `BoltBucket.lookupMany`: where its element sits in a page. Valid only during the
 * callback it is passed to (the page may be a scratch buffer the next lookup overwrites).
 */
export class BoltHit {
  /** @internal */ page!: Page;
  /** @internal */ index = 0;
  /** @internal */ db!: BoltDb;
  /** @internal */ flags = 0;
  /** @internal */ vStart = 0;
  /** @internal */ vEnd = 0;

  get isBucket(): boolean {
    return (this.flags & BUCKET_LEAF) !== 0;
  }

  /** The value's bytes (a view into the page: copy it to keep it). */
  value(): Buffer {
    return this.page.buf.subarray(this.vStart, this.vEnd);
  }

  /** The value decoded as UTF-8. */
  text(): string {
    return this.page.buf.toString('utf8', this.vStart, this.vEnd);
  }

  /** The nested bucket this key names (an inline one reads from the page: use it within the callback). */
  bucket(): BoltBucket | undefined {
    return this.isBucket ? openBucket(this.db, this.value()) : undefined;
  }
}

function openBucket(db: BoltDb, value: Buffer): BoltBucket {
  if (value.length < BUCKET_HEADER) throw corrupt(db.path, 'bucket header too short');
  const root = value.readUInt32LE(4) * 0x100000000 + value.readUInt32LE(0);
  if (root !== 0) return new BoltBucket(db, root, undefined);
  const inline = value.subarray(BUCKET_HEADER);
  if (inline.length < PAGE_HEADER) throw corrupt(db.path, 'inline bucket too short');
  return new BoltBucket(db, 0, parsePageHeader(db.path, inline, 0));
}

export class BoltBucket {
  readonly #db: BoltDb;
  readonly #root: number;
  /** For inline buckets: the page embedded in the parent's value. */
  readonly #inline: Page | undefined;

  /** @internal */
  constructor(db: BoltDb, root: number, inline: Page | undefined) {
    this.#db = db;
    this.#root = root;
    this.#inline = inline;
  }

  #rootPage(): Page {
    return this.#inline ?? this.#db.page(this.#root);
  }

  /**
   * Descend to the leaf that holds `key[0, klen)`: `hit` is filled and true when the key is there.
   * `read` fetches child pages (the cache, or a scratch buffer for lookups that use the leaf at once).
   */
  #descend(key: Uint8Array, klen: number, read: (id: number) => Page, hit: BoltHit): boolean {
    const path = this.#db.path;
    let p = this.#inline ?? read(this.#root);
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      if (p.flags & LEAF_FLAG) {
        let lo = 0;
        let hi = p.count;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          const c = compareElemKey(path, p, mid, key, klen, true);
          if (c === 0) {
            const at = PAGE_HEADER + mid * ELEM_SIZE;
            const buf = p.buf;
            const k = at + buf.readUInt32LE(at + 4);
            const vStart = k + buf.readUInt32LE(at + 8);
            const vEnd = vStart + buf.readUInt32LE(at + 12);
            if (vEnd > buf.length) throw corrupt(path, `leaf element ${mid} of page ${p.id} points outside the page`);
            hit.page = p;
            hit.index = mid;
            hit.flags = buf.readUInt32LE(at);
            hit.vStart = vStart;
            hit.vEnd = vEnd;
            return true;
          }
          if (c < 0) lo = mid + 1;
          else hi = mid;
        }
        return false;
      }
      if (p.count === 0) return false;
      // branch: first index whose key >= target; step back one unless it is an exact match.
      let lo = 0;
      let hi = p.count;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareElemKey(path, p, mid, key, klen, false) < 0) lo = mid + 1;
        else hi = mid;
      }
      let idx = lo;
      if (idx >= p.count || compareElemKey(path, p, idx, key, klen, false) !== 0) idx = Math.max(0, idx - 1);
      p = read(branchPgid(p, PAGE_HEADER + idx * ELEM_SIZE));
    }
    throw corrupt(path, 'B+tree deeper than 64 levels (a page cycle?)');
  }

  /** Find the leaf element for `key`, or undefined. */
  #find(key: Buffer): { flags: number; key: Buffer; value: Buffer } | undefined {
    const hit = new BoltHit();
    if (!this.#descend(key, key.length, (id) => this.#db.page(id), hit)) return undefined;
    return { flags: hit.flags, key: key, value: hit.value() };
  }

  /**
   * Look up many keys: `visit(i, hit)` for each `keys[i]` that is present (a plain value or a nested
   * bucket), in byte order of the keys rather than `i` order — a bucket's leaves lie in key order in a
   * file bbolt wrote in one transaction (as trivy-db is built), so the pages are read in file order,
   * each leaf once for all the keys it holds. Leaves go through one scratch buffer, not the page cache:
   * `hit`, and every view it gives, is valid only during its callback.
   */
  lookupMany(keys: readonly string[], visit: (i: number, hit: BoltHit) => void): void {
    const order = keys.map((_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b));
    const scratch: { buf: Buffer; leaf: Page | undefined } = { buf: Buffer.allocUnsafe(this.#db.pageSize), leaf: undefined };
    // the branch pages this batch passed through, without the LRU bookkeeping of the shared cache
    const branches = new Map<number, Page>();
    const read = (id: number): Page => {
      const b = branches.get(id);
      if (b) return b;
      const p = this.#db.transientPage(id, scratch);
      if (!(p.flags & LEAF_FLAG)) branches.set(id, p);
      return p;
    };
    let keyBuf = Buffer.allocUnsafe(256);
    const hit = new BoltHit();
    hit.db = this.#db;
    for (const i of order) {
      const key = keys[i]!;
      if (key.length * 3 > keyBuf.length) keyBuf = Buffer.allocUnsafe(key.length * 3);
      const klen = keyBuf.write(key, 0);
      if (this.#descend(keyBuf, klen, read, hit)) visit(i, hit);
    }
  }

  /** Value of a plain key (undefined for a missing key or a nested bucket). */
  get(key: string | Buffer): Buffer | undefined {
    const e = this.#find(toKey(key));
    return e && !(e.flags & BUCKET_LEAF) ? e.value : undefined;
  }

  /** A nested bucket, or undefined. */
  bucket(name: string | Buffer): BoltBucket | undefined {
    const e = this.#find(toKey(name));
    if (!e || !(e.flags & BUCKET_LEAF)) return undefined;
    return openBucket(this.#db, e.value);
  }

  /** Every entry in key order (depth-first over the B+tree). */
  *entries(): Generator<BoltEntry> {
    const stack: { page: Page; i: number }[] = [{ page: this.#rootPage(), i: 0 }];
    while (stack.length > 0) {
      if (stack.length > MAX_DEPTH) throw corrupt(this.#db.path, 'B+tree deeper than 64 levels (a page cycle?)');
      const top = stack[stack.length - 1]!;
      if (top.i >= top.page.count) {
        stack.pop();
        continue;
      }
      const i = top.i++;
      if (top.page.flags & LEAF_FLAG) {
        const e = leafElem(this.#db.path, top.page, i);
        const isBucket = (e.flags & BUCKET_LEAF) !== 0;
        yield isBucket ? { key: e.key, isBucket } : { key: e.key, value: e.value, isBucket };
      } else {
        stack.push({ page: this.#db.page(branchElem(this.#db.path, top.page, i).pgid), i: 0 });
      }
    }
  }

  /** Keys as strings, in order. */
  *keys(): Generator<string> {
    for (const e of this.entries()) yield e.key.toString('utf8');
  }

  /** Nested buckets with their names, in order. */
  *buckets(): Generator<[string, BoltBucket]> {
    let p: Page | undefined;
    for (const e of this.entries()) {
      if (!e.isBucket) continue;
      p = undefined;
      const found = this.#find(e.key);
      if (found) yield [e.key.toString('utf8'), openBucket(this.#db, found.value)];
    }
    void p;
  }
}
