/**
 * rpm's sqlite backend (rpm ≥ 4.16: `rpmdb.sqlite`, table Packages(hnum INTEGER PRIMARY KEY, blob BLOB)).
 * Opened from memory with node:sqlite's deserialize, read-only use, nothing written to disk.
 */
import { DatabaseSync } from 'node:sqlite';
import { RpmDbError } from './bdb.ts';

const SQLITE_MAGIC = 'SQLite format 3\0';

export function isSqlite(buf: Uint8Array): boolean {
  return buf.length >= 16 && Buffer.from(buf.buffer, buf.byteOffset, 16).toString('latin1') === SQLITE_MAGIC;
}

export function readSqliteBlobs(buf: Uint8Array): { pkgIndex: number; blob: Uint8Array }[] {
  if (!isSqlite(buf)) throw new RpmDbError('not an SQLite database (bad magic)');
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
    const out: { pkgIndex: number; blob: Uint8Array }[] = [];
    let rows: Iterable<Record<string, unknown>>;
    try {
      rows = db.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum').iterate();
      for (const row of rows) {
        const blob = row['blob'];
        const hnum = row['hnum'];
        if (!(blob instanceof Uint8Array)) continue;
        out.push({ pkgIndex: typeof hnum === 'number' ? hnum : Number(hnum), blob });
      }
    } catch (err) {
      throw new RpmDbError(`cannot read SQLite rpmdb: ${err instanceof Error ? err.message : String(err)}`);
    }
    return out;
  } finally {
    db.close();
  }
}
