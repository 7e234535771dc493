/**
 * Scan results by cache key (image digest + backend identity, see ScanBackend.cacheIdentity), kept
 * in SQLite under the cache dir so a restarted server does not rescan everything it already knew.
 * One file, `<cacheDir>/server/results.sqlite`, WAL mode. A store that cannot be opened or written
 * is reported once and then ignored: persistence is an optimisation, never a reason to fail a request.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { Finding, OsInfo } from '../domain/index.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';

export interface StoredResult {
  digest: string;
  identity: string;
  /** Epoch ms. */
  scannedAt: number;
  findings: Finding[];
  os?: OsInfo;
  packages?: number;
}

export interface ResultStore {
  get(key: string, now: number): StoredResult | undefined;
  put(key: string, r: StoredResult, expiresAt: number): void;
  /** Move the expiry of a stored result (after the policy decided allow or deny). */
  expire(key: string, expiresAt: number): void;
  close(): void;
}

const SCHEMA_VERSION = 1;
/** Results larger than this are kept in memory only. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export function resultsDbPath(cacheDir: string): string {
  return join(cacheDir, 'server', 'results.sqlite');
}

export class SqliteResultStore implements ResultStore {
  readonly #db: DatabaseSync;
  readonly #log: Logger;
  readonly #get: StatementSync;
  readonly #put: StatementSync;
  readonly #expire: StatementSync;
  readonly #purge: StatementSync;
  #failed = false;
  #writes = 0;

  private constructor(db: DatabaseSync, log: Logger) {
    this.#db = db;
    this.#log = log;
    this.#get = db.prepare('SELECT digest, identity, scanned_at, body FROM results WHERE key = ? AND expires_at > ?');
    this.#put = db.prepare('INSERT OR REPLACE INTO results (key, digest, identity, scanned_at, expires_at, body) VALUES (?, ?, ?, ?, ?, ?)');
    this.#expire = db.prepare('UPDATE results SET expires_at = ? WHERE key = ?');
    this.#purge = db.prepare('DELETE FROM results WHERE expires_at <= ?');
  }

  /** Open (creating) the store; undefined when it cannot be opened (logged). */
  static open(path: string, logger: Logger): SqliteResultStore | undefined {
    const log = logger.child({ component: 'results-store' });
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const db = new DatabaseSync(path);
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 2000;');
      const row = db.prepare('PRAGMA user_version').get() as { user_version?: number } | undefined;
      if ((row?.user_version ?? 0) !== SCHEMA_VERSION) {
        db.exec('DROP TABLE IF EXISTS results');
        db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      }
      db.exec(
        'CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, digest TEXT NOT NULL, identity TEXT NOT NULL, ' +
          'scanned_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, body TEXT NOT NULL) STRICT; ' +
          'CREATE INDEX IF NOT EXISTS results_expires ON results (expires_at);',
      );
      const s = new SqliteResultStore(db, log);
      s.#purge.run(Date.now());
      return s;
    } catch (err) {
      log.warn({ err: describeError(err), path }, 'scan results store unavailable; results are kept in memory only');
      return undefined;
    }
  }

  #fail(err: unknown, what: string): void {
    if (!this.#failed) this.#log.warn({ err: describeError(err) }, `scan results store: ${what} failed; continuing without it`);
    this.#failed = true;
  }

  get(key: string, now: number): StoredResult | undefined {
    if (this.#failed) return undefined;
    try {
      const row = this.#get.get(key, now) as { digest: string; identity: string; scanned_at: number; body: string } | undefined;
      if (!row) return undefined;
      const body: unknown = JSON.parse(row.body);
      if (typeof body !== 'object' || body === null || !Array.isArray((body as { findings?: unknown }).findings)) return undefined;
      const b = body as { findings: Finding[]; os?: OsInfo; packages?: number };
      const r: StoredResult = { digest: row.digest, identity: row.identity, scannedAt: row.scanned_at, findings: b.findings };
      if (b.os) r.os = b.os;
      if (typeof b.packages === 'number') r.packages = b.packages;
      return r;
    } catch (err) {
      this.#fail(err, 'read');
      return undefined;
    }
  }

  put(key: string, r: StoredResult, expiresAt: number): void {
    if (this.#failed) return;
    try {
      const body = JSON.stringify({ findings: r.findings, os: r.os, packages: r.packages });
      if (body.length > MAX_BODY_BYTES) return;
      this.#put.run(key, r.digest, r.identity, r.scannedAt, expiresAt, body);
      if (++this.#writes % 500 === 0) this.#purge.run(Date.now());
    } catch (err) {
      this.#fail(err, 'write');
    }
  }

  expire(key: string, expiresAt: number): void {
    if (this.#failed) return;
    try {
      this.#expire.run(expiresAt, key);
    } catch (err) {
      this.#fail(err, 'update');
    }
  }

  close(): void {
    try {
      this.#db.close();
    } catch {
      /* already closed */
    }
  }
}
