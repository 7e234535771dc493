/**
 * Regenerates the NDB fixtures here from real rpm header blobs (the shared CBL-Mariner 2.0 sqlite
 * rpmdb, MIT, from knqyf263/go-rpmdb), and their expected.json in shared/testdata/pkgdb's format.
 *   node src/ecosystems/rpm/testdata/generate.ts
 * Expected lists come from the shared fixture's expected.json (independently decoded), not from
 * our reader.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSqliteBlobs } from '../sqlite.ts';
import { writeNdb } from './ndb-writer.ts';

const here = dirname(fileURLToPath(import.meta.url));
const shared = process.env['PORTCULLIS_SHARED'] ?? join(here, '../../../../../shared');
const src = join(shared, 'testdata/pkgdb/rpm-go-rpmdb-cbl-mariner-2.0');
const expected = JSON.parse(readFileSync(join(src, 'expected.json'), 'utf8')) as { packages: { name: string }[] };
const all = readSqliteBlobs(readFileSync(join(src, 'var/lib/rpm/rpmdb.sqlite'))).map((b) => b.blob);
// Keep the fixtures small: a slice of the database; expected.json rows are in the same (hnum) order.
const N = 24;
const blobs = all.slice(0, N);
expected.packages = expected.packages.slice(0, N);

function emit(name: string, dbPath: string, db: Buffer, note: string): void {
  const dir = join(here, name);
  mkdirSync(dirname(join(dir, dbPath)), { recursive: true });
  writeFileSync(join(dir, dbPath), db);
  const out = {
    fixture: dbPath,
    format: 'rpmdb-ndb',
    os: { family: 'cbl-mariner', version: '2.0' },
    provenance: [{ repo: 'knqyf263/go-rpmdb', path: 'pkg/testdata/cbl-mariner-2.0/rpmdb.sqlite', license: 'MIT', expected_from: 'shared/testdata/pkgdb/rpm-go-rpmdb-cbl-mariner-2.0/expected.json' }],
    notes: note,
    packages: expected.packages,
  };
  writeFileSync(join(dir, 'expected.json'), `${JSON.stringify(out, null, 2)}\n`);
}

emit('ndb-mariner-sysimage', 'usr/lib/sysimage/rpm/Packages.db', writeNdb(blobs), 'NDB written by ndb-writer.ts from the real header blobs; one slot page.');
// same packages with free slots in between and three slot pages (as after removals / many installs)
emit('ndb-mariner-freeslots', 'var/lib/rpm/Packages.db', writeNdb(blobs, { freeSlots: [2, 3, 7, 255, 256, 300, 600], slotPages: 3 }), 'NDB with free slots and several slot pages.');
