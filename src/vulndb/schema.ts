/**
 * The OSV advisory DB file (`<cacheDir>/db/osv.sqlite`): its SQL schema, shared by the read-only
 * store (sqlite-store.ts) and the writer that builds a new file beside it (sqlite-writer.ts).
 * docs/vulndb.md describes every table.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { DatabaseSync } from 'node:sqlite';
import { inflateRawSync } from 'node:zlib';
import { ScannerError } from '../shared/errors.ts';

/** Bumped on an incompatible change; a file with another version is rebuilt by `db update` / `db import`. */
export const SCHEMA_VERSION = 1;

/** Records whose JSON is larger than this are stored deflate-compressed (smaller ones parse faster plain). */
export const COMPRESS_ABOVE = 8 * 1024;

export const DDL = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE advisories (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  modified TEXT NOT NULL,
  published TEXT,
  withdrawn TEXT,
  json TEXT,
  zjson BLOB
);
CREATE TABLE affected (ecosystem TEXT NOT NULL, name TEXT NOT NULL, adv INTEGER NOT NULL, PRIMARY KEY (ecosystem, name, adv)) WITHOUT ROWID;
CREATE INDEX affected_by_adv ON affected (adv);
CREATE TABLE aliases (alias TEXT NOT NULL, adv INTEGER NOT NULL, PRIMARY KEY (alias, adv)) WITHOUT ROWID;
CREATE INDEX aliases_by_adv ON aliases (adv);
CREATE TABLE members (source TEXT NOT NULL, adv INTEGER NOT NULL, PRIMARY KEY (source, adv)) WITHOUT ROWID;
CREATE INDEX members_by_adv ON members (adv);
CREATE TABLE cve_severity (
  cve TEXT PRIMARY KEY,
  severity TEXT NOT NULL,
  score REAL,
  vector TEXT,
  source TEXT NOT NULL,
  modified TEXT
) WITHOUT ROWID;
CREATE TABLE sources (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  url TEXT,
  etag TEXT,
  last_modified TEXT,
  imported_at TEXT NOT NULL,
  sha256 TEXT,
  bytes INTEGER,
  records INTEGER NOT NULL DEFAULT 0,
  withdrawn INTEGER NOT NULL DEFAULT 0,
  malformed INTEGER NOT NULL DEFAULT 0,
  malformed_sample TEXT NOT NULL DEFAULT '[]'
) WITHOUT ROWID;
CREATE TABLE updates (
  id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  command TEXT NOT NULL,
  summary TEXT NOT NULL
);
CREATE TABLE changes (
  update_id INTEGER NOT NULL,
  source TEXT NOT NULL,
  change TEXT NOT NULL,
  advisory_id TEXT NOT NULL,
  PRIMARY KEY (update_id, source, change, advisory_id)
) WITHOUT ROWID;
`;

export const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** True when the first bytes of `path` are SQLite's file header. */
export function isSqliteFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(16);
    return readSync(fd, b, 0, 16, 0) === 16 && b.equals(SQLITE_MAGIC);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The record JSON of an advisories row (plain text, or deflate-raw bytes). */
export function rowJson(json: unknown, zjson: unknown): string {
  if (typeof json === 'string') return json;
  if (zjson instanceof Uint8Array) return inflateRawSync(zjson).toString('utf8');
  throw new Error('advisory row has no data');
}

function fail(path: string, why: string, cause?: unknown): ScannerError {
  return new ScannerError(
    'VULNDB_CORRUPT',
    `the advisory DB ${path} is unusable (${why}): run \`portcullis db update\` (or \`portcullis db import PATH\` on an air-gapped host) to rebuild it`,
    { cause },
  );
}

/**
 * Cheap checks that an opened file is one of our DBs and is whole: the schema version, the tables,
 * and a file size that matches SQLite's own page count (a truncated copy is caught here, not in the
 * middle of a scan). Throws VULNDB_CORRUPT with the command that fixes it.
 */
export function checkDbFile(db: DatabaseSync, path: string): void {
  let version: string | undefined;
  try {
    const pageSize = Number((db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size);
    const pages = Number((db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count);
    const size = statSync(path).size;
    if (pages * pageSize > size) throw fail(path, `truncated: ${size} bytes, SQLite expects ${pages * pageSize}`);
    const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value?: string } | undefined;
    version = row?.value;
    db.prepare('SELECT rowid, id, modified, withdrawn, json, zjson FROM advisories LIMIT 1').all();
    db.prepare('SELECT ecosystem, name, adv FROM affected LIMIT 1').all();
    db.prepare('SELECT id, kind, records FROM sources LIMIT 1').all();
  } catch (err) {
    if (err instanceof ScannerError) throw err;
    throw fail(path, (err as Error).message, err);
  }
  if (version !== String(SCHEMA_VERSION)) throw fail(path, `schema version ${version ?? 'missing'}, this portcullis reads ${SCHEMA_VERSION}`);
}

/** Wrap an SQLite error met while reading an opened DB (a page damaged after it was opened). */
export function readFailure(path: string, err: unknown): ScannerError {
  return fail(path, (err as Error).message, err);
}
