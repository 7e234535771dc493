/**
 * Whole-image inventories cached by what they were made from (`<cacheDir>/inventories.sqlite`), so a
 * warm scan of an image seen before reads its manifest and config and nothing else — as Trivy's
 * artifact cache does. The key is the image layer's `imageKey` (config digest, every layer's verified
 * cache key and id, the file selector's key, the layer analyzer's version: src/image/analyze.ts) plus
 * the identity of the code that turns layers into packages: every source file of src/image,
 * src/ecosystems, src/domain and src/shared by path, size and mtime (about 90 stats, ~1 ms), and the
 * Portcullis version — or, when the CLI runs from its start-up bundle (which the launcher checked is
 * fresh), the bundle's id, the hash of its code. Change any of them and the entry is never found again. The artifact itself is
 * never cached (names and tags differ between scans of the same image); rootfs targets have no key.
 * A broken cache file is discarded and rebuilt; a cache that cannot be opened is just not used.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Inventory } from '../domain/index.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { VERSION } from '../shared/version.ts';

/** Bump when the cached form changes. */
const FORMAT = 1;
/** Entries kept (most recently used); each is one image's packages, tens to hundreds of KB. */
const MAX_ENTRIES = 500;
const CODE_DIRS = ['image', 'ecosystems', 'domain', 'shared'] as const;

export type CachedInventory = Pick<Inventory, 'packages' | 'notes' | 'os'>;

let codeId: string | undefined | null = null;

/**
 * The identity of the code that makes inventories (memoised for this process), or undefined when its
 * files cannot be read. `srcDir` (tests) hashes that tree instead, unmemoised.
 */
export function inventoryCodeId(srcDir?: string): string | undefined {
  if (srcDir !== undefined) return sourceTreeId(srcDir);
  if (codeId !== null) return codeId;
  // Run from the start-up bundle (bin/portcullis.js checked it is fresh): its id hashes its code.
  const build = (globalThis as Record<symbol, unknown>)[Symbol.for('portcullis.build')];
  codeId =
    typeof build === 'string' && /^[0-9a-f]{16}$/.test(build)
      ? createHash('sha256').update(`${FORMAT}|${VERSION}|bundle ${build}`).digest('hex')
      : sourceTreeId(fileURLToPath(new URL('..', import.meta.url)));
  return codeId;
}

/** Path, size and mtime of every source file under CODE_DIRS (never entering testdata/). */
function sourceTreeId(srcDir: string): string | undefined {
  try {
    const h = createHash('sha256').update(`${FORMAT}|${VERSION}`);
    const walk = (rel: string): void => {
      const entries = readdirSync(join(srcDir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        const r = `${rel}/${e.name}`;
        if (e.isDirectory()) {
          if (e.name !== 'testdata') walk(r);
        } else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
          const st = statSync(join(srcDir, r));
          h.update(`|${r}:${st.size}:${st.mtimeMs}`);
        }
      }
    };
    for (const dir of CODE_DIRS) walk(dir);
    return h.digest('hex');
  } catch {
    return undefined;
  }
}

export class InventoryCache {
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #touch: StatementSync;
  readonly #put: StatementSync;
  readonly #prune: StatementSync;
  readonly #code: string;

  private constructor(db: DatabaseSync, code: string) {
    this.#db = db;
    this.#code = code;
    this.#get = db.prepare('SELECT data FROM inventories WHERE key = ?');
    this.#touch = db.prepare('UPDATE inventories SET used = ? WHERE key = ?');
    this.#put = db.prepare('INSERT OR REPLACE INTO inventories (key, data, used) VALUES (?, ?, ?)');
    this.#prune = db.prepare('DELETE FROM inventories WHERE key NOT IN (SELECT key FROM inventories ORDER BY used DESC LIMIT ?)');
  }

  /** The cache in `cacheDir`, or undefined when it cannot be used (logged at debug/warn). */
  static async open(cacheDir: string, log: Logger): Promise<InventoryCache | undefined> {
    const code = inventoryCodeId();
    if (!code) {
      log.debug({}, 'inventory cache off: the source files are not readable');
      return undefined;
    }
    const { DatabaseSync: Db } = await import('node:sqlite');
    const file = join(cacheDir, 'inventories.sqlite');
    for (let attempt = 0; attempt < 2; attempt++) {
      let db: DatabaseSync | undefined;
      try {
        mkdirSync(cacheDir, { recursive: true });
        db = new Db(file, { timeout: 5000 });
        db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
        db.exec('CREATE TABLE IF NOT EXISTS inventories (key TEXT PRIMARY KEY, data TEXT NOT NULL, used INTEGER NOT NULL)');
        return new InventoryCache(db, code);
      } catch (err) {
        db?.close();
        log.warn({ err: describeError(err), file }, 'inventory cache unusable; discarding it');
        for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
      }
    }
    return undefined;
  }

  #key(imageKey: string): string {
    return createHash('sha256').update(`${imageKey}|${this.#code}`).digest('hex');
  }

  get(imageKey: string): CachedInventory | undefined {
    const key = this.#key(imageKey);
    try {
      const row = this.#get.get(key) as { data?: unknown } | undefined;
      if (typeof row?.data !== 'string') return undefined;
      const v = JSON.parse(row.data) as CachedInventory;
      if (!Array.isArray(v.packages) || !Array.isArray(v.notes)) return undefined;
      this.#touch.run(Date.now(), key);
      return v;
    } catch {
      return undefined;
    }
  }

  put(imageKey: string, inv: CachedInventory): void {
    try {
      const data: CachedInventory = { packages: inv.packages, notes: inv.notes };
      if (inv.os) data.os = inv.os;
      this.#put.run(this.#key(imageKey), JSON.stringify(data), Date.now());
      this.#prune.run(MAX_ENTRIES);
    } catch {
      // a full disk or a locked file costs the next scan its shortcut, nothing else
    }
  }

  close(): void {
    try {
      this.#db.close();
    } catch {
      // closed already
    }
  }
}
