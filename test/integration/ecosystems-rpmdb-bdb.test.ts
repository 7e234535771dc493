/**
 * Berkeley DB rpmdbs from real CentOS 5–8 images (Debian's golang-github-knqyf263-go-rpmdb-dev ships
 * them as test data) decoded by our pure-TypeScript reader, compared with what the real `rpm`
 * (Debian's, read-only bdb backend) lists from the same files. Also: the same header blobs
 * re-packed as NDB read back identically.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { readBdbHashValues } from '../../src/ecosystems/rpm/bdb.ts';
import { readRpmDb, rpmEvr } from '../../src/ecosystems/rpm/index.ts';
import type { RpmHeaderInfo } from '../../src/ecosystems/rpm/header.ts';
import { writeNdb } from '../../src/ecosystems/rpm/testdata/ndb-writer.ts';

const run = promisify(execFile);
const ROOT = '/usr/share/gocode/src/github.com/knqyf263/go-rpmdb/pkg/testdata';
const dbs = existsSync(ROOT) ? readdirSync(ROOT).filter((d) => existsSync(join(ROOT, d, 'Packages'))) : [];
const haveRpm = existsSync('/usr/bin/rpm');
const skip = !dbs.length || !haveRpm ? 'needs apt packages rpm and golang-github-knqyf263-go-rpmdb-dev' : false;

const row = (h: RpmHeaderInfo): string =>
  [h.name, rpmEvr(h), h.arch ?? '(none)', h.sourceRpm ?? '(none)', h.license ?? '(none)', h.vendor ?? '(none)'].join('\t');

async function rpmQa(dir: string): Promise<string[]> {
  const qf = '%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{LICENSE}\t%{VENDOR}\n';
  const { stdout } = await run('rpm', ['--dbpath', dir, '--define', '_db_backend bdb_ro', '-qa', '--qf', qf], {
    maxBuffer: 64 * 1024 * 1024,
  });
  // rpm prints an explicit EPOCH 0 as '0:'; Trivy's InstalledVersion (and ours) omits a zero epoch
  return stdout.split('\n').filter((l) => l).map((l) => l.replace(/^([^\t]*\t)0:/, '$1')).sort();
}

describe('rpm Berkeley DB reader against the real rpm', { skip }, () => {
  for (const d of dbs) {
    it(`${d}: same packages as rpm -qa`, async () => {
      const buf = readFileSync(join(ROOT, d, 'Packages'));
      const got = readRpmDb(buf);
      assert.equal(got.format, 'bdb');
      assert.equal(got.bad, 0);
      // gpg-pubkey entries included: rpm -qa lists them, and so do go-rpmdb and Trivy
      const mine = got.headers.map(row).sort();
      const theirs = await rpmQa(join(ROOT, d));
      assert.ok(theirs.length > 50);
      assert.deepEqual(mine, theirs);
    });
  }

  it('the same header blobs packed as NDB read back identically', () => {
    const first = dbs[0];
    assert.ok(first);
    const buf = readFileSync(join(ROOT, first, 'Packages'));
    const blobs = readBdbHashValues(buf).filter((v) => v.length >= 24);
    // more than one slot page's worth forces several slot pages
    const many = [...blobs, ...blobs, ...blobs];
    const ndb = readRpmDb(writeNdb(many));
    assert.equal(ndb.format, 'ndb');
    assert.equal(ndb.bad, 0);
    // NDB lists packages in file order, i.e. the order they were written
    const once = readRpmDb(buf).headers.map(row);
    assert.deepEqual(ndb.headers.map(row), [...once, ...once, ...once]);
  });
});
