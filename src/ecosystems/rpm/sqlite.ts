/**
 * rpm's sqlite backend (rpm ≥ 4.16: `rpmdb.sqlite`, table Packages(hnum INTEGER PRIMARY KEY, blob BLOB)).
 * Opened from memory with node:sqlite's deserialize; only when the image carries a non-empty
 * write-ahead log (`rpmdb.sqlite-wal`, transactions not yet checkpointed) are the two files written
 * to a private temporary directory so SQLite can apply the log; the directory is always removed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { RpmDbError } from './bdb.ts';

/** A WAL file is a 32-byte header plus frames; anything shorter holds no transactions. */
const WAL_HEADER = 32;

const SQLITE_MAGIC = 'SQLite format 3\0';

export function isSqlite(buf: Uint8Array): boolean {
  return buf.length >= 16 && Buffer.from(buf.buffer, buf.byteOffset, 16).toString('latin1') === SQLITE_MAGIC;
}

function readRows(db: DatabaseSync): { pkgIndex: number; blob: Uint8Array }[] {
  const out: { pkgIndex: number; blob: Uint8Array }[] = [];
  try {
    for (const row of db.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum').iterate()) {
      const blob = row['blob'];
      const hnum = row['hnum'];
      if (!(blob instanceof Uint8Array)) continue;
      out.push({ pkgIndex: typeof hnum === 'number' ? hnum : Number(hnum), blob });
    }
  } catch (err) {
    throw new RpmDbError(`cannot read SQLite rpmdb: ${err instanceof Error ? err.message : String(err)}`);
  }
  return out;
}

function readWithWal(buf: Uint8Array, wal: Uint8Array): { pkgIndex: number; blob: Uint8Array }[] {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-rpmdb-'));
  try {
    const path = join(dir, 'rpmdb.sqlite');
    writeFileSync(path, buf);
    writeFileSync(`${path}-wal`, wal);
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (err) {
      throw new RpmDbError(`cannot open SQLite rpmdb: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      return readRows(db);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function readSqliteBlobs(buf: Uint8Array, wal?: Uint8Array): { pkgIndex: number; blob: Uint8Array }[] {
  if (!isSqlite(buf)) throw new RpmDbError('not an SQLite database (bad magic)');
  if (wal && wal.length > WAL_HEADER) return readWithWal(buf, wal);
  const db = new DatabaseSync(':memory:');
  try {
    try {
      // rpm keeps its sqlite database in WAL mode (header bytes 18/19 = 2), which an in-memory
      // database cannot open; reading needs no journal, so present it as a rollback-journal file.
      let image = buf;
      if (buf.length > 19 && (buf[18] === 2 || buf[19] === 2)) {
        image = Uint8Array.from(buf);
        image[18] = 1;
        image[19] = 1;
      }
      db.deserialize(image);
    } catch (err) {
      throw new RpmDbError(`cannot open SQLite rpmdb: ${err instanceof Error ? err.message : String(err)}`);
    }
    return readRows(db);
  } finally {
    db.close();
  }
}
