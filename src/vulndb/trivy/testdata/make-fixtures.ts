/**
 * Rebuilds the matcher-parity fixtures: small root filesystems (release files + package DB) for every
 * OS family of the shared Trivy fixture DB (../shared/testdata/trivy-db/db) that the shared trees do not
 * cover, lock-file inputs for every language bucket, and what the real Trivy 0.44.1 printed on each.
 *
 *   npx node src/vulndb/trivy/testdata/make-fixtures.ts [--trivy PATH] [--only NAME,…]
 *
 * Needs Debian's `rpm` (rpmbuild builds empty packages, `rpm --root … --justdb` installs them into an
 * sqlite rpmdb) and the Trivy binary (PORTCULLIS_TEST_TRIVY, /tmp/portcullis-ci/trivy). Output:
 *   trees/<name>/…             rootfs trees (committed)
 *   lang/<name>/…              lock-file inputs (committed)
 *   reports/<name>.json        `trivy rootfs|fs --format json --list-all-pkgs` with the fixture DB
 * The specs below are the documentation of what each tree exercises.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const SHARED = process.env['PORTCULLIS_SHARED'] ?? resolve(HERE, '../../../../../shared');
const FIXTURE_DB = join(SHARED, 'testdata', 'trivy-db', 'db');

export interface RpmSpec {
  name: string;
  epoch?: number;
  version: string;
  release: string;
  arch?: string;
  /** Source package name (SOURCERPM = source-version-release.src.rpm); default: name. */
  source?: string;
  modularitylabel?: string;
  vendor?: string;
}

export interface TreeSpec {
  name: string;
  /** What the tree exercises. */
  about: string;
  files: Record<string, string>;
  rpms?: RpmSpec[];
}

export interface LangSpec {
  name: string;
  about: string;
  files: Record<string, string>;
}

const osRelease = (fields: Record<string, string>): string =>
  `${Object.entries(fields)
    .map(([k, v]) => `${k}="${v}"`)
    .join('\n')}\n`;

const apkDb = (pkgs: { name: string; version: string; origin?: string; arch?: string }[]): string =>
  `${pkgs
    .map((p) => `C:Q1${Buffer.from(p.name).toString('base64').padEnd(27, 'A').slice(0, 27)}=\nP:${p.name}\nV:${p.version}\nA:${p.arch ?? 'x86_64'}\nS:1000\nI:4000\nT:${p.name}\nU:https://example.invalid/\nL:MIT\no:${p.origin ?? p.name}\nm:Test <test@example.invalid>\nt:1600000000\n`)
    .join('\n')}\n`;

const dpkgStatus = (pkgs: { name: string; version: string; source?: string; arch?: string }[]): string =>
  `${pkgs
    .map((p) => `Package: ${p.name}\nStatus: install ok installed\nPriority: optional\nSection: misc\nInstalled-Size: 100\nMaintainer: Test <test@example.invalid>\nArchitecture: ${p.arch ?? 'amd64'}\n${p.source ? `Source: ${p.source}\n` : ''}Version: ${p.version}\nDescription: ${p.name}\n`)
    .join('\n')}`;

const REDHAT_LIKE = (family: string, release: string, osr: Record<string, string>): Record<string, string> => ({
  [`etc/${family}-release`]: `${release}\n`,
  'etc/redhat-release': `${release}\n`,
  'etc/os-release': osRelease(osr),
});

export const TREES: TreeSpec[] = [
  {
    name: 'alma-8',
    about: 'AlmaLinux 8.5 (upstream golden almalinux-8): binary name, full EVR; CVE-2021-3450 is fixed below the installed version',
    files: REDHAT_LIKE('almalinux', 'AlmaLinux release 8.5 (Arctic Sphynx)', { NAME: 'AlmaLinux', VERSION: '8.5 (Arctic Sphynx)', ID: 'almalinux', VERSION_ID: '8.5', PRETTY_NAME: 'AlmaLinux 8.5 (Arctic Sphynx)' }),
    rpms: [
      { name: 'openssl-libs', epoch: 1, version: '1.1.1k', release: '4.el8', source: 'openssl', vendor: 'AlmaLinux' },
      { name: 'openssl', epoch: 1, version: '1.1.1k', release: '4.el8', vendor: 'AlmaLinux' },
      { name: 'bash', version: '4.4.20', release: '2.el8', vendor: 'AlmaLinux' },
    ],
  },
  {
    name: 'alma-8-modular',
    about: 'AlmaLinux 8 with a modular openssl-libs (modularitylabel set) and an aarch64 build',
    files: REDHAT_LIKE('almalinux', 'AlmaLinux release 8.4 (Electric Cheetah)', { NAME: 'AlmaLinux', ID: 'almalinux', VERSION_ID: '8.4' }),
    rpms: [
      { name: 'openssl-libs', epoch: 1, version: '1.1.1g', release: '15.el8_3', source: 'openssl', modularitylabel: 'openssl:1.1:8040020210412113214:9e34dc92' },
      { name: 'openssl', epoch: 1, version: '1.1.1g', release: '14.el8', arch: 'aarch64' },
    ],
  },
  {
    name: 'rocky-8-variants',
    about: 'Rocky 8.4: openssl-libs aarch64 (the advisory entry lists x86_64 only), a modular openssl (skipped by Trivy), libcurl',
    files: REDHAT_LIKE('rocky', 'Rocky Linux release 8.4 (Green Obsidian)', { NAME: 'Rocky Linux', ID: 'rocky', VERSION_ID: '8.4' }),
    rpms: [
      { name: 'openssl-libs', epoch: 1, version: '1.1.1g', release: '15.el8_3', arch: 'aarch64', source: 'openssl' },
      { name: 'openssl', epoch: 1, version: '1.1.1g', release: '15.el8_3', modularitylabel: 'openssl:1.1:8040020210412113214:9e34dc92' },
    ],
  },
  {
    name: 'amazon-1',
    about: 'Amazon Linux AMI 2018.03 (upstream golden amazon-1): bucket "amazon linux 1", binary names',
    files: { 'etc/system-release': 'Amazon Linux AMI release 2018.03\n', 'etc/os-release': osRelease({ NAME: 'Amazon Linux AMI', VERSION: '2018.03', ID: 'amzn', VERSION_ID: '2018.03' }) },
    rpms: [
      { name: 'curl', version: '7.61.1', release: '7.91.amzn1' },
      { name: 'libcurl', version: '7.61.1', release: '7.91.amzn1', source: 'curl' },
    ],
  },
  {
    name: 'amazon-2-epoch',
    about: 'Amazon Linux 2: bind-export-libs 32:… against a fix with epoch 99 (epoch decides), curl equal to the fix',
    files: { 'etc/system-release': 'Amazon Linux release 2 (Karoo)\n', 'etc/os-release': osRelease({ NAME: 'Amazon Linux', VERSION: '2', ID: 'amzn', VERSION_ID: '2' }) },
    rpms: [
      { name: 'bind-export-libs', epoch: 32, version: '9.11.4', release: '26.P2.amzn2.13', source: 'bind' },
      { name: 'curl', version: '7.61.1', release: '11.amzn2.0.2' },
    ],
  },
  {
    name: 'amazon-2023',
    about: 'Amazon Linux 2023: no bucket in the DB (nothing reported, no error)',
    files: { 'etc/system-release': 'Amazon Linux release 2023 (Amazon Linux)\n', 'etc/os-release': osRelease({ NAME: 'Amazon Linux', VERSION: '2023', ID: 'amzn', VERSION_ID: '2023' }) },
    rpms: [{ name: 'curl', version: '7.61.1', release: '1.amzn2023' }],
  },
  {
    name: 'amazon-2023-point',
    about: 'Amazon Linux 2023 with a point release (2023.3.20240108): which bucket Trivy 0.44.1 reads',
    files: { 'etc/system-release': 'Amazon Linux release 2023.3.20240108 (Amazon Linux)\n', 'etc/os-release': osRelease({ NAME: 'Amazon Linux', VERSION: '2023', ID: 'amzn', VERSION_ID: '2023' }) },
    rpms: [{ name: 'curl', version: '7.61.1', release: '7.91.amzn1' }],
  },
  {
    name: 'oracle-8',
    about: 'Oracle Linux 8.4: curl below both fixes, libcurl (same source, not in the DB)',
    files: REDHAT_LIKE('oracle', 'Oracle Linux Server release 8.4', { NAME: 'Oracle Linux Server', ID: 'ol', VERSION_ID: '8.4' }),
    rpms: [
      { name: 'curl', version: '7.61.1', release: '8.el8' },
      { name: 'libcurl', version: '7.61.1', release: '8.el8', source: 'curl' },
    ],
  },
  {
    name: 'oracle-8-ksplice',
    about: 'Oracle Linux 8: a ksplice curl build (Trivy compares ksplice only with ksplice fixes) and an i686 build',
    files: REDHAT_LIKE('oracle', 'Oracle Linux Server release 8.6', { NAME: 'Oracle Linux Server', ID: 'ol', VERSION_ID: '8.6' }),
    rpms: [
      { name: 'curl', version: '7.61.1', release: '8.ksplice1.el8' },
      { name: 'curl', version: '7.61.1', release: '11.el8', arch: 'i686' },
    ],
  },
  {
    name: 'photon-3',
    about: 'Photon OS 3.0 (upstream golden photon-30): bash and curl below the fixes, curl-libs from source curl',
    files: { 'etc/photon-release': 'VMware Photon OS 3.0\nPHOTON_BUILD_NUMBER=a0cd9c5\n', 'etc/os-release': osRelease({ NAME: 'VMware Photon OS', VERSION: '3.0', ID: 'photon', VERSION_ID: '3.0', PRETTY_NAME: 'VMware Photon OS/Linux' }) },
    rpms: [
      { name: 'bash', version: '4.4.18', release: '1.ph3' },
      { name: 'curl', version: '7.61.1', release: '4.ph3' },
      { name: 'curl-libs', version: '7.61.1', release: '4.ph3', source: 'curl' },
    ],
  },
  {
    name: 'mariner-1',
    about: 'CBL-Mariner 1.0 (upstream golden mariner-1.0): vim with one fixed and one unfixed advisory; vim-extra from source vim',
    files: { 'etc/mariner-release': 'CBL-Mariner 1.0.20220122\nMARINER_BUILD_NUMBER=rolling\n', 'etc/os-release': osRelease({ NAME: 'Common Base Linux Mariner', VERSION: '1.0.20220122', ID: 'mariner', VERSION_ID: '1.0' }) },
    rpms: [
      { name: 'vim', version: '8.2.4081', release: '1.cm1' },
      { name: 'vim-extra', version: '8.2.4081', release: '1.cm1', source: 'vim' },
    ],
  },
  {
    name: 'opensuse-leap-151',
    about: 'openSUSE Leap 15.1 (upstream golden opensuse-leap-151): libopenssl1_1 and openssl-1_1 (one source), bucket by binary name',
    files: { 'etc/os-release': osRelease({ NAME: 'openSUSE Leap', VERSION: '15.1', ID: 'opensuse-leap', ID_LIKE: 'suse opensuse', VERSION_ID: '15.1', PRETTY_NAME: 'openSUSE Leap 15.1' }) },
    rpms: [
      { name: 'libopenssl1_1', version: '1.1.0i', release: 'lp151.8.3.1', source: 'openssl-1_1' },
      { name: 'openssl-1_1', version: '1.1.0i', release: 'lp151.8.3.1' },
    ],
  },
  {
    name: 'opensuse-tumbleweed',
    about: 'openSUSE Tumbleweed: bucket without a version',
    files: { 'etc/os-release': osRelease({ NAME: 'openSUSE Tumbleweed', ID: 'opensuse-tumbleweed', ID_LIKE: 'opensuse suse', VERSION_ID: '20240108', PRETTY_NAME: 'openSUSE Tumbleweed' }) },
    rpms: [{ name: 'libopenssl3', version: '3.1.4', release: '9.1', source: 'openssl-3' }],
  },
  {
    name: 'sles-15.3',
    about: 'SUSE Linux Enterprise Server 15 SP3 (VERSION_ID 15.3; the fixture bucket is named "SUSE Linux Enterprise 15-SP3")',
    files: { 'etc/os-release': osRelease({ NAME: 'SLES', VERSION: '15-SP3', VERSION_ID: '15.3', PRETTY_NAME: 'SUSE Linux Enterprise Server 15 SP3', ID: 'sles', ID_LIKE: 'suse' }) },
    rpms: [
      { name: 'libopenssl1_1', version: '1.1.1d', release: '150200.11.47.1', source: 'openssl-1_1' },
      { name: 'openssl-1_1', version: '1.1.1d', release: '150200.11.47.1' },
    ],
  },
  {
    name: 'sle-micro-5.3',
    about: 'SUSE Linux Enterprise Micro 5.3',
    files: { 'etc/os-release': osRelease({ NAME: 'SLE Micro', VERSION: '5.3', VERSION_ID: '5.3', PRETTY_NAME: 'SUSE Linux Enterprise Micro 5.3', ID: 'sle-micro', ID_LIKE: 'suse' }) },
    rpms: [{ name: 'libopenssl1_1', version: '1.1.1l', release: '150400.7.21.1', source: 'openssl-1_1' }],
  },
  {
    name: 'ubi-7',
    about: 'RHEL 7.7 (upstream golden ubi-7): default RHEL 7 content sets → CPE 869; bash will_not_fix, openssl/openssl-libs RHSA with two CVEs, glibc only on RHEL 6 CPEs',
    files: { 'etc/redhat-release': 'Red Hat Enterprise Linux Server release 7.7 (Maipo)\n', 'etc/os-release': osRelease({ NAME: 'Red Hat Enterprise Linux Server', VERSION: '7.7 (Maipo)', ID: 'rhel', VERSION_ID: '7.7' }) },
    rpms: [
      { name: 'bash', version: '4.2.46', release: '33.el7', vendor: 'Red Hat, Inc.' },
      { name: 'openssl-libs', epoch: 1, version: '1.0.2k', release: '16.el7', source: 'openssl', vendor: 'Red Hat, Inc.' },
      { name: 'openssl', epoch: 1, version: '1.0.2k', release: '16.el7', vendor: 'Red Hat, Inc.' },
      { name: 'glibc', version: '2.17', release: '292.el7', vendor: 'Red Hat, Inc.' },
    ],
  },
  {
    name: 'centos-6',
    about: 'CentOS 6.10 (upstream golden centos-6): RHEL 6 content sets → CPE 857; openssl 0:-epoch fix, glibc end_of_life, bash not on 857',
    files: { 'etc/centos-release': 'CentOS release 6.10 (Final)\n', 'etc/redhat-release': 'CentOS release 6.10 (Final)\n' },
    rpms: [
      { name: 'openssl', version: '1.0.1e', release: '57.el6', vendor: 'CentOS' },
      { name: 'glibc', version: '2.12', release: '1.212.el6', vendor: 'CentOS' },
      { name: 'bash', version: '4.1.2', release: '48.el6', vendor: 'CentOS' },
      { name: 'openssl-libs', version: '1.0.1e', release: '57.el6', arch: 'noarch', source: 'openssl' },
    ],
  },
  {
    name: 'rhel-8-content-sets',
    about: 'RHEL 8 whose content manifest names rhel-6-server-rpms (CPE 857): content sets replace the RHEL 8 defaults',
    files: {
      'etc/redhat-release': 'Red Hat Enterprise Linux release 8.6 (Ootpa)\n',
      'etc/os-release': osRelease({ NAME: 'Red Hat Enterprise Linux', ID: 'rhel', VERSION_ID: '8.6' }),
      'root/buildinfo/content_manifests/ubi8-container-8.6-754.json': `${JSON.stringify({ metadata: { icm_version: 1, icm_spec: 'https://raw.githubusercontent.com/containerbuildsystem/atomic-reactor/master/atomic_reactor/schemas/content_manifest.json', image_layer_index: 0 }, content_sets: ['rhel-6-server-rpms'], image_contents: [] }, null, 2)}\n`,
    },
    rpms: [
      { name: 'glibc', version: '2.12', release: '1.212.el6' },
      { name: 'openssl', version: '1.0.1e', release: '57.el6' },
      { name: 'bash', version: '4.2.46', release: '33.el7' },
    ],
  },
  {
    name: 'rhel-7-nvr',
    about: 'RHEL 7 with a buildinfo Dockerfile (nvr ubi7-container-7.7-140-x86_64 → CPE 869), an empty content set list, bash for aarch64 (the advisory lists x86_64)',
    files: {
      'etc/redhat-release': 'Red Hat Enterprise Linux Server release 7.7 (Maipo)\n',
      'root/buildinfo/Dockerfile-ubi7-7.7-140': 'FROM sha256:0000\nLABEL maintainer="Red Hat, Inc."\nLABEL com.redhat.component="ubi7-container" \\\n      name="ubi7" \\\n      version="7.7"\nLABEL "release"="140" "architecture"="x86_64"\nCMD ["/bin/bash"]\n',
      'root/buildinfo/content_manifests/ubi7-container-7.7-140.json': `${JSON.stringify({ metadata: { icm_version: 1, image_layer_index: 0 }, content_sets: [], image_contents: [] })}\n`,
    },
    rpms: [
      { name: 'bash', version: '4.2.46', release: '33.el7', arch: 'aarch64' },
      { name: 'openssl-libs', epoch: 1, version: '1.0.2k', release: '16.el7', source: 'openssl' },
    ],
  },
  {
    name: 'alpine-edge',
    about: 'Alpine edge: alpine-release 3.17_alpha, repositories on edge → bucket "alpine edge"; git below the fix',
    files: {
      'etc/alpine-release': '3.17_alpha20220809\n',
      'etc/os-release': osRelease({ NAME: 'Alpine Linux', ID: 'alpine', VERSION_ID: '3.17_alpha20220809', PRETTY_NAME: 'Alpine Linux edge' }),
      'etc/apk/repositories': 'https://dl-cdn.alpinelinux.org/alpine/edge/main\nhttps://dl-cdn.alpinelinux.org/alpine/edge/community\n',
      'lib/apk/db/installed': apkDb([{ name: 'git', version: '2.35.1-r2' }, { name: 'musl', version: '1.2.3-r0' }]),
    },
  },
  {
    name: 'alpine-39-repo-310',
    about: 'Alpine 3.9.4 whose repositories point at v3.10 (Trivy prefers the repository release) and origin packages',
    files: {
      'etc/alpine-release': '3.9.4\n',
      'etc/apk/repositories': 'http://dl-cdn.alpinelinux.org/alpine/v3.9/main\nhttp://dl-cdn.alpinelinux.org/alpine/v3.10/community\n',
      'lib/apk/db/installed': apkDb([
        { name: 'musl', version: '1.1.20-r4' },
        { name: 'musl-utils', version: '1.1.20-r4', origin: 'musl' },
        { name: 'libcrypto1.1', version: '1.1.1b-r1', origin: 'openssl' },
        { name: 'libssl1.1', version: '1.1.1d-r0', origin: 'openssl' },
      ]),
    },
  },
  {
    name: 'alpine-39',
    about: 'Alpine 3.9.4 (upstream golden alpine-39): no repositories file',
    files: {
      'etc/alpine-release': '3.9.4\n',
      'etc/os-release': osRelease({ NAME: 'Alpine Linux', ID: 'alpine', VERSION_ID: '3.9.4' }),
      'lib/apk/db/installed': apkDb([
        { name: 'musl', version: '1.1.20-r4' },
        { name: 'libcrypto1.1', version: '1.1.1b-r1', origin: 'openssl' },
        { name: 'libssl1.1', version: '1.1.1b-r1', origin: 'openssl' },
        { name: 'openssl', version: '1.1.1d-r2' },
      ]),
    },
  },
  {
    name: 'ubuntu-2204',
    about: 'Ubuntu 22.04: an advisory with an empty value (affected, no severity of its own)',
    files: {
      'etc/lsb-release': 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nDISTRIB_DESCRIPTION="Ubuntu 22.04.1 LTS"\n',
      'etc/os-release': osRelease({ NAME: 'Ubuntu', VERSION_ID: '22.04', ID: 'ubuntu', VERSION_CODENAME: 'jammy' }),
      'etc/debian_version': 'bookworm/sid\n',
      'var/lib/dpkg/status': dpkgStatus([{ name: 'bash', version: '5.1-6ubuntu1' }, { name: 'libidn2-0', version: '2.3.2-2build1', source: 'libidn2' }]),
    },
  },
  {
    name: 'debian-stretch',
    about: 'Debian 9.8 (upstream golden debian-stretch): binNMU source version, openssl postponed advisory, e2fsprogs family',
    files: {
      'etc/debian_version': '9.8\n',
      'etc/os-release': osRelease({ PRETTY_NAME: 'Debian GNU/Linux 9 (stretch)', NAME: 'Debian GNU/Linux', VERSION_ID: '9', ID: 'debian' }),
      'var/lib/dpkg/status': dpkgStatus([
        { name: 'e2fsprogs', version: '1.43.4-2' },
        { name: 'libext2fs2', version: '1.43.4-2+b1', source: 'e2fsprogs (1.43.4-2)' },
        { name: 'libssl1.1', version: '1.1.0j-1~deb9u1', source: 'openssl' },
        { name: 'openssl', version: '1.1.0l-1~deb9u1' },
        { name: 'bash', version: '4.4-5' },
      ]),
    },
  },
];

const cargoLock = (pkgs: [string, string][]): string =>
  `version = 3\n\n${pkgs.map(([n, v]) => `[[package]]\nname = "${n}"\nversion = "${v}"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "${'0'.repeat(64)}"\n`).join('\n')}`;

export const LANGS: LangSpec[] = [
  {
    name: 'lang-npm',
    about: 'npm (go-npm-version): prereleases only match comparators with a prerelease of the same X.Y.Z',
    files: {
      'package-lock.json': `${JSON.stringify({
        name: 'fixture', version: '1.0.0', lockfileVersion: 1, requires: true,
        dependencies: {
          jquery: { version: '3.3.9' },
          lodash: { version: '4.17.11' },
          a: { version: '1.0.0', requires: {}, dependencies: { jquery: { version: '3.4.0-rc.1' }, lodash: { version: '4.17.12' } } },
          b: { version: '1.0.0', dependencies: { jquery: { version: '2.2.4' }, lodash: { version: '4.17.12-pre.1' } } },
          c: { version: '1.0.0', dependencies: { jquery: { version: '3.0.0-alpha1' } } },
          d: { version: '1.0.0', dependencies: { jquery: { version: '3.4.0' } } },
        },
      }, null, 2)}\n`,
    },
  },
  {
    name: 'lang-pip',
    about: 'pip (go-pep440-version, prereleases included): `< 0.15.3` does not match 0.15.3rc1; names normalised',
    files: { 'requirements.txt': 'Werkzeug==0.11\nwerkzeug==0.15.3rc1\nwerkzeug==0.15.2\nwerkzeug==0.11.6\nsetuptools==65.5.0\nsetuptools==65.5.1.dev0\nsetuptools==65.5.1\n' },
  },
  {
    name: 'lang-gomod',
    about: 'Go modules (generic comparer): pseudo-versions, +incompatible, v prefixes',
    files: {
      'go.mod': 'module example.com/a\n\ngo 1.19\n\nrequire (\n\tgithub.com/docker/distribution v2.7.0+incompatible\n\tgithub.com/open-policy-agent/opa v0.36.1\n\tgolang.org/x/text v0.3.7-0.20210503195748-5c7c50ebbd4f\n)\n',
      'b/go.mod': 'module example.com/b\n\ngo 1.19\n\nrequire (\n\tgithub.com/docker/distribution v2.8.0-beta.1+incompatible\n\tgithub.com/open-policy-agent/opa v0.33.1\n\tgolang.org/x/text v0.3.7\n)\n',
      'c/go.mod': 'module example.com/c\n\ngo 1.19\n\nrequire (\n\tgithub.com/open-policy-agent/opa v0.37.0-rc1\n\tgolang.org/x/text v0.0.0-20170915032832-14c0d48ead0c\n)\n',
    },
  },
  {
    name: 'lang-cargo',
    about: 'crates (generic comparer): advisories with only PatchedVersions constraints, prereleases ordered below releases',
    files: { 'Cargo.lock': cargoLock([['ammonia', '1.9.0'], ['ammonia', '2.1.0-alpha.1'], ['ammonia', '2.1.0'], ['ammonia', '2.1.2'], ['ammonia', '2.1.3-rc1'], ['ammonia', '2.1.3'], ['ammonia', '3.0.0'], ['ammonia', '3.1.0-beta'], ['ammonia', '3.1.0']]) },
  },
  {
    name: 'lang-composer',
    about: 'Packagist (generic comparer), one composer.lock per version',
    files: Object.fromEntries(['1.8.3', '1.8.4-beta1', '1.8.4', 'v1.7.0', '2.0.0'].map((v, i) => [`${i ? `${i}/` : ''}composer.lock`, `${JSON.stringify({ packages: [{ name: 'guzzlehttp/psr7', version: v, type: 'library' }], 'packages-dev': [] }, null, 2)}\n`])),
  },
  {
    name: 'lang-nuget',
    about: 'NuGet (generic comparer); the DB key is lower-case, the lock file name is not',
    files: { 'packages.lock.json': `${JSON.stringify({ version: 1, dependencies: { 'net6.0': { 'Newtonsoft.Json': { type: 'Direct', requested: '[12.0.3, )', resolved: '12.0.3' } }, 'net7.0': { 'Newtonsoft.Json': { type: 'Direct', requested: '[13.0.1-beta1, )', resolved: '13.0.1-beta1' } }, 'net8.0': { 'Newtonsoft.Json': { type: 'Direct', requested: '[13.0.1, )', resolved: '13.0.1' } } } }, null, 2)}\n` },
  },
  {
    name: 'lang-gradle',
    about: 'Maven (go-mvn-version) via a Gradle lockfile: GHSA operators and GitLab ranges `[2.9.0,2.9.10.7)`',
    files: {
      'gradle.lockfile': ['com.fasterxml.jackson.core:jackson-databind:2.9.10.3=compileClasspath', 'com.fasterxml.jackson.core:jackson-databind:2.9.10.4=runtimeClasspath', 'com.fasterxml.jackson.core:jackson-databind:2.9.10.7=testCompileClasspath', 'com.fasterxml.jackson.core:jackson-databind:2.9.0=testRuntimeClasspath', 'com.fasterxml.jackson.core:jackson-databind:2.10.0.pr1=annotationProcessor', 'org.springframework:spring-beans:5.3.17=compileClasspath', 'org.springframework:spring-beans:5.3.18=runtimeClasspath', 'org.springframework:spring-beans:5.3.0-RC1=testCompileClasspath', 'org.springframework:spring-beans:5.2.0.RELEASE=testRuntimeClasspath', 'empty=', ''].join('\n'),
    },
  },
  {
    name: 'lang-bundler',
    about: 'RubyGems (go-gem-version): several branches, `>= 0` without a fix (affected, no fixed version); one Gemfile.lock per version (Trivy keeps one version per name)',
    files: Object.fromEntries(['4.2.1', '3.2.22.4', '4.1.10', '4.2.2', '6.0.3', '6.0.3.1', '5.2.4.3', '4.2.0.beta1', '3.2.22.5'].map((v, i) => [`${i ? `${i}/` : ''}Gemfile.lock`, ['GEM', '  remote: https://rubygems.org/', '  specs:', `    activesupport (${v})`, ...(i ? [] : ['    http_parser (0.6.0)']), '', 'PLATFORMS', '  ruby', '', 'DEPENDENCIES', '  activesupport', ...(i ? [] : ['  http_parser']), '', 'BUNDLED WITH', '   2.3.7', ''].join('\n')])),
  },
  {
    name: 'lang-conan',
    about: 'Conan (generic comparer): vulnerable "<8.44" with patched 8.45',
    files: { 'conan.lock': `${JSON.stringify({ graph_lock: { nodes: { '0': { ref: 'app/1.0', requires: ['1', '2', '3'] }, '1': { ref: 'pcre/8.43' }, '2': { ref: 'pcre/8.44' }, '3': { ref: 'pcre/8.45' } }, revisions_enabled: false }, version: '0.4' }, null, 2)}\n` },
  },
  {
    name: 'lang-pub',
    about: 'Dart pub (generic comparer): `<= 0.13.3` with patched 0.13.3',
    files: { 'pubspec.lock': ['packages:', '  http:', '    dependency: "direct main"', '    description:', '      name: http', '      url: "https://pub.dartlang.org"', '    source: hosted', '    version: "0.13.2"', 'sdks:', '  dart: ">=2.12.0 <3.0.0"', ''].join('\n'), 'b/pubspec.lock': ['packages:', '  http:', '    dependency: "direct main"', '    description:', '      name: http', '      url: "https://pub.dartlang.org"', '    source: hosted', '    version: "0.13.3"', 'sdks:', '  dart: ">=2.12.0 <3.0.0"', ''].join('\n') },
  },
  {
    name: 'lang-hex',
    about: 'Hex / erlang bucket (generic comparer)',
    files: { 'mix.lock': `%{\n  "phoenix": {:hex, :phoenix, "1.6.13", "${'a'.repeat(64)}", [:mix], [], "hexpm", "${'b'.repeat(64)}"},\n  "phoenix_html": {:hex, :phoenix_html, "3.2.0", "${'c'.repeat(64)}", [:mix], [], "hexpm", "${'d'.repeat(64)}"},\n}\n`, 'b/mix.lock': `%{\n  "phoenix": {:hex, :phoenix, "1.6.14", "${'a'.repeat(64)}", [:mix], [], "hexpm", "${'b'.repeat(64)}"},\n}\n` },
  },
  {
    name: 'lang-cocoapods',
    about: 'CocoaPods: Trivy 0.44 lists the pods but does not match them ("supported for SBOM, not for vulnerability scanning")',
    files: { 'Podfile.lock': ['PODS:', '  - _NIODataStructures (2.40.0)', '', 'DEPENDENCIES:', '  - _NIODataStructures', '', 'SPEC CHECKSUMS:', `  _NIODataStructures: ${'e'.repeat(40)}`, '', `PODFILE CHECKSUM: ${'f'.repeat(40)}`, '', 'COCOAPODS: 1.11.3', ''].join('\n'), 'b/Podfile.lock': ['PODS:', '  - _NIODataStructures (2.41.1)', '', 'DEPENDENCIES:', '  - _NIODataStructures', '', 'COCOAPODS: 1.11.3', ''].join('\n') },
  },
];

function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

function buildRpm(work: string, p: RpmSpec): string {
  const src = p.source ?? p.name;
  const arch = p.arch ?? 'x86_64';
  const sub = src !== p.name;
  const spec = [
    `Name: ${src}`,
    ...(p.epoch !== undefined ? [`Epoch: ${p.epoch}`] : []),
    `Version: ${p.version}`,
    `Release: ${p.release}`,
    'Summary: fixture',
    'License: MIT',
    ...(arch === 'noarch' ? ['BuildArch: noarch'] : []),
    '%description',
    'fixture',
    ...(sub ? [`%package -n ${p.name}`, 'Summary: fixture', `%description -n ${p.name}`, 'fixture', `%files -n ${p.name}`] : ['%files']),
    '%build',
    '%install',
    '',
  ].join('\n');
  const dir = mkdtempSync(join(work, 'rpm-'));
  writeFileSync(join(dir, 'p.spec'), spec);
  const defs = ['_topdir', join(dir, 'top'), '_build_id_links', 'none'];
  if (p.modularitylabel) defs.push('modularitylabel', p.modularitylabel);
  if (p.vendor) defs.push('vendor', p.vendor);
  const args: string[] = [];
  for (let i = 0; i < defs.length; i += 2) args.push('--define', `${defs[i]} ${defs[i + 1]}`);
  sh('rpmbuild', [...args, '--target', `${arch}-linux`, '-bb', join(dir, 'p.spec')]);
  const out = join(dir, 'top', 'RPMS', arch);
  const file = readdirSync(out).find((f) => f.startsWith(`${p.name}-`));
  if (!file) throw new Error(`rpmbuild produced no ${p.name} in ${out}`);
  return join(out, file);
}

function buildTree(root: string, t: TreeSpec, work: string): void {
  rmSync(root, { recursive: true, force: true });
  for (const [path, content] of Object.entries(t.files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  if (!t.rpms?.length) return;
  const rpms = t.rpms.map((p) => buildRpm(work, p));
  sh('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '--initdb']);
  sh('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-i', '--justdb', '--nodeps', '--noscripts', '--ignorearch', '--ignoreos', '--nosignature', '--replacepkgs', ...rpms]);
  const dbDir = join(root, 'var', 'lib', 'rpm');
  for (const f of readdirSync(dbDir)) if (f !== 'rpmdb.sqlite') rmSync(join(dbDir, f), { force: true });
  // Small pages keep the committed file small (rpm's default DB is 212 KB of mostly empty pages).
  const db = new DatabaseSync(join(dbDir, 'rpmdb.sqlite'));
  db.exec('PRAGMA journal_mode=DELETE');
  db.exec('PRAGMA page_size=512');
  db.exec('VACUUM');
  db.close();
}

/** Run the real Trivy offline on `arg` (in `cwd`) with the fixture DB; the report without volatile fields. */
export function runTrivy(trivy: string, mode: 'rootfs' | 'fs', cwd: string, arg: string, extra: string[] = []): unknown {
  const cache = mkdtempSync(join(tmpdir(), 'trivy-cache-'));
  try {
    mkdirSync(join(cache, 'db'));
    copyFileSync(join(FIXTURE_DB, 'trivy.db'), join(cache, 'db', 'trivy.db'));
    copyFileSync(join(FIXTURE_DB, 'metadata.json'), join(cache, 'db', 'metadata.json'));
    const out = execFileSync(trivy, [mode, '--cache-dir', cache, '--skip-db-update', '--offline-scan', '--format', 'json', '--scanners', 'vuln', '--list-all-pkgs', '--quiet', ...extra, arg], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
    const rep = JSON.parse(out) as Record<string, unknown>;
    delete rep['CreatedAt'];
    return rep;
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

function main(): void {
  const argv = process.argv.slice(2);
  const ti = argv.indexOf('--trivy');
  const trivy = ti >= 0 ? argv[ti + 1] : [process.env['PORTCULLIS_TEST_TRIVY'], '/tmp/portcullis-ci/trivy'].find((p) => p && existsSync(p));
  const oi = argv.indexOf('--only');
  const only = oi >= 0 ? new Set((argv[oi + 1] ?? '').split(',')) : undefined;
  if (!trivy) throw new Error('no Trivy binary: pass --trivy PATH');
  const work = mkdtempSync(join(tmpdir(), 'make-fixtures-'));
  mkdirSync(join(HERE, 'reports'), { recursive: true });
  try {
    for (const t of TREES) {
      if (only && !only.has(t.name)) continue;
      buildTree(join(HERE, 'trees', t.name), t, work);
      const rep = runTrivy(trivy, 'rootfs', join(HERE, 'trees'), t.name);
      writeFileSync(join(HERE, 'reports', `${t.name}.json`), `${JSON.stringify(rep, null, 2)}\n`);
      process.stdout.write(`${t.name}\n`);
    }
    for (const l of LANGS) {
      if (only && !only.has(l.name)) continue;
      const dir = join(HERE, 'lang', l.name);
      rmSync(dir, { recursive: true, force: true });
      for (const [path, content] of Object.entries(l.files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
      const rep = runTrivy(trivy, 'fs', dir, '.');
      writeFileSync(join(HERE, 'reports', `${l.name}.json`), `${JSON.stringify(rep, null, 2)}\n`);
      process.stdout.write(`${l.name}\n`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
