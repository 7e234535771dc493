import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFs, type OsInfo } from '../../domain/index.ts';
import { catalogFs } from '../index.ts';
import { parseAmazonRelease, parseRedhatRelease } from './detectors.ts';

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
  });
});
