import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { TESTDATA } from '../../../test/helpers/paths.ts';
import { BoltDb } from './bolt.ts';

const here = new URL('.', import.meta.url).pathname;
let dir: string;
let bigPath: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bolt-'));
  bigPath = join(dir, 'big.db');
  // big.db is written by the real bbolt (testdata/boltgen/main.go); see that file for the formulas.
  writeFileSync(bigPath, gunzipSync(readFileSync(join(here, 'testdata', 'big.db.gz'))));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('BoltDb on a file written by the real bbolt', () => {
  it('reads 3000 keys across branch pages, in order, with exact values', () => {
    const db = BoltDb.open(bigPath);
    const small = db.bucketPath('small');
    assert.ok(small);
    const entries = [...small.entries()];
    assert.equal(entries.length, 3000);
    entries.forEach((e, i) => {
      assert.equal(e.key.toString(), `key-${String(i).padStart(5, '0')}`);
      assert.equal(e.value?.toString(), `value-${i}-${'x'.repeat(i % 50)}`);
    });
    for (const i of [0, 1, 1499, 2047, 2999]) assert.equal(small.get(`key-${String(i).padStart(5, '0')}`)?.toString(), `value-${i}-${'x'.repeat(i % 50)}`);
    assert.equal(small.get('key-03000'), undefined);
    assert.equal(small.get('a'), undefined);
    assert.equal(small.get('zzz'), undefined);
    db.close();
  });

  it('reads values stored on overflow pages', () => {
    const db = BoltDb.open(bigPath);
    const large = db.bucketPath('large');
    assert.ok(large);
    for (let i = 0; i < 40; i++) {
      const v: Buffer | undefined = large.get(`big-${String(i).padStart(2, '0')}`);
      assert.equal(v?.length, 5000 + i * 500);
      assert.equal(v?.toString(), String.fromCharCode(97 + (i % 26)).repeat(5000 + i * 500));
    }
    db.close();
  });

  it('opens inline and page-backed nested buckets', () => {
    const db = BoltDb.open(bigPath);
    const nested = db.bucketPath('nested');
    assert.ok(nested);
    const names = [...nested.buckets()].map(([n]) => n);
    assert.equal(names.length, 600);
    for (const i of [0, 1, 10, 333, 590, 599]) {
      const b = nested.bucket(`pkg-${String(i).padStart(4, '0')}`);
      assert.ok(b, `pkg-${i}`);
      const keys: string[] = [...b.keys()];
      assert.equal(keys.length, i % 10 === 0 ? 300 : 2);
      assert.equal(b.get('CVE-2024-00001')?.toString(), `{"FixedVersion":"${i}.1"}`);
    }
    assert.equal(nested.get('pkg-0000'), undefined, 'a bucket is not a plain value');
    assert.equal(nested.bucket('pkg-9999'), undefined);
    db.close();
  });
});

describe('BoltDb on the Trivy fixture DB', () => {
  it('lists trivy-db buckets and reads an advisory', () => {
    const db = BoltDb.open(join(TESTDATA, 'trivy-db', 'db', 'trivy.db'));
    const roots = [...db.root().buckets()].map(([n]) => n);
    assert.ok(roots.includes('alpine 3.10'));
    assert.ok(roots.includes('vulnerability'));
    const adv = db.bucketPath('alpine 3.10', 'openssl')?.get('CVE-2019-1549');
    assert.deepEqual(JSON.parse(adv?.toString() ?? 'null'), { FixedVersion: '1.1.1d-r0' });
    db.close();
  });
});

describe('BoltDb refuses bad files with one clear error', () => {
  it('a missing file', () => {
    assert.throws(() => BoltDb.open(join(dir, 'nope.db')), { code: 'TRIVYDB_OPEN', message: /cannot open .*nope\.db: ENOENT/ });
  });
  it('a file that is not BoltDB', () => {
    const p = join(dir, 'text.db');
    writeFileSync(p, 'hello '.repeat(2000));
    assert.throws(() => BoltDb.open(p), { code: 'TRIVYDB_CORRUPT', message: /no BoltDB magic/ });
  });
  it('a truncated file', () => {
    const p = join(dir, 'trunc.db');
    copyFileSync(bigPath, p);
    truncateSync(p, 1024 * 1024);
    assert.throws(() => BoltDb.open(p), { code: 'TRIVYDB_CORRUPT', message: /truncated/ });
  });
  it('damaged meta pages', () => {
    const p = join(dir, 'meta.db');
    const buf = readFileSync(bigPath);
    buf[16 + 20] = (buf[16 + 20] ?? 0) ^ 0xff; // meta 0 body
    buf[4096 + 16 + 20] = (buf[4096 + 16 + 20] ?? 0) ^ 0xff; // meta 1 body
    writeFileSync(p, buf);
    assert.throws(() => BoltDb.open(p), { code: 'TRIVYDB_CORRUPT', message: /checksum/ });
  });
  it('garbage pages never crash or loop: every failure is a TRIVYDB_CORRUPT error', () => {
    const buf = readFileSync(bigPath);
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let round = 0; round < 30; round++) {
      const copy = Buffer.from(buf);
      for (let k = 0; k < 200; k++) copy[8192 + Math.floor(rnd() * (copy.length - 8192))] = Math.floor(rnd() * 256);
      const p = join(dir, `fuzz-${round}.db`);
      writeFileSync(p, copy);
      const db = BoltDb.open(p);
      try {
        for (const [, b] of db.root().buckets()) for (const _e of b.entries()) void _e;
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'TRIVYDB_CORRUPT', String(err));
      } finally {
        db.close();
      }
    }
  });
});
