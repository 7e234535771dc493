/**
 * Regenerates the rpm regression fixtures here (headers written by ../header-writer.ts, packed as
 * NDB by ../ndb-writer.ts) and their expected.json in shared/testdata/pkgdb's format.
 *   npx node src/ecosystems/rpm/testdata/regress/generate.ts
 * The expected rows are written out by hand below, not produced by our reader.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHeader, type HeaderFields } from '../header-writer.ts';
import { writeNdb } from '../ndb-writer.ts';

const here = dirname(fileURLToPath(import.meta.url));

interface Row {
  name: string;
  epoch: number | null;
  version: string;
  release: string;
  arch: string | null;
  evr: string;
  source_rpm: string | null;
  source_name: string | null;
  source_version: string | null;
  license: string | null;
  vendor: string | null;
}

function emit(name: string, dbPath: string, headers: HeaderFields[], packages: Row[], notes: string, provenance: unknown[]): void {
  const dir = join(here, name);
  mkdirSync(dirname(join(dir, dbPath)), { recursive: true });
  writeFileSync(join(dir, dbPath), writeNdb(headers.map(writeHeader)));
  const out = { fixture: dbPath, format: 'rpmdb-ndb', provenance, notes, packages };
  writeFileSync(join(dir, 'expected.json'), `${JSON.stringify(out, null, 2)}\n`);
}

// Imported signing keys are stored with the literal string '(none)' in SOURCERPM and VENDOR (and
// no ARCH): `rpm -qa` prints '(none)', go-rpmdb (knqyf263/go-rpmdb pkg/package.go) and Trivy read
// it as empty. Seen in go-rpmdb's CentOS BDB test databases (pkg/rpmdb_testcase.go, gpg-pubkey rows).
// An explicit EPOCH 0 is no epoch: rpm compares 0 and none equal, and go-rpmdb's CentOS test lists
// (pkg/rpmdb_testcase.go) and Trivy's Epoch write 0 for both, so the shared format's null stands for it.
emit(
  'rpm-none-tags',
  'var/lib/rpm/Packages.db',
  [
    { name: 'gpg-pubkey', version: '5a6340b3', release: '6229229e', license: 'pubkey', sourceRpm: '(none)', vendor: '(none)' },
    { name: 'tzdata', version: '2024a', release: '1.el9', arch: 'noarch', sourceRpm: 'tzdata-2024a-1.el9.src.rpm', license: 'Public Domain', vendor: 'Example Vendor' },
    { name: 'openssl-libs', epoch: 1, version: '3.0.7', release: '27.el9', arch: 'x86_64', sourceRpm: 'openssl-3.0.7-27.el9.src.rpm', license: 'Apache-2.0', vendor: 'Example Vendor' },
    { name: 'perl-Errno', epoch: 0, version: '1.30', release: '481.el9', arch: 'x86_64', sourceRpm: 'perl-5.32.1-481.el9.src.rpm', license: 'GPL+ or Artistic', vendor: 'Example Vendor' },
  ],
  [
    { name: 'gpg-pubkey', epoch: null, version: '5a6340b3', release: '6229229e', arch: null, evr: '5a6340b3-6229229e', source_rpm: null, source_name: null, source_version: null, license: 'pubkey', vendor: null },
    { name: 'tzdata', epoch: null, version: '2024a', release: '1.el9', arch: 'noarch', evr: '2024a-1.el9', source_rpm: 'tzdata-2024a-1.el9.src.rpm', source_name: 'tzdata', source_version: '2024a-1.el9', license: 'Public Domain', vendor: 'Example Vendor' },
    { name: 'openssl-libs', epoch: 1, version: '3.0.7', release: '27.el9', arch: 'x86_64', evr: '1:3.0.7-27.el9', source_rpm: 'openssl-3.0.7-27.el9.src.rpm', source_name: 'openssl', source_version: '3.0.7-27.el9', license: 'Apache-2.0', vendor: 'Example Vendor' },
    { name: 'perl-Errno', epoch: null, version: '1.30', release: '481.el9', arch: 'x86_64', evr: '1.30-481.el9', source_rpm: 'perl-5.32.1-481.el9.src.rpm', source_name: 'perl', source_version: '5.32.1-481.el9', license: 'GPL+ or Artistic', vendor: 'Example Vendor' },
  ],
  "Headers written for this fixture. gpg-pubkey's SOURCERPM and VENDOR hold the literal '(none)' rpm writes for imported keys; they are absent, not values. perl-Errno's header has an explicit EPOCH 0: no epoch.",
  [{ repo: 'knqyf263/go-rpmdb', path: 'pkg/package.go, pkg/rpmdb_testcase.go (gpg-pubkey rows)', license: 'MIT', expected_from: 'behaviour only; data written for this fixture' }],
);
