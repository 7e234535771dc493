/**
 * Per-layer analysis cache in SQLite (`<cacheDir>/layers.sqlite`), keyed by (layer digest, selector
 * key, this module's version): a base layer shared by many images is read once, and a warm scan
 * downloads no layer. Each layer is one row written in one statement (atomic). Small verified blobs
 * (image configs) are cached by digest too. A corrupt or unreadable cache file is discarded and
 * rebuilt, never fatal: the cache only ever costs a re-read.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { Logger } from '../shared/log.ts';
import { describeError } from '../shared/errors.ts';
import type { LayerAnalysis } from './layers.ts';

/** Bump when the walker's output changes meaning (part of every key). */
export const LAYER_ANALYZER_VERSION = 2;
const SCHEMA_VERSION = '1';

interface Header {
  f: [string, number, number, number][];
  w: string[];
  o: string[];
  s: [string, string][];
  h: [string, string][];
  n: string[];
  p?: string[];
  d?: string[];
  l?: string[];
}

/** Compact binary form: u32 header length, header JSON, file contents back to back. */
export function encodeAnalysis(a: LayerAnalysis): Buffer {
  const hdr: Header = {
    f: a.files.map((f) => [f.path, f.mode, f.size, f.content.length]),
    w: a.whiteouts,
    o: a.opaqueDirs,
    s: a.symlinks,
    h: a.hardlinks,
    n: a.notes,
    p: a.present ?? [],
    d: a.presentDirs ?? [],
  };
  if (a.wantedLinks) hdr.l = a.wantedLinks;
  const json = Buffer.from(JSON.stringify(hdr));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  return Buffer.concat([len, json, ...a.files.map((f) => f.content)]);
}

export function decodeAnalysis(buf: Buffer): LayerAnalysis {
  const n = buf.readUInt32LE(0);
  const hdr = JSON.parse(buf.toString('utf8', 4, 4 + n)) as Header;
  let off = 4 + n;
  const files = hdr.f.map(([path, mode, size, len]) => {
    const content = buf.subarray(off, off + len);
    off += len;
    return { path, mode, size, content };
  });
  if (off !== buf.length) throw new Error('layer cache entry has the wrong length');
  const a: LayerAnalysis = { files, whiteouts: hdr.w, opaqueDirs: hdr.o, symlinks: hdr.s, hardlinks: hdr.h, notes: hdr.n, present: hdr.p ?? [], presentDirs: hdr.d ?? [] };
  if (hdr.l) a.wantedLinks = hdr.l;
  return a;
}

export interface CacheStats {
  hits: number;
  misses: number;
  writes: number;
}

export class LayerCache {
  readonly #db: DatabaseSync | undefined;
  readonly #log: Logger;
  readonly #get: StatementSync | undefined;
  readonly #put: StatementSync | undefined;
  readonly #getBlob: StatementSync | undefined;
  readonly #putBlob: StatementSync | undefined;
  readonly stats: CacheStats = { hits: 0, misses: 0, writes: 0 };

  constructor(cacheDir: string, log: Logger) {
    this.#log = log;
    const file = join(cacheDir, 'layers.sqlite');
    let db: DatabaseSync | undefined;
    for (let attempt = 0; attempt < 2 && !db; attempt++) {
      try {
        mkdirSync(cacheDir, { recursive: true });
        db = LayerCache.#open(file);
      } catch (err) {
        log.warn({ err: describeError(err), file }, 'layer cache unusable; discarding it');
        for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
      }
    }
    this.#db = db;
    if (db) {
      this.#get = db.prepare('SELECT data FROM layers WHERE key = ?');
      this.#put = db.prepare('INSERT OR REPLACE INTO layers (key, data, created) VALUES (?, ?, ?)');
      this.#getBlob = db.prepare('SELECT data FROM blobs WHERE digest = ?');
      this.#putBlob = db.prepare('INSERT OR REPLACE INTO blobs (digest, data) VALUES (?, ?)');
    }
  }

  static #open(file: string): DatabaseSync {
    const db = new DatabaseSync(file, { timeout: 5000 });
    try {
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
      db.exec(`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS layers (key TEXT PRIMARY KEY, data BLOB NOT NULL, created INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, data BLOB NOT NULL);`);
      const row = db.prepare("SELECT v FROM meta WHERE k = 'schema'").get() as { v?: unknown } | undefined;
      if (row?.v !== undefined && row.v !== SCHEMA_VERSION) throw new Error(`cache schema ${String(row.v)} is not ${SCHEMA_VERSION}`);
      db.prepare("INSERT OR IGNORE INTO meta (k, v) VALUES ('schema', ?)").run(SCHEMA_VERSION);
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  static key(layerDigest: string, selectorKey: string): string {
    return `${layerDigest}|${selectorKey}|v${LAYER_ANALYZER_VERSION}`;
  }

  get(key: string): LayerAnalysis | undefined {
    if (!this.#get) return undefined;
    try {
      const row = this.#get.get(key) as { data?: unknown } | undefined;
      if (row?.data instanceof Uint8Array) {
        const a = decodeAnalysis(Buffer.from(row.data.buffer, row.data.byteOffset, row.data.byteLength));
        this.stats.hits++;
        return a;
      }
    } catch (err) {
      this.#log.warn({ err: describeError(err) }, 'layer cache read failed; re-reading the layer');
    }
    this.stats.misses++;
    return undefined;
  }

  put(key: string, a: LayerAnalysis): void {
    if (!this.#put) return;
    try {
      this.#put.run(key, encodeAnalysis(a), Date.now());
      this.stats.writes++;
    } catch (err) {
      this.#log.warn({ err: describeError(err) }, 'layer cache write failed');
    }
  }

  getBlob(digest: string): Buffer | undefined {
    try {
      const row = this.#getBlob?.get(digest) as { data?: unknown } | undefined;
      if (row?.data instanceof Uint8Array) return Buffer.from(row.data.buffer, row.data.byteOffset, row.data.byteLength);
    } catch (err) {
      this.#log.warn({ err: describeError(err) }, 'blob cache read failed');
    }
    return undefined;
  }

  /** Only for content already verified against `digest`. */
  putBlob(digest: string, data: Buffer): void {
    try {
      this.#putBlob?.run(digest, data);
    } catch (err) {
      this.#log.warn({ err: describeError(err) }, 'blob cache write failed');
    }
  }

  close(): void {
    try {
      this.#db?.close();
    } catch {
      /* already closed */
    }
  }
}
