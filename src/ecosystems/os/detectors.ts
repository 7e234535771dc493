/**
 * OS release detection, one detector per family group, tried in table order (first match wins).
 * Versions are the strings Trivy reports as Metadata.OS.Name, so Trivy-compatible reports and
 * Trivy DB bucket names need no mapping.
 */
import type { FileHeader, OsFamily, OsInfo, ReadonlyFs } from '../../domain/index.ts';
import type { OsDetector } from '../types.ts';
import { OS_RELEASE_PATHS, makeOs, firstLine, parseKeyValue, readOsRelease, readText } from './release.ts';

function wantsPaths(paths: readonly string[]): (f: FileHeader) => boolean {
  const set = new Set(paths);
  return (f) => set.has(f.path);
}

const withOsRelease = (...paths: string[]): readonly string[] => [...paths, ...OS_RELEASE_PATHS];

function pretty(rel: Map<string, string> | undefined): string | undefined {
  return rel?.get('PRETTY_NAME') || undefined;
}

/** os-release IDs whose family needs no other release file (Trivy's os-release analyzer). */
const OS_RELEASE_FAMILIES: Readonly<Record<string, OsFamily>> = {
  wolfi: 'wolfi',
  chainguard: 'chainguard',
  'opensuse-tumbleweed': 'opensuse.tumbleweed',
  'opensuse-leap': 'opensuse.leap',
  opensuse: 'opensuse.leap',
  sles: 'suse linux enterprise server',
  'sle-micro': 'suse linux enterprise micro',
  'sl-micro': 'suse linux enterprise micro',
  'sle-micro-rancher': 'suse linux enterprise micro',
  photon: 'photon',
  azurelinux: 'azurelinux',
  mariner: 'cbl-mariner',
};

/** Wolfi, Chainguard, SUSE/openSUSE, Photon, CBL-Mariner/Azure Linux: os-release ID + VERSION_ID. */
/**
 * etc/mariner-release → the full version ('CBL-Mariner 2.0.20220226' → '2.0.20220226'): the first
 * line of exactly two words whose first is CBL-Mariner (any case), as Trivy's mariner analyzer reads it.
 */
export function parseMarinerRelease(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 2 && f[0]?.toLowerCase() === 'cbl-mariner' && f[1]) return f[1];
  }
  return undefined;
}

export const osReleaseDetector: OsDetector = {
  id: 'os-release',
  version: 2, // 2: mariner-release read line by line
  wants: wantsPaths(withOsRelease('etc/mariner-release')),
  detect(fs: ReadonlyFs): OsInfo | undefined {
    const rel = readOsRelease(fs);
    // CBL-Mariner: etc/mariner-release "CBL-Mariner 2.0.20220226" is what Trivy reads, so it wins
    const marinerText = readText(fs, 'etc/mariner-release');
    const mariner = marinerText === undefined ? undefined : parseMarinerRelease(marinerText);
    if (mariner) return makeOs('cbl-mariner', mariner, { prettyName: pretty(rel) });
    const family = rel ? OS_RELEASE_FAMILIES[rel.get('ID') ?? ''] : undefined;
    const version = rel?.get('VERSION_ID');
    if (!family || !version) return undefined;
    return makeOs(family, version, { prettyName: pretty(rel), codename: rel?.get('VERSION_CODENAME') });
  },
};

const APK_REPO_URL = /(https*|ftp):\/\/[0-9A-Za-z.-]+\/([A-Za-z]+)\/v?([0-9A-Za-z_.-]+)\//;

function numericParts(v: string): number[] | undefined {
  const m = /^(\d+(?:\.\d+)*)/.exec(v);
  return m?.[1] ? m[1].split('.').map(Number) : undefined;
}

/**
 * etc/apk/repositories → the newest release it points at ('3.19', 'edge'), as Trivy's apk-repo
 * analyzer reads it; undefined for other distributions or mixed ones.
 */
export function parseApkRepositories(text: string): { family: string; release: string } | undefined {
  let family = '';
  let release = '';
  for (const line of text.split('\n')) {
    const m = APK_REPO_URL.exec(line);
    if (!m?.[2] || !m[3]) continue;
    if (family && family !== m[2]) return undefined;
    family = m[2];
    const v = m[3];
    if (!release) release = v;
    else if (release === 'edge' || v === 'edge') release = 'edge';
    else {
      const a = numericParts(release);
      const b = numericParts(v);
      if (!a || !b) continue;
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        const d = (b[i] ?? 0) - (a[i] ?? 0);
        if (d !== 0) {
          if (d > 0) release = v;
          break;
        }
      }
    }
  }
  return family === 'alpine' && release ? { family, release } : undefined;
}

/** Alpine: etc/alpine-release holds the full version ('3.19.1'); etc/apk/repositories the stream. */
export const alpineDetector: OsDetector = {
  id: 'alpine',
  version: 2, // 2: reads etc/apk/repositories
  wants: wantsPaths(withOsRelease('etc/alpine-release', 'etc/apk/repositories')),
  detect(fs) {
    const rel = readOsRelease(fs);
    const version = firstLine(readText(fs, 'etc/alpine-release')) ?? (rel?.get('ID') === 'alpine' ? rel.get('VERSION_ID') : undefined);
    if (!version) return undefined;
    const os = makeOs('alpine', version, { prettyName: pretty(rel) });
    const repos = readText(fs, 'etc/apk/repositories');
    const repository = repos === undefined ? undefined : parseApkRepositories(repos);
    if (repository) os.repository = repository;
    return os;
  },
};

export const UBUNTU_ADVANTAGE_STATUS = 'var/lib/ubuntu-advantage/status.json';

/**
 * Ubuntu Pro / ESM: `var/lib/ubuntu-advantage/status.json` (written by `pro attach`) lists the
 * services; ESM is on when `esm-infra` is `enabled` (Trivy's ubuntu ESM analyzer). Unreadable → off.
 */
export function esmEnabled(text: string): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return false;
  }
  const services = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['services'] : undefined;
  if (!Array.isArray(services)) return false;
  return services.some((s: unknown) => {
    if (typeof s !== 'object' || s === null) return false;
    const r = s as Record<string, unknown>;
    return r['name'] === 'esm-infra' && r['status'] === 'enabled';
  });
}

/**
 * Ubuntu: lsb-release DISTRIB_RELEASE ('22.04'), else os-release; `extended` when Ubuntu Pro ESM is
 * enabled. Before Debian: Ubuntu has debian_version too.
 */
export const ubuntuDetector: OsDetector = {
  id: 'ubuntu',
  version: 2, // 2: ubuntu-advantage status.json (ESM)
  wants: wantsPaths(withOsRelease('etc/lsb-release', UBUNTU_ADVANTAGE_STATUS)),
  detect(fs) {
    const rel = readOsRelease(fs);
    const lsbText = readText(fs, 'etc/lsb-release');
    const lsb = lsbText === undefined ? undefined : parseKeyValue(lsbText);
    let version: string | undefined;
    let codename: string | undefined;
    if (lsb?.get('DISTRIB_ID') === 'Ubuntu' && lsb.get('DISTRIB_RELEASE')) {
      version = lsb.get('DISTRIB_RELEASE');
      codename = lsb.get('DISTRIB_CODENAME');
    } else if (rel?.get('ID') === 'ubuntu' && rel.get('VERSION_ID')) {
      version = rel.get('VERSION_ID');
      codename = rel.get('VERSION_CODENAME') ?? rel.get('UBUNTU_CODENAME');
    }
    if (!version) return undefined;
    const status = readText(fs, UBUNTU_ADVANTAGE_STATUS);
    const extended = status !== undefined && esmEnabled(status);
    return makeOs('ubuntu', version, { codename, prettyName: pretty(rel), extended });
  },
};

/**
 * Debian: etc/debian_version verbatim as Trivy reports it ('12.5', '9.13', 'trixie/sid'), else
 * os-release VERSION_ID. Google's distroless images say PRETTY_NAME="Distroless".
 */
export const debianDetector: OsDetector = {
  id: 'debian',
  wants: wantsPaths(withOsRelease('etc/debian_version')),
  detect(fs) {
    const rel = readOsRelease(fs);
    const id = rel?.get('ID');
    const version = firstLine(readText(fs, 'etc/debian_version')) ?? (id === 'debian' ? rel?.get('VERSION_ID') : undefined);
    if (!version) return undefined;
    const prettyName = pretty(rel);
    const distroless = /distroless/i.test(prettyName ?? '');
    return makeOs('debian', version, { codename: rel?.get('VERSION_CODENAME'), prettyName, distroless });
  },
};

/**
 * Amazon Linux: etc/system-release or usr/lib/system-release ('2 (Karoo)', 'AMI release 2018.03',
 * '2023.3.20240108 (Amazon Linux)'), line by line as Trivy's amazonlinux analyzer reads it.
 */
export function parseAmazonRelease(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // "Amazon Linux release 2 (Karoo)", "Amazon Linux release 2023.3.20240108 (Amazon Linux)";
    // "Amazon Linux release 2" alone (no code name) is not one Trivy accepts
    if (line.startsWith('Amazon Linux release 2')) {
      if (fields.length >= 5) return fields.slice(3).join(' ');
      continue;
    }
    // "Amazon Linux AMI release 2018.03" → "AMI release 2018.03", verbatim as Trivy names it (its
    // Amazon matcher reads the first word: anything but 2/2022/2023 is Amazon Linux 1)
    if (line.startsWith('Amazon Linux')) return fields.slice(2).join(' ') || undefined;
  }
  return undefined;
}

/** etc/system-release for Amazon Linux 1 and 2; 2022 and later keep it in usr/lib. */
const AMAZON_FILES = ['etc/system-release', 'usr/lib/system-release'] as const;

export const amazonDetector: OsDetector = {
  id: 'amazon',
  version: 2, // 2: usr/lib/system-release; 'release 2' without code name refused
  wants: wantsPaths(withOsRelease(...AMAZON_FILES)),
  detect(fs) {
    const rel = readOsRelease(fs);
    let text: string | undefined;
    for (const p of AMAZON_FILES) {
      const t = readText(fs, p);
      if (t !== undefined && parseAmazonRelease(t)) {
        text = t;
        break;
      }
    }
    const version = (text && parseAmazonRelease(text)) || (rel?.get('ID') === 'amzn' ? rel.get('VERSION_ID') : undefined);
    return version ? makeOs('amazon', version, { prettyName: pretty(rel) }) : undefined;
  },
};

const RELEASE_RE = /^(.*) release (\d[\d.]*)/;

/** "CentOS Linux release 7.6.1810 (Core)" → centos 7.6.1810 (Trivy's redhatbase rules). */
export function parseRedhatRelease(text: string): OsInfo | undefined {
  const m = RELEASE_RE.exec(firstLine(text) ?? '');
  if (!m?.[1] || !m[2]) return undefined;
  const name = m[1].toLowerCase();
  const version = m[2];
  // "Red Hat Enterprise Linux CoreOS release 4.16" is the OpenShift release, not RHEL 4.16
  if (name.includes('coreos')) return undefined;
  if (name === 'centos' || name === 'centos linux' || name === 'centos stream') return { family: 'centos', version };
  if (name === 'rocky' || name === 'rocky linux') return { family: 'rocky', version };
  if (name === 'alma' || name === 'almalinux' || name === 'alma linux') return { family: 'alma', version };
  if (name.startsWith('oracle')) return { family: 'oracle', version };
  if (name === 'fedora' || name === 'fedora linux') return { family: 'fedora', version };
  if (name.startsWith('amazon')) return undefined;
  return { family: 'redhat', version };
}

const RH_FILES = [
  'etc/centos-release',
  'etc/rocky-release',
  'etc/almalinux-release',
  'etc/oracle-release',
  'etc/fedora-release',
  'etc/redhat-release',
] as const;

const OS_RELEASE_RH: Readonly<Record<string, OsFamily>> = {
  rhel: 'redhat',
  centos: 'centos',
  rocky: 'rocky',
  almalinux: 'alma',
  ol: 'oracle',
  fedora: 'fedora',
};

/** cpe:/o:<vendor>:… vendors of etc/system-release-cpe. */
const CPE_VENDORS: Readonly<Record<string, OsFamily>> = {
  redhat: 'redhat',
  centos: 'centos',
  rocky: 'rocky',
  almalinux: 'alma',
  oracle: 'oracle',
  fedoraproject: 'fedora',
};

/**
 * etc/system-release-cpe ('cpe:/o:centos:linux:6:GA', 'cpe:/o:redhat:enterprise_linux:7.3:GA:server',
 * or the CPE 2.3 form) → family and version, the last resort when no release file names the OS
 * (syft's parseSystemReleaseCPE case).
 */
export function parseSystemReleaseCpe(text: string): OsInfo | undefined {
  const line = firstLine(text) ?? '';
  const parts = line.startsWith('cpe:/o:') ? line.slice(7).split(':') : line.startsWith('cpe:2.3:o:') ? line.slice(10).split(':') : undefined;
  const family = parts ? CPE_VENDORS[parts[0]?.toLowerCase() ?? ''] : undefined;
  const version = parts?.[2];
  return family && version && /^\d[\d.]*$/.test(version) ? { family, version } : undefined;
}

/**
 * RHEL family: the most specific release file first, then os-release ID/VERSION_ID, then
 * etc/system-release-cpe. OpenShift's RHCOS (ID=rhcos) is RHEL underneath: its RHEL_VERSION counts.
 */
export const redhatDetector: OsDetector = {
  id: 'redhat',
  version: 2, // 2: RHCOS, system-release-cpe
  wants: wantsPaths(withOsRelease(...RH_FILES, 'etc/system-release-cpe')),
  detect(fs) {
    const rel = readOsRelease(fs);
    for (const p of RH_FILES) {
      const text = readText(fs, p);
      const found = text === undefined ? undefined : parseRedhatRelease(text);
      if (found) return makeOs(found.family, found.version, { prettyName: pretty(rel) });
    }
    const id = rel?.get('ID') ?? '';
    if (id === 'rhcos') {
      const rhel = rel?.get('RHEL_VERSION');
      return rhel ? makeOs('redhat', rhel, { prettyName: pretty(rel) }) : undefined;
    }
    const family = OS_RELEASE_RH[id];
    const version = rel?.get('VERSION_ID');
    if (family && version) return makeOs(family, version, { prettyName: pretty(rel) });
    if (rel?.get('ID')) return undefined; // an os-release naming another OS beats a stray CPE file
    const cpeText = readText(fs, 'etc/system-release-cpe');
    const cpe = cpeText === undefined ? undefined : parseSystemReleaseCpe(cpeText);
    return cpe ? makeOs(cpe.family, cpe.version) : undefined;
  },
};
