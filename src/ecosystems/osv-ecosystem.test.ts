import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OsInfo, Package, PackageType } from '../domain/index.ts';
import { matchName, matchVersion, osvEcosystem } from './osv-ecosystem.ts';

const pkg = (type: PackageType, extra: Partial<Package> = {}): Package => ({ type, name: 'libssl3', version: '3.0.11-1~deb12u2+b1', purl: 'pkg:x/y', locations: [], ...extra });

describe('osvEcosystem', () => {
  const os = (family: OsInfo['family'], version: string, more: Partial<OsInfo> = {}): OsInfo => ({ family, version, ...more });
  const cases: [OsInfo, PackageType, string | undefined][] = [
    [os('debian', '12.5'), 'deb', 'Debian:12'],
    [os('debian', 'trixie/sid'), 'deb', 'Debian:13'],
    [os('debian', '9.9', { distroless: true }), 'deb', 'Debian:9'],
    [os('ubuntu', '22.04'), 'deb', 'Ubuntu:22.04:LTS'],
    [os('ubuntu', '23.10'), 'deb', 'Ubuntu:23.10'],
    [os('ubuntu', '18.04'), 'deb', 'Ubuntu:18.04:LTS'],
    [os('alpine', '3.19.1'), 'apk', 'Alpine:v3.19'],
    [os('rocky', '9.3'), 'rpm', 'Rocky Linux:9'],
    [os('alma', '8.9'), 'rpm', 'AlmaLinux:8'],
    [os('photon', '3.0'), 'rpm', 'Photon OS:3.0'],
    [os('wolfi', '20230201'), 'apk', 'Wolfi'],
    [os('chainguard', '20230214'), 'apk', 'Chainguard'],
    [os('azurelinux', '3.0'), 'rpm', 'Azure Linux:3'],
    // OSV: 'openSUSE:Leap 15.5', 'openSUSE:Tumbleweed', 'SUSE:Linux Enterprise Server 15 SP5' (PRETTY_NAME without the vendor)
    [os('opensuse.leap', '15.5', { prettyName: 'openSUSE Leap 15.5' }), 'rpm', 'openSUSE:Leap 15.5'],
    [os('opensuse.leap', '15.6'), 'rpm', 'openSUSE:Leap 15.6'],
    [os('opensuse.tumbleweed', '20240801', { prettyName: 'openSUSE Tumbleweed' }), 'rpm', 'openSUSE:Tumbleweed'],
    [os('suse linux enterprise server', '15.5', { prettyName: 'SUSE Linux Enterprise Server 15 SP5' }), 'rpm', 'SUSE:Linux Enterprise Server 15 SP5'],
    [os('suse linux enterprise server', '15.5'), 'rpm', 'SUSE:Linux Enterprise Server 15 SP5'],
    [os('suse linux enterprise server', '15'), 'rpm', 'SUSE:Linux Enterprise Server 15'],
    [os('suse linux enterprise micro', '5.5', { prettyName: 'SUSE Linux Enterprise Micro 5.5' }), 'rpm', 'SUSE:Linux Enterprise Micro 5.5'],
    [os('centos', '7.6.1810'), 'rpm', undefined],
    [os('amazon', '2 (Karoo)'), 'rpm', undefined],
  ];
  for (const [o, t, want] of cases) it(`${o.family} ${o.version} → ${String(want)}`, () => assert.equal(osvEcosystem(pkg(t), o), want));

  it('language packages map to their registry, whatever the OS', () => {
    assert.equal(osvEcosystem(pkg('node-pkg')), 'npm');
    assert.equal(osvEcosystem(pkg('yarn')), 'npm');
    assert.equal(osvEcosystem(pkg('python-pkg')), 'PyPI');
    assert.equal(osvEcosystem(pkg('gradle')), 'Maven');
    assert.equal(osvEcosystem(pkg('pub')), 'Pub');
    assert.equal(osvEcosystem(pkg('hex')), 'Hex');
    assert.equal(osvEcosystem(pkg('cocoapods')), undefined);
    assert.equal(osvEcosystem(pkg('poetry')), 'PyPI');
    assert.equal(osvEcosystem(pkg('gobinary')), 'Go');
    assert.equal(osvEcosystem(pkg('jar')), 'Maven');
    assert.equal(osvEcosystem(pkg('cargo')), 'crates.io');
    assert.equal(osvEcosystem(pkg('bundler')), 'RubyGems');
    assert.equal(osvEcosystem(pkg('nuget')), 'NuGet');
    assert.equal(osvEcosystem(pkg('composer')), 'Packagist');
  });

  it('an OS package without a detected OS has no ecosystem', () => assert.equal(osvEcosystem(pkg('deb')), undefined));
});

describe('matchName / matchVersion', () => {
  const deb = pkg('deb', { source: { name: 'openssl', version: '3.0.11-1~deb12u2' } });
  it('Debian and Ubuntu match the source package and its version', () => {
    assert.equal(matchName(deb, { family: 'debian', version: '12' }), 'openssl');
    assert.equal(matchVersion(deb, { family: 'debian', version: '12' }), '3.0.11-1~deb12u2');
  });
  it('Alpine matches the origin', () => {
    const apk = pkg('apk', { name: 'libcrypto3', version: '3.1.4-r5', source: { name: 'openssl', version: '3.1.4-r5' } });
    assert.equal(matchName(apk, { family: 'alpine', version: '3.19.1' }), 'openssl');
    assert.equal(matchName({ ...apk, source: undefined } as unknown as Package, { family: 'alpine', version: '3.19.1' }), 'libcrypto3');
  });
  it('Wolfi matches binary names; language packages their own name', () => {
    const apk = pkg('apk', { name: 'libcrypto3', source: { name: 'openssl', version: '1' } });
    assert.equal(matchName(apk, { family: 'wolfi', version: '1' }), 'libcrypto3');
    assert.equal(matchName(pkg('npm', { name: 'lodash' })), 'lodash');
  });
});
