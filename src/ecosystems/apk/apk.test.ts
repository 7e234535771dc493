import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitLicenses } from '../os/licenses.ts';
import { parseApkInstalled, toApkPackage } from './index.ts';

describe('apk', () => {
  it('licenses are split and normalised as Trivy does', () => {
    assert.deepEqual(splitLicenses('MIT BSD GPL2+'), ['MIT', 'BSD-3-Clause', 'GPL-2.0-or-later']);
    assert.deepEqual(splitLicenses('( Apache-2.0 OR MIT ) AND MPL-2.0'), ['Apache-2.0', 'MIT', 'MPL-2.0']);
    assert.deepEqual(splitLicenses('GPL-2.0-or-later WITH Linux-syscall-note'), ['GPL-2.0-or-later WITH Linux-syscall-note']);
    assert.deepEqual(splitLicenses('openssl zlib GPL'), ['OpenSSL', 'Zlib', 'GPL-2.0-or-later']);
  });

  it('skips stanzas without a version; no trailing blank line needed', () => {
    const recs = parseApkInstalled('P:nover\nA:x86_64\n\nP:musl\nV:1.2.4-r2\nA:aarch64\nm:Maintainer <m@example.org>\no:musl');
    assert.deepEqual(recs.map((r) => r.name), ['musl']);
    const p = toApkPackage(recs[0]!, { family: 'wolfi', version: '20230201' }, 'sha256:abc');
    assert.equal(p.purl, 'pkg:apk/wolfi/musl@1.2.4-r2?arch=aarch64&distro=20230201');
    assert.deepEqual(p.locations, [{ path: 'lib/apk/db/installed', layer: 'sha256:abc' }]);
    assert.equal(p.extra?.['maintainer'], 'Maintainer <m@example.org>');
  });
});
