/**
 * Package → OSV ecosystem string (https://ossf.github.io/osv-schema/#affectedpackage-field) and the
 * package name to look up in it. OS packages take the detected OS release; language packages their
 * registry. Ecosystems OSV does not publish for (Red Hat needs a CPE, CentOS, Amazon, Oracle, Fedora,
 * CBL-Mariner) give undefined: those are matched through the Trivy DB instead.
 */
import type { OsInfo, Package, PackageType } from '../domain/index.ts';

const LANG: Partial<Record<PackageType, string>> = {
  'node-pkg': 'npm',
  npm: 'npm',
  yarn: 'npm',
  pnpm: 'npm',
  'python-pkg': 'PyPI',
  pip: 'PyPI',
  poetry: 'PyPI',
  pipenv: 'PyPI',
  gobinary: 'Go',
  gomod: 'Go',
  jar: 'Maven',
  pom: 'Maven',
  cargo: 'crates.io',
  gemspec: 'RubyGems',
  bundler: 'RubyGems',
  nuget: 'NuGet',
  composer: 'Packagist',
  gradle: 'Maven',
  pub: 'Pub',
  hex: 'Hex',
  // conan (ConanCenter) and cocoapods have no comparator and no OSV advisories we import: not matched
};

const DEBIAN_CODENAMES: Readonly<Record<string, string>> = {
  wheezy: '7',
  jessie: '8',
  stretch: '9',
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
  forky: '14',
};

const OS_PACKAGE_TYPES = new Set<PackageType>(['apk', 'deb', 'rpm']);

function major(version: string): string | undefined {
  return /^(\d+)/.exec(version)?.[1];
}

function majorMinor(version: string): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(version);
  return m ? `${m[1]}.${m[2]}` : undefined;
}

function debianRelease(os: OsInfo): string | undefined {
  const m = major(os.version);
  if (m) return m;
  // 'bookworm/sid' (testing/unstable): the codename before the slash, else os-release's codename
  const name = os.version.split('/')[0] ?? '';
  return DEBIAN_CODENAMES[name] ?? (os.codename ? DEBIAN_CODENAMES[os.codename] : undefined);
}

function ubuntuEcosystem(os: OsInfo): string | undefined {
  const mm = majorMinor(os.version);
  if (!mm) return undefined;
  const [yy, month] = mm.split('.');
  const lts = month === '04' && Number(yy) % 2 === 0;
  if (!lts) return `Ubuntu:${mm}`;
  // Ubuntu Pro (ESM) enabled: its fixes are filed under 'Ubuntu:Pro:<release>:LTS'
  return os.extended ? `Ubuntu:Pro:${mm}:LTS` : `Ubuntu:${mm}:LTS`;
}

/**
 * Further OSV ecosystems whose entries apply to this package: an Ubuntu Pro system still runs the
 * plain LTS release, so 'Ubuntu:22.04:LTS' entries count beside 'Ubuntu:Pro:22.04:LTS' ones.
 */
export function alsoEcosystems(pkg: Package, os?: OsInfo): string[] {
  if (!os || !OS_PACKAGE_TYPES.has(pkg.type) || os.family !== 'ubuntu' || !os.extended) return [];
  const e = ubuntuEcosystem(os);
  return e?.startsWith('Ubuntu:Pro:') ? [e.replace('Ubuntu:Pro:', 'Ubuntu:')] : [];
}

/**
 * SUSE and openSUSE name the release by os-release PRETTY_NAME without the vendor word:
 * 'openSUSE Leap 15.5' → 'openSUSE:Leap 15.5', 'openSUSE Tumbleweed' → 'openSUSE:Tumbleweed',
 * 'SUSE Linux Enterprise Server 15 SP5' → 'SUSE:Linux Enterprise Server 15 SP5'. Without a
 * PRETTY_NAME the product and VERSION_ID give the same string.
 */
function suseEcosystem(os: OsInfo): string | undefined {
  const opensuse = os.family.startsWith('opensuse');
  const vendor = opensuse ? 'openSUSE' : 'SUSE';
  const pretty = os.prettyName?.trim();
  if (pretty) {
    const rest = pretty.startsWith(`${vendor} `) ? pretty.slice(vendor.length + 1).trim() : pretty;
    return rest ? `${vendor}:${rest}` : undefined;
  }
  if (os.family === 'opensuse.tumbleweed') return 'openSUSE:Tumbleweed';
  if (os.family === 'opensuse.leap') return os.version ? `openSUSE:Leap ${os.version}` : undefined;
  const m = /^(\d+)(?:\.(\d+))?/.exec(os.version);
  if (!m) return undefined;
  const sp = m[2] && m[2] !== '0' ? ` SP${m[2]}` : '';
  const product = os.family === 'suse linux enterprise micro' ? 'Linux Enterprise Micro' : 'Linux Enterprise Server';
  return os.family === 'suse linux enterprise micro' ? `SUSE:${product} ${os.version}` : `SUSE:${product} ${m[1]}${sp}`;
}

/** The OSV ecosystem of an OS package under the detected OS. */
export function osOsvEcosystem(os: OsInfo): string | undefined {
  switch (os.family) {
    case 'debian': {
      const r = debianRelease(os);
      return r ? `Debian:${r}` : undefined;
    }
    case 'ubuntu':
      return ubuntuEcosystem(os);
    case 'alpine': {
      const mm = majorMinor(os.version);
      return mm ? `Alpine:v${mm}` : undefined;
    }
    case 'rocky': {
      const m = major(os.version);
      return m ? `Rocky Linux:${m}` : undefined;
    }
    case 'alma': {
      const m = major(os.version);
      return m ? `AlmaLinux:${m}` : undefined;
    }
    case 'azurelinux': {
      const m = major(os.version);
      return m ? `Azure Linux:${m}` : undefined;
    }
    case 'photon':
      return `Photon OS:${os.version}`;
    case 'wolfi':
      return 'Wolfi';
    case 'chainguard':
      return 'Chainguard';
    case 'opensuse.leap':
    case 'opensuse.tumbleweed':
    case 'suse linux enterprise server':
    case 'suse linux enterprise micro':
      return suseEcosystem(os);
    default:
      return undefined;
  }
}

/** OSV ecosystem for a package: `Debian:12`, `Alpine:v3.19`, `Ubuntu:22.04:LTS`, `npm`, `PyPI` … */
export function osvEcosystem(pkg: Package, os?: OsInfo): string | undefined {
  if (OS_PACKAGE_TYPES.has(pkg.type)) return os ? osOsvEcosystem(os) : undefined;
  return LANG[pkg.type];
}

/** Families whose OSV records name the binary package rather than the source package. */
const BINARY_NAMED = new Set<string>(['wolfi', 'chainguard', 'photon']);

/**
 * The name OSV records use for this package: the source package for Debian, Ubuntu, Alpine (origin),
 * Rocky, AlmaLinux, Azure Linux and SUSE; the binary name for Wolfi, Chainguard, Photon and
 * language packages.
 */
export function matchName(pkg: Package, os?: OsInfo): string {
  if (!OS_PACKAGE_TYPES.has(pkg.type)) return pkg.name;
  if (os && BINARY_NAMED.has(os.family)) return pkg.name;
  return pkg.source?.name || pkg.name;
}

/** RPM families whose feeds name packages by source RPM in some records and by binary RPM in others. */
const RPM_BOTH_NAMES = new Set<string>(['rocky', 'alma', 'azurelinux', 'opensuse.leap', 'opensuse.tumbleweed', 'suse linux enterprise server', 'suse linux enterprise micro']);

/**
 * Every name to look the package up by: matchName, then, for RPM families whose OSV feeds list
 * binary RPMs (SUSE, openSUSE) or source RPMs (Rocky, AlmaLinux advisories), the other one too. A
 * record that names both still gives one match per record.
 */
export function matchNames(pkg: Package, os?: OsInfo): string[] {
  const first = matchName(pkg, os);
  if (pkg.type !== 'rpm' || !os || !RPM_BOTH_NAMES.has(os.family) || first === pkg.name) return [first];
  return [first, pkg.name];
}

/** The version to compare in that ecosystem: the source version where the source name is matched. */
export function matchVersion(pkg: Package, os?: OsInfo): string {
  if (pkg.type === 'deb' && !(os && BINARY_NAMED.has(os.family))) return pkg.source?.version || pkg.version;
  return pkg.version;
}
