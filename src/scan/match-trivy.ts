/**
 * Matching an Inventory against Trivy's DB the way Trivy 0.44 does, so findings agree row by row:
 * one driver per OS family (which bucket, which package name and version are compared, how unfixed
 * advisories are treated), one comparer per language ecosystem, and Trivy's vendor-first severity
 * choice with the SeveritySource it reports.
 */
import type { CvssEntry, Finding, FindingStatus, Inventory, OsInfo, Package, PackageType, Severity } from '../domain/index.ts';
import { compareVersions } from '../versions/index.ts';
import { TRIVY_SEVERITIES, TRIVY_STATUSES, type TrivyDataSource, type TrivyDb, type TrivyOsAdvisory, type TrivyVulnerability } from '../vulndb/trivy/db.ts';
import { satisfiesAny, type Compare } from './trivy-constraints.ts';

/** A match before the vulnerability details are filled in. */
interface RawVuln {
  id: string;
  pkg: Package;
  installed: string;
  fixed?: string;
  status?: number;
  vendorIds?: string[];
  dataSource?: TrivyDataSource;
  /** Package-specific severity from the advisory itself (Debian, Red Hat, …). */
  severity?: Severity;
  severitySource?: string;
}

const major = (v: string): string => v.split('.')[0] ?? v;
const majorMinor = (v: string): string => v.split('.').slice(0, 2).join('.');
const sev = (n: number | undefined): Severity | undefined => (n !== undefined && n > 0 ? TRIVY_SEVERITIES[n] : undefined);
const srcName = (p: Package): string => p.source?.name || p.name;
const srcVersion = (p: Package): string => p.source?.version || p.version;

function safeCmp(eco: string): Compare {
  return (a, b) => compareVersions(eco, a, b);
}
const lessThan = (eco: string, a: string, b: string): boolean => {
  try {
    return compareVersions(eco, a, b) < 0;
  } catch {
    return false;
  }
};

interface OsDriver {
  bucket(os: OsInfo): string;
  detect(db: TrivyDb, bucket: string, pkg: Package, os: OsInfo): RawVuln[];
}

/** Debian and Ubuntu: source package, source version; unfixed advisories reported with their status. */
function debianLike(family: 'debian' | 'ubuntu'): OsDriver {
  return {
    bucket: (os) => (family === 'debian' ? `debian ${major(os.version)}` : `ubuntu ${os.version}`),
    detect(db, bucket, pkg) {
      const ds = db.dataSource(bucket);
      const out: RawVuln[] = [];
      for (const [id, adv] of db.osAdvisories(bucket, srcName(pkg))) {
        if (adv.Status === 1) continue; // not_affected
        const s = sev(adv.Severity);
        const v: RawVuln = { id, pkg, installed: pkg.version, ...(adv.Status ? { status: adv.Status } : {}), ...(adv.VendorIDs ? { vendorIds: adv.VendorIDs } : {}), ...(ds ? { dataSource: ds } : {}), ...(s ? { severity: s, severitySource: ds?.ID ?? family } : {}) };
        if (!adv.FixedVersion) out.push(v);
        else if (lessThan('Debian', srcVersion(pkg), adv.FixedVersion)) out.push({ ...v, fixed: adv.FixedVersion });
      }
      return out;
    },
  };
}

/** Binary-name drivers comparing the full installed EVR with the fixed version (Amazon, Oracle, SUSE, Photon). */
function binaryRpm(bucketOf: (os: OsInfo) => string, opts: { unfixed?: boolean; bySource?: boolean } = {}): OsDriver {
  return {
    bucket: bucketOf,
    detect(db, bucket, pkg) {
      const ds = db.dataSource(bucket);
      const out: RawVuln[] = [];
      for (const [id, adv] of db.osAdvisories(bucket, opts.bySource ? srcName(pkg) : pkg.name)) {
        if (bucket.startsWith('Oracle') && (adv.FixedVersion ?? '').includes('.ksplice1.') !== (pkg.release ?? pkg.version).includes('.ksplice1.')) continue;
        const base: RawVuln = { id, pkg, installed: pkg.version, ...(adv.VendorIDs ? { vendorIds: adv.VendorIDs } : {}), ...(ds ? { dataSource: ds } : {}) };
        if (!adv.FixedVersion) {
          if (opts.unfixed) out.push({ ...base, ...(adv.Status ? { status: adv.Status } : {}) });
          continue;
        }
        if (lessThan('Red Hat', pkg.version, adv.FixedVersion)) out.push({ ...base, fixed: adv.FixedVersion });
      }
      return out;
    },
  };
}

/** Rocky and Alma: binary name, entries filtered by architecture. */
function archEntries(bucketOf: (os: OsInfo) => string): OsDriver {
  return {
    bucket: bucketOf,
    detect(db, bucket, pkg) {
      const ds = db.dataSource(bucket);
      const out: RawVuln[] = [];
      for (const [id, adv] of db.osAdvisories(bucket, pkg.name)) {
        const entries = adv.Entries ?? [{ ...(adv.FixedVersion ? { FixedVersion: adv.FixedVersion } : {}), ...(adv.Arches ? { Arches: adv.Arches } : {}) }];
        for (const e of entries) {
          if (e.Arches && e.Arches.length > 0 && pkg.arch && !e.Arches.includes(pkg.arch)) continue;
          if (!e.FixedVersion || !lessThan('Red Hat', pkg.version, e.FixedVersion)) continue;
          const vendorIds = e.VendorIds ?? e.VendorIDs;
          out.push({ id, pkg, installed: pkg.version, fixed: dropZeroEpoch(e.FixedVersion), ...(vendorIds ? { vendorIds } : {}), ...(ds ? { dataSource: ds } : {}) });
        }
      }
      return out;
    },
  };
}

const dropZeroEpoch = (v: string): string => (v.startsWith('0:') ? v.slice(2) : v);

/** Red Hat content sets Trivy assumes when an image carries no content manifests. */
const DEFAULT_CONTENT_SETS: Record<string, string[]> = {
  '6': ['rhel-6-server-rpms', 'rhel-6-server-extras-rpms'],
  '7': ['rhel-7-server-rpms', 'rhel-7-server-extras-rpms'],
  '8': ['rhel-8-for-x86_64-baseos-rpms', 'rhel-8-for-x86_64-appstream-rpms'],
  '9': ['rhel-9-for-x86_64-baseos-rpms', 'rhel-9-for-x86_64-appstream-rpms'],
};

/** RHEL and CentOS: 'Red Hat' bucket, entries whose CPEs intersect the image's content sets. */
const redHat: OsDriver = {
  bucket: () => 'Red Hat',
  detect(db, bucket, pkg, os) {
    const cpes = db.redHatCpeIndices(DEFAULT_CONTENT_SETS[major(os.version)] ?? [], []);
    const uniq = new Map<string, RawVuln>();
    for (const [advId, adv] of db.osAdvisories(bucket, pkg.name)) {
      for (const entry of adv.Entries ?? []) {
        if (!(entry.Affected ?? []).some((i) => cpes.has(i))) continue;
        if (entry.Arches && entry.Arches.length > 0 && pkg.arch !== 'noarch' && pkg.arch && !entry.Arches.includes(pkg.arch)) continue;
        for (const cve of entry.Cves ?? [{}]) {
          const isCve = advId.startsWith('CVE-');
          const id = isCve ? advId : (cve.ID ?? advId);
          const s = sev(cve.Severity);
          const v: RawVuln = { id, pkg, installed: pkg.version, ...(entry.Status ? { status: entry.Status } : {}), ...(s ? { severity: s } : { severity: 'UNKNOWN' as const }), severitySource: 'redhat' };
          if (!entry.FixedVersion) {
            if (!uniq.has(id)) uniq.set(id, v);
            continue;
          }
          const fixed = dropZeroEpoch(entry.FixedVersion);
          if (!lessThan('Red Hat', pkg.version, fixed)) continue;
          const vendorIds = isCve ? [] : [advId];
          const prev = uniq.get(id);
          if (prev) {
            prev.vendorIds = [...(prev.vendorIds ?? []), ...vendorIds];
            if (!prev.fixed || lessThan('Red Hat', prev.fixed, fixed)) prev.fixed = fixed;
          } else uniq.set(id, { ...v, fixed, ...(vendorIds.length ? { vendorIds } : {}) });
        }
      }
    }
    return [...uniq.values()];
  },
};

/** Alpine: origin package, fixed advisories only (Trivy does not report unfixed Alpine advisories). */
const alpine: OsDriver = {
  bucket: (os) => (os.version.includes('edge') ? 'alpine edge' : `alpine ${majorMinor(os.version)}`),
  detect(db, bucket, pkg) {
    const ds = db.dataSource(bucket);
    const out: RawVuln[] = [];
    for (const [id, adv] of db.osAdvisories(bucket, srcName(pkg))) {
      if (!adv.FixedVersion || !lessThan('Alpine', srcVersion(pkg), adv.FixedVersion)) continue;
      out.push({ id, pkg, installed: pkg.version, fixed: adv.FixedVersion, ...(adv.VendorIDs ? { vendorIds: adv.VendorIDs } : {}), ...(ds ? { dataSource: ds } : {}) });
    }
    return out;
  },
};

const amazonBucket = (os: OsInfo): string => {
  const v = os.version.split(/\s+/)[0] ?? '';
  return `amazon linux ${['2', '2022', '2023'].includes(v) ? v : '1'}`;
};

const suseBucket = (os: OsInfo): string => {
  if (os.family === 'opensuse.tumbleweed') return 'openSUSE Tumbleweed';
  if (os.family === 'opensuse.leap') return `openSUSE Leap ${os.version}`;
  if (os.family === 'suse linux enterprise micro') return `SUSE Linux Enterprise Micro ${os.version}`;
  return `SUSE Linux Enterprise ${os.version}`;
};

/** The driver table: OS family → how Trivy detects. */
const OS_DRIVERS: Partial<Record<OsInfo['family'], OsDriver>> = {
  alpine,
  debian: debianLike('debian'),
  ubuntu: debianLike('ubuntu'),
  redhat: redHat,
  centos: redHat,
  rocky: archEntries((os) => `rocky ${major(os.version)}`),
  alma: archEntries((os) => `alma ${major(os.version)}`),
  amazon: binaryRpm(amazonBucket),
  oracle: binaryRpm((os) => `Oracle Linux ${major(os.version)}`),
  photon: binaryRpm((os) => `Photon OS ${majorMinor(os.version)}`),
  'cbl-mariner': binaryRpm((os) => `CBL-Mariner ${majorMinor(os.version)}`, { unfixed: true, bySource: true }),
  'opensuse.leap': binaryRpm(suseBucket),
  'opensuse.tumbleweed': binaryRpm(suseBucket),
  'suse linux enterprise server': binaryRpm(suseBucket),
  'suse linux enterprise micro': binaryRpm(suseBucket),
};

/** Language package types → trivy-db ecosystem prefix and the comparator used for its constraints. */
const LANG: Partial<Record<PackageType, { ecosystem: string; versions: string }>> = {
  'node-pkg': { ecosystem: 'npm', versions: 'npm' },
  npm: { ecosystem: 'npm', versions: 'npm' },
  yarn: { ecosystem: 'npm', versions: 'npm' },
  pnpm: { ecosystem: 'npm', versions: 'npm' },
  'python-pkg': { ecosystem: 'pip', versions: 'PyPI' },
  pip: { ecosystem: 'pip', versions: 'PyPI' },
  poetry: { ecosystem: 'pip', versions: 'PyPI' },
  pipenv: { ecosystem: 'pip', versions: 'PyPI' },
  gobinary: { ecosystem: 'go', versions: 'Go' },
  gomod: { ecosystem: 'go', versions: 'Go' },
  jar: { ecosystem: 'maven', versions: 'Maven' },
  pom: { ecosystem: 'maven', versions: 'Maven' },
  gemspec: { ecosystem: 'rubygems', versions: 'RubyGems' },
  bundler: { ecosystem: 'rubygems', versions: 'RubyGems' },
  cargo: { ecosystem: 'cargo', versions: 'crates.io' },
  composer: { ecosystem: 'composer', versions: 'Packagist' },
  nuget: { ecosystem: 'nuget', versions: 'NuGet' },
};

/** trivy-db's NormalizePkgName. */
function normalizeName(ecosystem: string, name: string): string {
  if (ecosystem === 'pip') return name.toLowerCase().replace(/[_.]/g, '-');
  if (ecosystem === 'nuget' || ecosystem === 'composer') return name.toLowerCase();
  return name;
}

/** Go versions: Trivy's generic comparer ignores a leading v; ours needs one. */
function goCompare(a: string, b: string): number {
  const v = (s: string): string => (s.startsWith('v') ? s : `v${s}`);
  return compareVersions('Go', v(a), v(b));
}

function detectLang(db: TrivyDb, pkg: Package): RawVuln[] {
  const lang = LANG[pkg.type];
  if (!lang) return [];
  const cmp: Compare = lang.ecosystem === 'go' ? goCompare : safeCmp(lang.versions);
  const out: RawVuln[] = [];
  const seen = new Set<string>();
  for (const { bucket, id, adv } of db.langAdvisories(lang.ecosystem, normalizeName(lang.ecosystem, pkg.name))) {
    if (!isVulnerable(pkg.version, adv.VulnerableVersions ?? [], [...(adv.PatchedVersions ?? []), ...(adv.UnaffectedVersions ?? [])], lang.ecosystem, cmp)) continue;
    if (seen.has(id)) continue;
    seen.add(id);
    const ds = db.dataSource(bucket);
    const fixed = fixedVersions(adv.PatchedVersions ?? [], adv.VulnerableVersions ?? []);
    out.push({ id, pkg, installed: pkg.version, ...(fixed ? { fixed } : {}), ...(ds ? { dataSource: ds } : {}) });
  }
  return out;
}

/** Trivy's compare.IsVulnerable. */
function isVulnerable(version: string, vulnerable: readonly string[], secure: readonly string[], eco: string, cmp: Compare): boolean {
  let matched = false;
  if (vulnerable.length > 0) {
    matched = satisfiesAny(version, vulnerable, eco, cmp);
    if (!matched) return false;
  }
  const sec = secure.filter((s) => s.trim() !== '');
  if (sec.length === 0) return matched;
  return !satisfiesAny(version, sec, eco, cmp);
}

/** Trivy's createFixedVersions: patched versions, else the `< X` bounds of the vulnerable ranges. */
function fixedVersions(patched: readonly string[], vulnerable: readonly string[]): string {
  const list = patched.length > 0 ? [...patched] : vulnerable.flatMap((v) => v.split(',').map((s) => s.trim()).filter((s) => s.startsWith('<') && !s.startsWith('<=')).map((s) => s.slice(1).trim()));
  return [...new Set(list)].join(', ');
}

/** Trivy's getPrimaryURL. */
function primaryUrl(id: string, refs: readonly string[], source: string | undefined): string | undefined {
  if (id.startsWith('CVE-')) return `https://avd.aquasec.com/nvd/${id.toLowerCase()}`;
  if (id.startsWith('RUSTSEC-')) return `https://osv.dev/vulnerability/${id}`;
  if (id.startsWith('GHSA-')) return `https://github.com/advisories/${id}`;
  if (id.startsWith('TEMP-')) return `https://security-tracker.debian.org/tracker/${id}`;
  const prefixes: Record<string, string[]> = {
    debian: ['http://www.debian.org', 'https://www.debian.org'],
    ubuntu: ['http://www.ubuntu.com', 'https://usn.ubuntu.com'],
    redhat: ['https://access.redhat.com'],
    'suse-cvrf': ['http://lists.opensuse.org', 'https://lists.opensuse.org'],
    'oracle-oval': ['http://linux.oracle.com/errata', 'https://linux.oracle.com/errata'],
    'nodejs-security-wg': ['https://www.npmjs.com', 'https://hackerone.com'],
    'ruby-advisory-db': ['https://groups.google.com'],
  };
  for (const pre of prefixes[source ?? ''] ?? []) for (const r of refs) if (r.startsWith(pre)) return r;
  return undefined;
}

function toStatus(raw: RawVuln): FindingStatus {
  const s = raw.status ? TRIVY_STATUSES[raw.status] : undefined;
  if (!s || s === 'unknown') return raw.fixed ? 'fixed' : 'affected';
  return s === 'not_affected' ? 'unknown' : s;
}

/** Trivy's FillInfo: vulnerability details, vendor-first severity and its source. */
function fill(db: TrivyDb, raw: RawVuln): Finding {
  const vuln: TrivyVulnerability = db.vulnerability(raw.id) ?? {};
  const source = raw.dataSource?.ID;
  const vendor: Record<string, Severity> = {};
  for (const [k, n] of Object.entries(vuln.VendorSeverity ?? {})) vendor[k] = TRIVY_SEVERITIES[n] ?? 'UNKNOWN';
  let severity: Severity;
  let severitySource: string;
  if (raw.severitySource) {
    severity = raw.severity ?? 'UNKNOWN';
    severitySource = raw.severitySource;
    vendor[severitySource] = severity;
  } else if (source && vendor[source]) {
    severity = vendor[source];
    severitySource = source;
  } else if (vendor['nvd']) {
    severity = vendor['nvd'];
    severitySource = 'nvd';
  } else {
    severity = (TRIVY_SEVERITIES as readonly string[]).includes(vuln.Severity ?? '') ? (vuln.Severity as Severity) : 'UNKNOWN';
    severitySource = '';
  }
  const cvss: Record<string, CvssEntry> = {};
  for (const [k, c] of Object.entries(vuln.CVSS ?? {})) {
    cvss[k] = {
      ...(c.V2Vector ? { v2Vector: c.V2Vector } : {}),
      ...(c.V2Score !== undefined ? { v2Score: c.V2Score } : {}),
      ...(c.V3Vector ? { v3Vector: c.V3Vector } : {}),
      ...(c.V3Score !== undefined ? { v3Score: c.V3Score } : {}),
      ...(c.V40Vector ? { v40Vector: c.V40Vector } : {}),
      ...(c.V40Score !== undefined ? { v40Score: c.V40Score } : {}),
    };
  }
  const score: number | undefined = (source ? cvss[source]?.v3Score : undefined) ?? cvss['nvd']?.v3Score;
  const url = primaryUrl(raw.id, vuln.References ?? [], source);
  return {
    advisoryId: raw.id,
    aliases: raw.vendorIds ?? [],
    ...(raw.vendorIds?.length ? { vendorIds: raw.vendorIds } : {}),
    package: raw.pkg,
    installedVersion: raw.installed,
    ...(raw.fixed ? { fixedVersion: raw.fixed } : {}),
    status: toStatus(raw),
    severity,
    ...(score !== undefined ? { score } : {}),
    severitySource,
    ...(Object.keys(vendor).length ? { vendorSeverity: vendor } : {}),
    ...(Object.keys(cvss).length ? { cvss } : {}),
    ...(vuln.Title ? { title: vuln.Title } : {}),
    ...(vuln.Description ? { description: vuln.Description } : {}),
    ...(url ? { url } : {}),
    ...(vuln.References?.length ? { references: vuln.References } : {}),
    ...(raw.dataSource ? { dataSource: { id: raw.dataSource.ID ?? '', name: raw.dataSource.Name, url: raw.dataSource.URL } } : {}),
    ...(vuln.PublishedDate ? { publishedDate: vuln.PublishedDate } : {}),
    ...(vuln.LastModifiedDate ? { lastModifiedDate: vuln.LastModifiedDate } : {}),
    ...(vuln.CweIDs?.length ? { cweIds: vuln.CweIDs } : {}),
  };
}

const SEV_ORDER: Record<Severity, number> = { CRITICAL: 4, HIGH: 3, MEDIUM: 2, LOW: 1, UNKNOWN: 0 };

/** Trivy's order inside a result: package name, installed version, severity (worst first), id. */
export function compareTrivyOrder(a: Finding, b: Finding): number {
  if (a.package.name !== b.package.name) return a.package.name < b.package.name ? -1 : 1;
  if (a.installedVersion !== b.installedVersion) return a.installedVersion < b.installedVersion ? -1 : 1;
  const s = SEV_ORDER[b.severity] - SEV_ORDER[a.severity];
  if (s !== 0) return s;
  return a.advisoryId < b.advisoryId ? -1 : a.advisoryId > b.advisoryId ? 1 : 0;
}

export function matchTrivy(inventory: Inventory, db: TrivyDb): { findings: Finding[]; notes: string[] } {
  const notes: string[] = [];
  const raws: RawVuln[] = [];
  const os = inventory.os;
  const osPkgs = inventory.packages.filter((p) => p.type === 'apk' || p.type === 'deb' || p.type === 'rpm');
  if (os && osPkgs.length > 0) {
    const driver = OS_DRIVERS[os.family];
    if (!driver) notes.push(`OS ${os.family} ${os.version} is not supported by the Trivy DB: its ${osPkgs.length} packages were not checked`);
    else {
      const bucket = driver.bucket(os);
      if (!db.rootBuckets().includes(bucket)) notes.push(`the Trivy DB has no advisories for ${os.family} ${os.version} (bucket '${bucket}'): OS packages were not checked`);
      else for (const p of osPkgs) raws.push(...driver.detect(db, bucket, p, os));
    }
  } else if (osPkgs.length > 0) notes.push(`no OS release found: ${osPkgs.length} OS packages were not checked`);
  for (const p of inventory.packages) if (LANG[p.type]) raws.push(...detectLang(db, p));
  const findings = raws.map((r) => fill(db, r)).sort(compareTrivyOrder);
  return { findings, notes };
}
