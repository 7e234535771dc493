import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFs } from '../../domain/index.ts';
import { catalogFs } from '../index.ts';

// `rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\t%{INSTALLTIME}\t%{BUILDTIME}\t%{VENDOR}\t(none)\t%{SIZE}\t%{ARCH}\t%{EPOCHNUM}\t%{SOURCERPM}\n'`
const MANIFEST = [
  'mariner-release\t2.0-12.cm2\t1653816591\t1653753130\tMicrosoft Corporation\t(none)\t580\tnoarch\t0\tmariner-release-2.0-12.cm2.src.rpm',
  'ca-certificates-base\t2.0.0-1.cm2\t1653816592\t1653753131\tMicrosoft Corporation\t(none)\t1200\tnoarch\t1\tca-certificates-2.0.0-1.cm2.src.rpm',
  'openssl-libs\t1.1.1k-15.cm2\t1653816593\t1653753132\tMicrosoft Corporation\t(none)\t3000000\tx86_64\t0\topenssl-1.1.1k-15.cm2.src.rpm',
  'broken line without tabs',
  '',
].join('\n');

const file = (path: string, text: string) => ({ path, content: Buffer.from(text), mode: 0o100644, size: Buffer.byteLength(text) });

describe('CBL-Mariner distroless container-manifest-2', () => {
  it('lists the packages with epoch, source rpm and vendor, and notes malformed lines', async () => {
    const res = await catalogFs(new MemoryFs([file('etc/mariner-release', 'CBL-Mariner 2.0.20220527\n'), file('var/lib/rpmmanifest/container-manifest-2', MANIFEST)]));
    assert.deepEqual(res.os, { family: 'cbl-mariner', version: '2.0.20220527' });
    assert.deepEqual(
      res.packages.map((p) => [p.name, p.version, p.arch, p.source?.name, p.source?.version, p.extra?.['vendor']]),
      [
        ['mariner-release', '2.0-12.cm2', 'noarch', 'mariner-release', '2.0-12.cm2', 'Microsoft Corporation'],
        ['ca-certificates-base', '1:2.0.0-1.cm2', 'noarch', 'ca-certificates', '2.0.0-1.cm2', 'Microsoft Corporation'],
        ['openssl-libs', '1.1.1k-15.cm2', 'x86_64', 'openssl', '1.1.1k-15.cm2', 'Microsoft Corporation'],
      ],
    );
    assert.equal(res.packages[2]?.purl, 'pkg:rpm/cbl-mariner/openssl-libs@1.1.1k-15.cm2?arch=x86_64&distro=cbl-mariner-2.0.20220527');
    assert.equal(res.complete, false);
    assert.match(res.notes.join('\n'), /1 malformed line\(s\) skipped in var\/lib\/rpmmanifest\/container-manifest-2/);
  });

  it('is ignored when a real rpm database is present', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { TESTDATA } = await import('../../../test/helpers/paths.ts');
    const db = readFileSync(join(TESTDATA, 'pkgdb/rpm-syft-bdb-dive/var/lib/rpm/Packages'));
    const fs = new MemoryFs([
      { path: 'var/lib/rpm/Packages', content: db, mode: 0o100644, size: db.length },
      file('var/lib/rpmmanifest/container-manifest-2', MANIFEST),
    ]);
    const res = await catalogFs(fs);
    assert.deepEqual(res.packages.map((p) => p.name), ['dive']);
  });
});
