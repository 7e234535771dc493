/**
 * `db import trivy:PATH` below the CLI: a trivy.db file, a directory (Trivy's own cache layout), or the
 * artifact's db.tar.gz; and every damaged input refused with one line while the installed DB stays.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import tar from 'tar-stream';
import { ScannerError } from '../../src/shared/errors.ts';
import { importTrivyDb, openTrivyDb, trivyDbDir, trivyDbStatus } from '../../src/vulndb/trivy/index.ts';
import { REPO_ROOT, TESTDATA } from '../helpers/paths.ts';

const DB_DIR = join(TESTDATA, 'trivy-db', 'db');
const realDb = readFileSync(join(DB_DIR, 'trivy.db'));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function tarGz(files: Record<string, Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  for (const [name, content] of Object.entries(files)) pack.entry({ name, size: content.length }, content);
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

describe('Trivy DB import from disk', () => {
  let work: string;
  let cacheDir: string;
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'pc-trivydb-import-'));
    cacheDir = join(work, 'cache');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const installed = (): string => sha(readFileSync(join(trivyDbDir(cacheDir), 'trivy.db')));

  async function refused(path: string, code: string): Promise<void> {
    const before = installed();
    await assert.rejects(importTrivyDb(path, { cacheDir }), (err: unknown) => {
      assert.ok(err instanceof ScannerError, String(err));
      assert.equal(err.code, code, err.message);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
    assert.equal(installed(), before, 'the installed DB is untouched');
    assert.deepEqual(readdirSync(cacheDir).filter((f) => f.startsWith('.trivy-db-staging')), [], 'no staging directory left');
    const db = openTrivyDb(cacheDir);
    assert.ok(db);
    db.close();
  }

  it('imports a directory holding trivy.db and metadata.json (Trivy cache layout)', async () => {
    const s = await importTrivyDb(DB_DIR, { cacheDir });
    assert.equal(s.metadata.UpdatedAt, '2023-08-23T00:00:00Z');
    assert.equal(installed(), sha(realDb));
    assert.ok(s.osBuckets > 10 && s.langBuckets > 10, JSON.stringify(s));
  });

  it('imports a bare trivy.db file and the artifact layer db.tar.gz', async () => {
    const lone = join(work, 'lone');
    mkdirSync(lone);
    copyFileSync(join(DB_DIR, 'trivy.db'), join(lone, 'trivy.db'));
    const a = await importTrivyDb(join(lone, 'trivy.db'), { cacheDir });
    assert.equal(a.metadata.Version, 2);
    const tgz = join(work, 'db.tar.gz');
    writeFileSync(tgz, await tarGz({ 'trivy.db': realDb, 'metadata.json': readFileSync(join(DB_DIR, 'metadata.json')) }));
    const b = await importTrivyDb(tgz, { cacheDir });
    assert.equal(b.metadata.NextUpdate, '2099-01-01T00:00:00Z');
    assert.equal(trivyDbStatus(cacheDir)?.vulnerabilities, b.vulnerabilities);
  });

  it('refuses a missing path', async () => {
    await refused(join(work, 'nope'), 'USER_INPUT');
  });

  it('refuses a file that is not a BoltDB file', async () => {
    const f = join(work, 'junk.db');
    writeFileSync(f, Buffer.alloc(64 * 1024, 7));
    await refused(f, 'TRIVYDB_CORRUPT');
  });

  it('refuses a truncated trivy.db', async () => {
    const f = join(work, 'short', 'trivy.db');
    mkdirSync(join(work, 'short'));
    writeFileSync(f, realDb.subarray(0, realDb.length >> 2));
    await refused(f, 'TRIVYDB_CORRUPT');
  });

  it('refuses a BoltDB file that is not a Trivy DB', async () => {
    const f = join(REPO_ROOT, 'src', 'vulndb', 'trivy', 'testdata', 'big.db.gz');
    const other = join(work, 'other.db');
    writeFileSync(other, gunzipSync(readFileSync(f)));
    await refused(other, 'TRIVYDB_SCHEMA');
  });

  it('refuses an unknown schema version', async () => {
    const d = join(work, 'v3');
    mkdirSync(d);
    copyFileSync(join(DB_DIR, 'trivy.db'), join(d, 'trivy.db'));
    writeFileSync(join(d, 'metadata.json'), '{"Version":3}');
    await refused(d, 'TRIVYDB_SCHEMA');
  });

  it('refuses a truncated db.tar.gz', async () => {
    const whole = await tarGz({ 'trivy.db': realDb });
    const f = join(work, 'cut.tar.gz');
    writeFileSync(f, whole.subarray(0, whole.length >> 1));
    await refused(f, 'TRIVYDB_ARCHIVE');
  });
});
