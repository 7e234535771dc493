import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFs, type OsInfo } from '../../domain/index.ts';
import { catalogFs } from '../index.ts';
import { esmEnabled, parseAmazonRelease, parseMarinerRelease, parseRedhatRelease, parseSystemReleaseCpe } from './detectors.ts';

const tree = (files: Record<string, string>): MemoryFs =>
  new MemoryFs(Object.entries(files).map(([path, text]) => ({ path, content: Buffer.from(text), mode: 0o100644, size: text.length })));

async function detect(files: Record<string, string>): Promise<OsInfo | undefined> {
  return (await catalogFs(tree(files))).os;
}

describe('OS detection', () => {
  const cases: [string, Record<string, string>, Partial<OsInfo> | undefined][] = [
    ['alpine full version from alpine-release', { 'etc/alpine-release': '3.19.1\n', 'etc/os-release': 'ID=alpine\nVERSION_ID=3.19.1\n' }, { family: 'alpine', version: '3.19.1' }],
    ['alpine with its apk repositories release', { 'etc/alpine-release': '3.17_alpha20220809\n', 'etc/apk/repositories': 'https://dl-cdn.alpinelinux.org/alpine/edge/main\n' }, { family: 'alpine', version: '3.17_alpha20220809', repository: { family: 'alpine', release: 'edge' } }],
    ['alpine repositories: the newest release wins', { 'etc/alpine-release': '3.9.4\n', 'etc/apk/repositories': '# comment\nhttp://dl-cdn.alpinelinux.org/alpine/v3.9/main\nhttp://mirror.example/alpine/v3.10/community\n/local/repo\n' }, { family: 'alpine', version: '3.9.4', repository: { family: 'alpine', release: '3.10' } }],
    ['alpine from os-release alone', { 'usr/lib/os-release': 'ID=alpine\nVERSION_ID=3.20.0\n' }, { family: 'alpine', version: '3.20.0' }],
    ['ubuntu from lsb-release, not debian_version', { 'etc/lsb-release': 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\n', 'etc/debian_version': 'bookworm/sid\n' }, { family: 'ubuntu', version: '22.04', codename: 'jammy' }],
    ['ubuntu from os-release only', { 'etc/os-release': 'ID=ubuntu\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\n', 'etc/debian_version': 'trixie/sid\n' }, { family: 'ubuntu', version: '24.04' }],
    ['debian point release', { 'etc/debian_version': '12.5\n', 'etc/os-release': 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n' }, { family: 'debian', version: '12.5', codename: 'bookworm' }],
    ['debian testing kept verbatim as Trivy does', { 'etc/debian_version': 'trixie/sid\n', 'etc/os-release': 'ID=debian\nVERSION_CODENAME=trixie\n' }, { family: 'debian', version: 'trixie/sid' }],
    ['debian from os-release when debian_version is missing', { 'etc/os-release': 'ID=debian\nVERSION_ID="11"\n' }, { family: 'debian', version: '11' }],
    ['amazon linux 2', { 'etc/system-release': 'Amazon Linux release 2 (Karoo)\n' }, { family: 'amazon', version: '2 (Karoo)' }],
    ['amazon linux 1', { 'etc/system-release': 'Amazon Linux AMI release 2018.03\n' }, { family: 'amazon', version: 'AMI release 2018.03' }],
    ['amazon linux 2023', { 'etc/system-release': 'Amazon Linux release 2023.3.20240108 (Amazon Linux)\n' }, { family: 'amazon', version: '2023.3.20240108 (Amazon Linux)' }],
    ['centos', { 'etc/centos-release': 'CentOS Linux release 7.6.1810 (Core) \n', 'etc/redhat-release': 'CentOS Linux release 7.6.1810 (Core)\n', 'etc/system-release': 'CentOS Linux release 7.6.1810 (Core)\n' }, { family: 'centos', version: '7.6.1810' }],
    ['rocky', { 'etc/rocky-release': 'Rocky Linux release 8.5 (Green Obsidian)\n' }, { family: 'rocky', version: '8.5' }],
    ['alma', { 'etc/almalinux-release': 'AlmaLinux release 9.3 (Shamrock Pampas Cat)\n' }, { family: 'alma', version: '9.3' }],
    ['oracle', { 'etc/oracle-release': 'Oracle Linux Server release 8.9\n' }, { family: 'oracle', version: '8.9' }],
    ['fedora', { 'etc/fedora-release': 'Fedora release 39 (Thirty Nine)\n' }, { family: 'fedora', version: '39' }],
    ['rhel ubi', { 'etc/redhat-release': 'Red Hat Enterprise Linux release 9.3 (Plow)\n' }, { family: 'redhat', version: '9.3' }],
    ['rhel from os-release', { 'etc/os-release': 'ID="rhel"\nVERSION_ID="8.9"\n' }, { family: 'redhat', version: '8.9' }],
    ['opensuse leap', { 'etc/os-release': 'NAME="openSUSE Leap"\nID="opensuse-leap"\nVERSION_ID="15.5"\nPRETTY_NAME="openSUSE Leap 15.5"\n' }, { family: 'opensuse.leap', version: '15.5', prettyName: 'openSUSE Leap 15.5' }],
    ['sles', { 'etc/os-release': 'ID="sles"\nVERSION_ID="15.5"\n' }, { family: 'suse linux enterprise server', version: '15.5' }],
    ['photon', { 'etc/os-release': 'ID=photon\nVERSION_ID=3.0\n' }, { family: 'photon', version: '3.0' }],
    ['wolfi', { 'etc/os-release': 'ID=wolfi\nVERSION_ID=20230201\n' }, { family: 'wolfi', version: '20230201' }],
    ['chainguard', { 'etc/os-release': 'ID=chainguard\nVERSION_ID=20230214\n' }, { family: 'chainguard', version: '20230214' }],
    ['cbl-mariner', { 'etc/os-release': 'ID=mariner\nVERSION_ID="2.0"\n' }, { family: 'cbl-mariner', version: '2.0' }],
    ['cbl-mariner from mariner-release', { 'etc/mariner-release': 'CBL-Mariner 2.0.20220226\n' }, { family: 'cbl-mariner', version: '2.0.20220226' }],
    ['azure linux', { 'etc/os-release': 'ID=azurelinux\nVERSION_ID="3.0"\n' }, { family: 'azurelinux', version: '3.0' }],
    // layouts from Trivy's os analyzer tests (pkg/fanal/analyzer/os/**), osv-scalibr's osrelease and syft's linux tests
    ['sle micro 5.3', { 'etc/os-release': 'NAME="SLE Micro"\nVERSION_ID="5.3"\nID="sle-micro"\nID_LIKE="suse"\n' }, { family: 'suse linux enterprise micro', version: '5.3' }],
    ['sl micro 6.0', { 'etc/os-release': 'NAME="SL-Micro"\nVERSION_ID="6.0"\nID="sl-micro"\n' }, { family: 'suse linux enterprise micro', version: '6.0' }],
    ['sle micro for rancher 5.4', { 'etc/os-release': 'NAME="SLE Micro"\nVERSION="5.4"\nVERSION_ID="5.4"\nID="sle-micro-rancher"\nID_LIKE="suse"\nTIMESTAMP=20240419051540\n' }, { family: 'suse linux enterprise micro', version: '5.4' }],
    ['openSUSE leap 42 (ID=opensuse)', { 'etc/os-release': 'NAME="openSUSE Leap"\nVERSION="42.3"\nID=opensuse\nID_LIKE="suse"\nVERSION_ID="42.3"\n' }, { family: 'opensuse.leap', version: '42.3' }],
    ['openSUSE tumbleweed', { 'etc/os-release': 'NAME="openSUSE Tumbleweed"\n# VERSION="20220412"\nID="opensuse-tumbleweed"\nVERSION_ID="20220412"\n' }, { family: 'opensuse.tumbleweed', version: '20220412' }],
    ['mariner 1.0 from os-release', { 'etc/os-release': 'NAME="Common Base Linux Mariner"\nVERSION="1.0.20230713"\nID=mariner\nVERSION_ID="1.0"\n' }, { family: 'cbl-mariner', version: '1.0' }],
    ['alpine os-release 3.15.4', { 'etc/os-release': 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.15.4\nPRETTY_NAME="Alpine Linux v3.15"\n' }, { family: 'alpine', version: '3.15.4' }],
    ['alpine-release without a newline', { 'etc/alpine-release': '3.15.4' }, { family: 'alpine', version: '3.15.4' }],
    ['centos stream 9', { 'etc/centos-release': 'CentOS Stream release 9\n' }, { family: 'centos', version: '9' }],
    ['centos 5 redhat-release', { 'etc/redhat-release': 'CentOS release 5.7 (Final)\n' }, { family: 'centos', version: '5.7' }],
    ['rhel 6 server', { 'etc/redhat-release': 'Red Hat Enterprise Linux Server release 6.2 (Santiago)\n' }, { family: 'redhat', version: '6.2' }],
    ['oracle 7 over its redhat-release', { 'etc/oracle-release': 'Oracle Linux Server release 7.9\n', 'etc/redhat-release': 'Red Hat Enterprise Linux Server release 7.9 (Maipo)\n' }, { family: 'oracle', version: '7.9' }],
    ['fedora 29', { 'etc/fedora-release': 'Fedora release 29 (Twenty Nine)\n' }, { family: 'fedora', version: '29' }],
    ['debian 9.8', { 'etc/debian_version': '9.8\n' }, { family: 'debian', version: '9.8' }],
    ['debian sid', { 'etc/debian_version': 'buster/sid\n' }, { family: 'debian', version: 'buster/sid' }],
    ['empty debian_version falls back to os-release', { 'etc/debian_version': '', 'etc/os-release': 'ID=debian\nVERSION_ID="12"\n' }, { family: 'debian', version: '12' }],
    ['ubuntu lsb-release 18.04', { 'etc/lsb-release': 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=18.04\nDISTRIB_CODENAME=bionic\nDISTRIB_DESCRIPTION="Ubuntu 18.04.1 LTS"\n' }, { family: 'ubuntu', version: '18.04', codename: 'bionic' }],
    ['amazon linux 2022 in usr/lib', { 'usr/lib/system-release': 'Amazon Linux release 2022 (Amazon Linux)\n' }, { family: 'amazon', version: '2022 (Amazon Linux)' }],
    ['amazon from os-release alone', { 'etc/os-release': 'NAME="Amazon Linux"\nVERSION="2"\nID="amzn"\nID_LIKE="centos rhel fedora"\nVERSION_ID="2"\n' }, { family: 'amazon', version: '2' }],
    ['oracle linux from os-release', { 'etc/os-release': 'NAME="Oracle Linux Server"\nVERSION="8.3"\nID="ol"\nID_LIKE="fedora"\nVARIANT="Server"\nVERSION_ID="8.3"\n' }, { family: 'oracle', version: '8.3' }],
    ['rocky from os-release', { 'etc/os-release': 'NAME="Rocky Linux"\nVERSION="8.4 (Green Obsidian)"\nID="rocky"\nID_LIKE="rhel fedora"\nVERSION_ID="8.4"\n' }, { family: 'rocky', version: '8.4' }],
    ['alma from os-release', { 'etc/os-release': 'NAME="AlmaLinux"\nID="almalinux"\nID_LIKE="rhel centos fedora"\nVERSION_ID="8.4"\n' }, { family: 'alma', version: '8.4' }],
    ['rhel cpe 2.3 form', { 'etc/system-release-cpe': 'cpe:2.3:o:redhat:enterprise_linux:8.9:*:*:*:*:*:*:*\n' }, { family: 'redhat', version: '8.9' }],
    ['RHCOS release file alone names no RHEL', { 'etc/redhat-release': 'Red Hat Enterprise Linux CoreOS release 2.3.0-12\n' }, undefined],
    ['busybox', { 'etc/os-release': 'NAME=busybox\nID=busybox\nID_LIKE=busybox\nVERSION_ID=1.31.1\n' }, undefined],
    ['arch (rolling, no VERSION_ID)', { 'etc/os-release': 'NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n' }, undefined],
    ['unknown derivative of debian is not debian', { 'etc/os-release': 'NAME="Debian GNU/Linux"\nID=my-awesome-distro\nID_LIKE=debian\nVERSION_ID=8\n' }, undefined],
    ['nothing known', { 'etc/os-release': 'ID=plan9\nVERSION_ID=4\n' }, undefined],
    ['no release files', {}, undefined],
  ];
  for (const [name, files, want] of cases) {
    it(name, async () => {
      const got = await detect(files);
      if (!want) return assert.equal(got, undefined);
      assert.ok(got, 'detected');
      for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k as keyof OsInfo], v, k);
    });
  }

  it('apk repositories of another distribution, or mixed ones, give no repository', async () => {
    assert.equal((await detect({ 'etc/alpine-release': '3.19.1\n', 'etc/apk/repositories': 'https://packages.wolfi.dev/os/x86_64/\n' }))?.repository, undefined);
    assert.equal((await detect({ 'etc/alpine-release': '3.19.1\n', 'etc/apk/repositories': 'https://a.example/alpine/v3.19/main\nhttps://b.example/wolfi/v1/os/\n' }))?.repository, undefined);
  });

  it('release-line parsers refuse what they do not know', () => {
    assert.equal(parseRedhatRelease('garbage'), undefined);
    assert.equal(parseAmazonRelease('Fedora release 39'), undefined);
    assert.equal(parseAmazonRelease('foo bar'), undefined);
    assert.equal(parseMarinerRelease('MARINER_BUILD_NUMBER=7da4f23\n'), undefined);
    assert.equal(parseMarinerRelease('CBL-Mariner 2.0.20220226 extra\n'), undefined);
    assert.equal(parseSystemReleaseCpe('cpe:/o:centos:linux:six:GA'), undefined);
    assert.equal(parseSystemReleaseCpe('cpe:/a:redhat:enterprise_linux:7'), undefined);
    assert.equal(parseSystemReleaseCpe('cpe:/o:plan9:os:4'), undefined);
    for (const bad of ['', 'not json', '[]', '{"services":{}}', '{"services":[null,1,{"name":"esm-infra"}]}']) assert.equal(esmEnabled(bad), false, bad);
  });
});
