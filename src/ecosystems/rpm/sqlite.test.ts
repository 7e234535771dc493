import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { MemoryFs } from '../../domain/index.ts';
import { TESTDATA } from '../../../test/helpers/paths.ts';
import { rpmCataloger } from './index.ts';

const MARINER = join(TESTDATA, 'pkgdb/rpm-go-rpmdb-cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite');

describe('rpm sqlite backend', () => {
  it('applies a non-checkpointed write-ahead log, as rpm itself would see the database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-test-'));
    try {
      const path = join(dir, 'rpmdb.sqlite');
      copyFileSync(MARINER, path);
      const db = new DatabaseSync(path);
      db.exec('PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; PRAGMA foreign_keys=OFF;');
      // "rpm -e" of every package whose header mentions curl: a transaction that lives only in the WAL
      const before = db.prepare('SELECT count(*) AS n FROM Packages').get()?.['n'];
      db.exec("DELETE FROM Packages WHERE instr(CAST(blob AS TEXT), 'curl') > 0");
      const main = readFileSync(path);
      const wal = readFileSync(`${path}-wal`);
      assert.ok(wal.length > 32, 'the WAL holds the deletion');
      const mk = (p: string, c: Buffer) => ({ path: p, content: c, mode: 0o100644, size: c.length });
      const withWal = await rpmCataloger.catalog(new MemoryFs([mk('var/lib/rpm/rpmdb.sqlite', main), mk('var/lib/rpm/rpmdb.sqlite-wal', wal)]), { notes: [] });
      const without = await rpmCataloger.catalog(new MemoryFs([mk('var/lib/rpm/rpmdb.sqlite', main)]), { notes: [] });
      db.close();
      assert.equal(without.length, before);
      assert.ok(without.some((p) => p.name === 'curl'));
      assert.equal(withWal.some((p) => p.name === 'curl'), false);
      assert.ok(withWal.length < without.length && withWal.length > 100);
      // the temporary copy is gone
      assert.equal(readdirSync(tmpdir()).filter((n) => n.startsWith('portcullis-rpmdb-')).length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
