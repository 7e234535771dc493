/**
 * Matching an Inventory against Trivy's DB the way Trivy 0.44 does, so findings agree row by row.
 *
 * One driver per OS family, as Trivy's pkg/detector/ospkg: which bucket (and how the release is cut
 * down to its name), which package name is looked up (source or binary), which version is compared
 * (source or installed) with which comparator, what happens to advisories without a fix, and how the
 * fixed version is printed. Then, as Trivy's local scanner and pkg/vulnerability do for every row:
 * the status (a fixed version makes it `fixed`, else the advisory's status, else `affected`), the
 * vendor-first severity with its SeveritySource, the PrimaryURL, and the de-duplication of rows with
 * the same vulnerability, package name, installed version and path. Every rule here was checked
 * against the real Trivy 0.44.1 on the trees of src/vulndb/trivy/testdata and
 * ../shared/testdata/trivy-db (test/integration/trivydb-match.test.ts).
 */
import type { CvssEntry, Finding, FindingStatus, Inventory, OsInfo, Package, Severity } from '../domain/index.ts';
import { comparatorFor, type Comparator } from '../versions/index.ts';
import { trivyEosl } from '../vulndb/trivy/eol.ts';
import { TRIVY_SEVERITIES, TRIVY_STATUSES, type TrivyAdvisoryEntry, type TrivyDataSource, type TrivyDb, type TrivyVulnerability } from '../vulndb/trivy/db.ts';
import { genericMatch, isVulnerable, mavenMatch, npmMatch, pep440Match, rubygemsMatch, type Matcher } from './trivy-constraints.ts';

/** A match before the vulnerability details are filled in (Trivy's DetectedVulnerability). */
interface RawVuln {
  id: string;
  pkg: Package;
  installed: string;
  fixed?: string;
  status?: number;
  vendorIds?: string[];
  dataSource?: TrivyDataSource;
  /** Package-specific severity set by the driver (Debian, Red Hat); wins over the vulnerability record. */
  severity?: Severity;
  severitySource?: string;
}

// ---------------------------------------------------------------------------------------------------
// versions as Trivy's drivers see them

/** Trivy's `osVer[:strings.Index(osVer, ".")]`: '8.5' → '8'. */
const major = (v: string): string => (v.includes('.') ? v.slice(0, v.indexOf('.')) : v);
/** Trivy's "more than one dot: drop the last part": '3.10.2' → '3.10', '1.0.20220122' → '1.0', '3.10' stays. */
const dropPatch = (v: string): string => ((v.match(/\./g)?.length ?? 0) > 1 ? v.slice(0, v.lastIndexOf('.')) : v);

const srcName = (p: Package): string => p.source?.name || p.name;
/** Trivy's FormatSrcVersion: the source version when the cataloger knows one, else the package's. */
const srcVersion = (p: Package): string => p.source?.version || p.version;

function comparator(eco: string): Comparator {
  const c = comparatorFor(eco);
  if (!c) throw new Error(`no ${eco} version comparator`);
  return c;
}
const RPM = comparator('Red Hat');
const DEB = comparator('Debian');
const APK = comparator('Alpine');

/** go-rpm-version: every string parses; String() prints the epoch only when it is not 0. */
function rpmString(v: string): string {
  const m = /^(\d*):(.*)$/.exec(v);
  if (!m) return v;
  return Number(m[1] || '0') > 0 ? `${Number(m[1])}:${m[2] ?? ''}` : (m[2] ?? '');
}
const rpmLess = (a: string, b: string): boolean => RPM.compare(a, b) < 0;
/** go-deb-version / go-apk-version refuse malformed versions: Trivy then skips the package or advisory. */
const debLess = (a: string, b: string): boolean | undefined => (DEB.isValid(a) && DEB.isValid(b) ? DEB.compare(a, b) < 0 : undefined);
const apkValid = (v: string): boolean => APK.isValid(v);

const sev = (n: number | undefined): Severity | undefined => (n !== undefined && n >= 0 && n < TRIVY_SEVERITIES.length ? TRIVY_SEVERITIES[n] : undefined);

/** trivy-db's addModularNamespace: ('npm', 'nodejs:12:8030020201124152102:229f0a1c') → 'nodejs:12::npm'. */
function modularName(name: string, label: string | undefined): string {
  if (!label) return name;
  const parts = label.split(':');
  return parts.length >= 3 ? `${parts[0]}:${parts[1]}::${name}` : name;
}
const modularity = (p: Package): string | undefined => p.extra?.['modularityLabel'] || undefined;

// ---------------------------------------------------------------------------------------------------
// OS drivers

interface DriverCtx {
  db: TrivyDb;
  bucket: string;
  os: OsInfo;
  ds: TrivyDataSource | undefined;
}

interface OsDriver {
  /** The root bucket this release reads. */
  bucket(os: OsInfo): string;
  /** The package name the driver looks up (its advisories are read for all packages at once first). */
  name(pkg: Package): string;
  detect(ctx: DriverCtx, pkg: Package): RawVuln[];
}

function base(ctx: DriverCtx, id: string, pkg: Package, installed: string): RawVuln {
  const v: RawVuln = { id, pkg, installed };
  if (ctx.ds) v.dataSource = ctx.ds;
  return v;
}

/** Alpine 0.44: origin name, source version (also printed), unfixed advisories reported, AffectedVersion lower bound. */
const alpine: OsDriver = {
  bucket(os) {
    const osVer = dropPatch(os.version);
    const repo = os.repository?.family === 'alpine' ? dropPatch(os.repository.release) : '';
    return `alpine ${repo && repo !== osVer ? repo : osVer}`;
  },
  name: srcName,
  detect(ctx, pkg) {
    const installed = srcVersion(pkg);
    if (!apkValid(installed)) return [];
    const out: RawVuln[] = [];
    for (const [id, adv] of ctx.db.osAdvisories(ctx.bucket, srcName(pkg))) {
      if (adv.AffectedVersion) {
        if (!apkValid(adv.AffectedVersion) || APK.compare(adv.AffectedVersion, installed) > 0) continue;
      }
      const v = base(ctx, id, pkg, installed);
      if (adv.FixedVersion) {
        if (!apkValid(adv.FixedVersion) || APK.compare(installed, adv.FixedVersion) >= 0) continue;
        v.fixed = adv.FixedVersion;
      }
      out.push(v);
    }
    return out;
  },
};

/** Wolfi and Chainguard 0.44: one bucket without a release, origin name, installed version. */
function apkRolling(bucket: string): OsDriver {
  return {
    bucket: () => bucket,
    name: srcName,
    detect(ctx, pkg) {
      const installed = pkg.version;
      if (!apkValid(installed)) return [];
      const out: RawVuln[] = [];
      for (const [id, adv] of ctx.db.osAdvisories(ctx.bucket, srcName(pkg))) {
        const v = base(ctx, id, pkg, installed);
        if (adv.FixedVersion) {
          if (!apkValid(adv.FixedVersion) || APK.compare(installed, adv.FixedVersion) >= 0) continue;
          v.fixed = adv.FixedVersion;
        }
        out.push(v);
      }
      return out;
    },
  };
}

/**
 * The dpkg family as Trivy 0.44 matches it: source name, source version compared, installed version
 * printed; unfixed advisories keep their status. Debian (`vendor` set) also takes an advisory's own
 * severity, which is package-specific (SeveritySource 'debian'), and its vendor ids; Ubuntu does not.
 */
function dpkgFamily(bucket: OsDriver['bucket'], vendor?: 'debian'): OsDriver {
  return {
    bucket,
    name: srcName,
    detect(ctx, pkg) {
      const source = srcVersion(pkg);
      if (!DEB.isValid(source)) return [];
      const out: RawVuln[] = [];
      for (const [id, adv] of ctx.db.osAdvisories(ctx.bucket, srcName(pkg))) {
        const v = base(ctx, id, pkg, pkg.version);
        if (vendor) {
          if (adv.VendorIDs?.length) v.vendorIds = adv.VendorIDs;
          const s = sev(adv.Severity);
          if (s && s !== 'UNKNOWN') {
            v.severity = s;
            v.severitySource = vendor;
          }
        }
        if (!adv.FixedVersion) {
          if (adv.Status) v.status = adv.Status;
          out.push(v);
          continue;
        }
        if (debLess(source, adv.FixedVersion) !== true) continue;
        v.fixed = adv.FixedVersion;
        out.push(v);
      }
      return out;
    },
  };
}

/** Debian 0.44: the major release ('12'). */
const debian = dpkgFamily((os) => `debian ${major(os.version)}`, 'debian');

/** Ubuntu 0.44: the release as it is ('22.04'). */
const ubuntu = dpkgFamily((os) => `ubuntu ${os.version}`);

/** Amazon 0.44: first word of the release ('2', '2022', '2023', anything else is 1), binary name, dpkg order (sic). */
const amazon: OsDriver = {
  bucket(os) {
    const v = os.version.trim().split(/\s+/)[0] ?? '';
    return `amazon linux ${v === '2' || v === '2022' || v === '2023' ? v : '1'}`;
  },
  name: (pkg) => pkg.name,
  detect(ctx, pkg) {
    if (!DEB.isValid(pkg.version)) return [];
    const out: RawVuln[] = [];
    for (const [id, adv] of ctx.db.osAdvisories(ctx.bucket, pkg.name)) {
      if (debLess(pkg.version, adv.FixedVersion ?? '') !== true) continue;
      out.push({ ...base(ctx, id, pkg, pkg.version), fixed: adv.FixedVersion ?? '' });
    }
    return out;
  },
};

/** trivy's extractKsplice: the 'kspliceN' part of a release. */
function ksplice(v: string): string {
  return v.toLowerCase().split('.').find((s) => s.startsWith('ksplice')) ?? '';
}

/** Oracle 0.44: major release, binary name, ksplice builds only against the same ksplice fixes; no architecture filter. */
const oracle: OsDriver = {
  bucket: (os) => `Oracle Linux ${major(os.version)}`,
  name: (pkg) => pkg.name,
  detect(ctx, pkg) {
    const out: RawVuln[] = [];
    const release = pkg.release ?? pkg.version.slice(pkg.version.lastIndexOf('-') + 1);
    for (const [id, adv] of ctx.db.osAdvisories(ctx.bucket, pkg.name)) {
      const fixed = adv.FixedVersion ?? '';
      if (ksplice(fixed) !== ksplice(release)) continue;
      if (!rpmLess(pkg.version, fixed)) continue;
      out.push({ ...base(ctx, id, pkg, pkg.version), fixed });
    }
    return out;
  },
};

/** Photon 0.44: the release as it is ('3.0'), source name, installed version compared. */
const photon: OsDriver = {
  bucket: (os) => `Photon OS ${os.version}`,
  name: srcName,
  detect(ctx, pkg) {
    const out: RawVuln[] = [];
    for (const [id, adv] of ctx.db.osAdvisories(ctx.bucket, srcName(pkg))) {
      const fixed = adv.FixedVersion ?? '';
      if (!rpmLess(pkg.version, fixed)) continue;
      out.push({ ...base(ctx, id, pkg, pkg.version), fixed });
    }
    return out;
  },
};

/** SUSE 0.44 (SLES and openSUSE Leap only): the release as it is, binary name. */
function suse(prefix: string): OsDriver {
  return {
    bucket: (os) => `${prefix} ${os.version}`,
    name: (pkg) => pkg.name,
    detect(ctx, pkg) {
      const out: RawVuln[] = [];
      for (const [id, adv] of ctx.db.osAdvisories(ctx.bucket, pkg.name)) {
        const fixed = adv.FixedVersion ?? '';
        if (!rpmLess(pkg.version, fixed)) continue;
        out.push({ ...base(ctx, id, pkg, pkg.version), fixed });
      }
      return out;
    },
  };
}

/** CBL-Mariner 0.44: '1.0.20220122' → '1.0', source name and version, unfixed reported, fix printed without a 0 epoch. */
const mariner: OsDriver = {
  bucket: (os) => `CBL-Mariner ${dropPatch(os.version)}`,
  name: srcName,
  detect(ctx, pkg) {
    const out: RawVuln[] = [];
    const source = srcVersion(pkg);
    for (const [id, adv] of ctx.db.osAdvisories(ctx.bucket, srcName(pkg))) {
      const v = base(ctx, id, pkg, pkg.version);
      if (!adv.FixedVersion) {
        out.push(v);
        continue;
      }
      if (!rpmLess(source, adv.FixedVersion)) continue;
      v.fixed = rpmString(adv.FixedVersion);
      out.push(v);
    }
    return out;
  },
};

/**
 * Rocky 0.44: major release, binary name; modular packages are skipped (Rocky's errata lack them);
 * advisory entries filtered by architecture; no vendor ids.
 */
const rocky: OsDriver = {
  bucket: (os) => `rocky ${major(os.version)}`,
  name: (pkg) => pkg.name,
  detect(ctx, pkg) {
    if (modularity(pkg)) return [];
    const out: RawVuln[] = [];
    for (const [id, adv] of ctx.db.osAdvisories(ctx.bucket, pkg.name)) {
      const entries: TrivyAdvisoryEntry[] = adv.Entries ?? [{ ...(adv.FixedVersion ? { FixedVersion: adv.FixedVersion } : {}), ...(adv.Arches ? { Arches: adv.Arches } : {}) }];
      for (const e of entries) {
        if (e.Arches?.length && pkg.arch && !e.Arches.includes(pkg.arch)) continue;
        const fixed = e.FixedVersion ?? '';
        if (!rpmLess(pkg.version, fixed)) continue;
        out.push({ ...base(ctx, id, pkg, pkg.version), fixed: rpmString(fixed) });
      }
    }
    return out;
  },
};

/** Alma 0.44: major release; modular packages looked up as 'module:stream::name'; `.module_el` builds without a label skipped. */
const alma: OsDriver = {
  bucket: (os) => `alma ${major(os.version)}`,
  name: (pkg) => modularName(pkg.name, modularity(pkg)),
  detect(ctx, pkg) {
    const label = modularity(pkg);
    if (!label && (pkg.release ?? pkg.version).includes('.module_el')) return [];
    const out: RawVuln[] = [];
    for (const [id, adv] of ctx.db.osAdvisories(ctx.bucket, modularName(pkg.name, label))) {
      const fixed = adv.FixedVersion ?? '';
      if (!rpmLess(pkg.version, fixed)) continue;
      out.push({ ...base(ctx, id, pkg, pkg.version), fixed: rpmString(fixed) });
    }
    return out;
  },
};

/** Red Hat content sets Trivy assumes when the image carries no content manifests (its defaultContentSets). */
const DEFAULT_CONTENT_SETS: Record<string, string[]> = {
  '6': ['rhel-6-server-rpms', 'rhel-6-server-extras-rpms'],
  '7': ['rhel-7-server-rpms', 'rhel-7-server-extras-rpms'],
  '8': ['rhel-8-for-x86_64-baseos-rpms', 'rhel-8-for-x86_64-appstream-rpms'],
  '9': ['rhel-9-for-x86_64-baseos-rpms', 'rhel-9-for-x86_64-appstream-rpms'],
};

/**
 * RHEL and CentOS 0.44: the 'Red Hat' bucket; an advisory entry applies when its CPE indices meet
 * those of the image's content sets (the RHEL N defaults; Trivy reads content manifests only from
 * container images); one advisory per CVE of an entry; architecture filter unless noarch; several
 * RHSAs fixing one CVE fold into one row with the newest fix; `.remi` builds are skipped.
 */
const redHat: OsDriver = {
  bucket: () => 'Red Hat',
  name: (pkg) => modularName(pkg.name, modularity(pkg)),
  detect(ctx, pkg) {
    if ((pkg.release ?? pkg.version).endsWith('.remi')) return [];
    const contentSets = pkg.extra?.['contentSets'] !== undefined ? pkg.extra['contentSets'].split(',').filter(Boolean) : (DEFAULT_CONTENT_SETS[major(ctx.os.version)] ?? []);
    const nvr = pkg.extra?.['nvr'];
    const cpes = ctx.db.redHatCpeIndices(contentSets, nvr ? [nvr] : []);
    const uniq = new Map<string, RawVuln>();
    for (const [advId, adv] of ctx.db.osAdvisories(ctx.bucket, modularName(pkg.name, modularity(pkg)))) {
      for (const entry of adv.Entries ?? []) {
        if (!(entry.Affected ?? []).some((i) => cpes.has(i))) continue;
        if (entry.Arches?.length && pkg.arch !== 'noarch' && !entry.Arches.includes(pkg.arch ?? '')) continue;
        for (const cve of entry.Cves ?? []) {
          const isCve = advId.startsWith('CVE-');
          const id = isCve ? advId : (cve.ID ?? '');
          const v: RawVuln = { id, pkg, installed: pkg.version, severity: sev(cve.Severity) ?? 'UNKNOWN', severitySource: 'redhat' };
          if (entry.Status) v.status = entry.Status;
          if (!entry.FixedVersion) {
            if (!uniq.has(id)) uniq.set(id, v);
            continue;
          }
          if (!rpmLess(pkg.version, entry.FixedVersion)) continue;
          const fixed = rpmString(entry.FixedVersion);
          const vendorIds = isCve ? [] : [advId];
          const prev = uniq.get(id);
          if (prev) {
            prev.vendorIds = [...new Set([...(prev.vendorIds ?? []), ...vendorIds])];
            if (!prev.fixed || rpmLess(prev.fixed, fixed)) prev.fixed = fixed;
          } else {
            if (vendorIds.length) v.vendorIds = vendorIds;
            v.fixed = fixed;
            uniq.set(id, v);
          }
        }
      }
    }
    return [...uniq.values()];
  },
};

/**
 * Trivy 0.44.1's driver table. Families it does not list (Fedora, openSUSE Tumbleweed, SUSE Linux
 * Enterprise Micro, Azure Linux) are "unsupported os": their OS packages get no findings.
 */
const OS_DRIVERS: Partial<Record<OsInfo['family'], OsDriver>> = {
  alpine,
  wolfi: apkRolling('wolfi'),
  chainguard: apkRolling('chainguard'),
  debian,
  ubuntu,
  redhat: redHat,
  centos: redHat,
  rocky,
  alma,
  amazon,
  oracle,
  photon,
  'cbl-mariner': mariner,
  'opensuse.leap': suse('openSUSE Leap'),
  'suse linux enterprise server': suse('SUSE Linux Enterprise'),
};

/** Whether Trivy 0.44.1 matches OS packages of this family at all. */
export function trivySupportsOs(family: OsInfo['family']): boolean {
  return OS_DRIVERS[family] !== undefined;
}

// ---------------------------------------------------------------------------------------------------
// language packages (Trivy's pkg/detector/library)

interface LangDriver {
  /** trivy-db ecosystem: the root buckets `<ecosystem>::<source>` it reads. */
  ecosystem: string;
  match: Matcher;
}

const NPM: LangDriver = { ecosystem: 'npm', match: npmMatch };
const PIP: LangDriver = { ecosystem: 'pip', match: pep440Match };
const GEM: LangDriver = { ecosystem: 'rubygems', match: rubygemsMatch };

const generic = (ecosystem: string): LangDriver => ({ ecosystem, match: genericMatch });

/** Trivy's library.NewDriver: package type → ecosystem and comparer. */
const LANG: Readonly<Record<string, LangDriver>> = {
  bundler: GEM,
  gemspec: GEM,
  'rust-binary': generic('cargo'),
  cargo: generic('cargo'),
  composer: generic('composer'),
  gobinary: generic('go'),
  gomod: generic('go'),
  jar: { ecosystem: 'maven', match: mavenMatch },
  pom: { ecosystem: 'maven', match: mavenMatch },
  gradle: { ecosystem: 'maven', match: mavenMatch },
  npm: NPM,
  yarn: NPM,
  pnpm: NPM,
  'node-pkg': NPM,
  javascript: NPM,
  nuget: generic('nuget'),
  'dotnet-core': generic('nuget'),
  pipenv: PIP,
  poetry: PIP,
  pip: PIP,
  'python-pkg': PIP,
  pub: generic('pub'),
  hex: generic('erlang'),
  conan: generic('conan'),
  // cocoapods and conda: "supported for SBOM, not for vulnerability scanning" in 0.44; Swift's
  // Package.resolved is not read by 0.44 at all. Both get no findings, as in Trivy.
};

/** trivy-db's NormalizePkgName: PyPI names lower-cased with '_' as '-'. */
function normalizeName(ecosystem: string, name: string): string {
  if (ecosystem === 'pip') return name.toLowerCase().replaceAll('_', '-');
  return name;
}

/** Trivy's createFixedVersions: patched versions, else the `< X` bounds of the vulnerable ranges. */
function fixedVersions(patched: readonly string[], vulnerable: readonly string[]): string {
  if (patched.length > 0) return [...new Set(patched)].join(', ');
  const bounds: string[] = [];
  for (const v of vulnerable) {
    for (const part of v.split(',')) {
      const s = part.trim();
      if (s.startsWith('<') && !s.startsWith('<=')) bounds.push(s.slice(1).trim());
    }
  }
  return [...new Set(bounds)].join(', ');
}

function detectLang(db: TrivyDb, pkg: Package): RawVuln[] {
  const lang = LANG[pkg.type];
  if (!lang) return [];
  // GetAdvisories walks every `<ecosystem>::` bucket in key order into a map keyed by advisory id: the last bucket wins.
  const byId = new Map<string, { bucket: string; adv: { PatchedVersions?: string[]; VulnerableVersions?: string[]; UnaffectedVersions?: string[] } }>();
  for (const a of db.langAdvisories(lang.ecosystem, normalizeName(lang.ecosystem, pkg.name))) byId.set(a.id, { bucket: a.bucket, adv: a.adv });
  const out: RawVuln[] = [];
  for (const [id, { bucket, adv }] of byId) {
    if (!isVulnerable(pkg.version, adv, lang.match)) continue;
    const v: RawVuln = { id, pkg, installed: pkg.version, fixed: fixedVersions(adv.PatchedVersions ?? [], adv.VulnerableVersions ?? []) };
    const ds = db.dataSource(bucket);
    if (ds) v.dataSource = ds;
    out.push(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// FillInfo and the result filter

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

/** Trivy's local scanner: a fixed version makes it `fixed`; else the advisory's status; else `affected`. */
function toStatus(raw: RawVuln): FindingStatus {
  if (raw.fixed) return 'fixed';
  const s = raw.status !== undefined ? TRIVY_STATUSES[raw.status] : undefined;
  if (!s || s === 'unknown') return 'affected';
  return s === 'fixed' ? 'fixed' : s;
}

function cvssOf(vuln: TrivyVulnerability): Record<string, CvssEntry> {
  const cvss: Record<string, CvssEntry> = {};
  const all = vuln.CVSS;
  if (!all || typeof all !== 'object') return cvss;
  for (const k in all) {
    if (!Object.hasOwn(all, k)) continue;
    const c = all[k];
    if (!c || typeof c !== 'object') continue;
    const e: CvssEntry = {};
    if (c.V2Vector) e.v2Vector = c.V2Vector;
    if (typeof c.V2Score === 'number') e.v2Score = c.V2Score;
    if (c.V3Vector) e.v3Vector = c.V3Vector;
    if (typeof c.V3Score === 'number') e.v3Score = c.V3Score;
    if (c.V40Vector) e.v40Vector = c.V40Vector;
    if (typeof c.V40Score === 'number') e.v40Score = c.V40Score;
    cvss[k] = e;
  }
  return cvss;
}

const isTrivySeverity = (s: unknown): s is Severity => typeof s === 'string' && (TRIVY_SEVERITIES as readonly string[]).includes(s);

/** What FillInfo takes from a vulnerability record, worked out once per record (several rows can share one). */
interface VulnInfo {
  /** VendorSeverity as severities (shared by the rows without a package-specific severity: not to be mutated). */
  vendor: Record<string, Severity>;
  hasVendor: boolean;
  cvss: Record<string, CvssEntry>;
  hasCvss: boolean;
  refs: string[];
}

const vulnInfos = new WeakMap<TrivyVulnerability, VulnInfo>();

function vulnInfo(vuln: TrivyVulnerability): VulnInfo {
  let info = vulnInfos.get(vuln);
  if (info) return info;
  const vendor: Record<string, Severity> = {};
  let hasVendor = false;
  const vs = vuln.VendorSeverity;
  if (vs && typeof vs === 'object') {
    for (const k in vs) {
      if (!Object.hasOwn(vs, k)) continue;
      vendor[k] = sev(vs[k]) ?? 'UNKNOWN';
      hasVendor = true;
    }
  }
  const cvss = cvssOf(vuln);
  let hasCvss = false;
  for (const k in cvss) if (Object.hasOwn(cvss, k)) hasCvss = true;
  const refs = Array.isArray(vuln.References) ? vuln.References.filter((r): r is string => typeof r === 'string') : [];
  info = { vendor, hasVendor, cvss, hasCvss, refs };
  vulnInfos.set(vuln, info);
  return info;
}

/** Finding.dataSource per data-source record (one object shared by its rows). */
const dataSources = new WeakMap<TrivyDataSource, NonNullable<Finding['dataSource']>>();

function findingDataSource(ds: TrivyDataSource): NonNullable<Finding['dataSource']> {
  let d = dataSources.get(ds);
  if (!d) dataSources.set(ds, (d = { id: ds.ID ?? '', name: ds.Name ?? '', url: ds.URL ?? '' }));
  return d;
}

/**
 * Trivy's FillInfo. Without a `vulnerability` record Trivy keeps the row as the driver made it: no
 * title, no PrimaryURL, the driver's severity (or UNKNOWN) and SeveritySource.
 */
function fill(db: TrivyDb, raw: RawVuln): Finding {
  const vuln = db.vulnerability(raw.id);
  const source = raw.dataSource?.ID;
  // properties in the order they always had (reports that print a Finding as it is keep their field order)
  const finding: Finding = { advisoryId: raw.id, aliases: raw.vendorIds ?? [] } as Finding;
  if (raw.vendorIds?.length) finding.vendorIds = raw.vendorIds;
  finding.package = raw.pkg;
  finding.installedVersion = raw.installed;
  if (raw.fixed) finding.fixedVersion = raw.fixed;
  finding.status = toStatus(raw);
  finding.severity = raw.severity ?? 'UNKNOWN';
  finding.severitySource = raw.severitySource ?? '';
  if (raw.dataSource) finding.dataSource = findingDataSource(raw.dataSource);
  if (!vuln) return finding;
  const info = vulnInfo(vuln);
  let vendor = info.vendor;
  let severity: Severity;
  let severitySource: string;
  if (source && vendor[source] !== undefined) {
    severity = vendor[source];
    severitySource = source;
  } else if (vendor['nvd'] !== undefined) {
    severity = vendor['nvd'];
    severitySource = 'nvd';
  } else {
    severity = isTrivySeverity(vuln.Severity) ? vuln.Severity : 'UNKNOWN';
    severitySource = '';
  }
  if (raw.severitySource) {
    // package-specific severity (Debian, Red Hat) wins and is stored among the vendor severities
    severity = raw.severity ?? 'UNKNOWN';
    severitySource = raw.severitySource;
    vendor = { ...vendor, [severitySource]: severity };
  }
  finding.severity = severity;
  finding.severitySource = severitySource;
  const cvss = info.cvss;
  const score = (source ? cvss[source]?.v3Score : undefined) ?? cvss['nvd']?.v3Score;
  if (score !== undefined) finding.score = score;
  if (info.hasVendor || raw.severitySource) finding.vendorSeverity = vendor;
  if (info.hasCvss) finding.cvss = cvss;
  if (vuln.Title) finding.title = vuln.Title;
  if (vuln.Description) finding.description = vuln.Description;
  const url = primaryUrl(raw.id, info.refs, source);
  if (url) finding.url = url;
  if (info.refs.length) finding.references = info.refs;
  if (vuln.PublishedDate) finding.publishedDate = vuln.PublishedDate;
  if (vuln.LastModifiedDate) finding.lastModifiedDate = vuln.LastModifiedDate;
  if (vuln.CweIDs?.length) finding.cweIds = vuln.CweIDs;
  return finding;
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

/**
 * Trivy's result filter keeps one row per (result, vulnerability, package name, installed version,
 * package path); of two, the one with the greater fixed version (string order), as its shouldOverwrite.
 */
function dedupe(findings: Finding[]): Finding[] {
  const out = new Map<string, Finding>();
  for (const f of findings) {
    const osPkg = f.package.type === 'apk' || f.package.type === 'deb' || f.package.type === 'rpm';
    const path = osPkg ? '' : (f.package.filePath ?? '');
    // lengths first: no two different tuples give the same key
    const key = `${path.length}:${f.advisoryId.length}:${f.package.name.length}:${path}${f.advisoryId}${f.package.name}${f.installedVersion}`;
    const old = out.get(key);
    if (!old || (old.fixedVersion ?? '') < (f.fixedVersion ?? '')) out.set(key, f);
  }
  return [...out.values()];
}

export interface MatchTrivyOptions {
  /** The clock for end-of-life (Trivy's EOSL). */
  now?: Date;
}

const isOsPackage = (p: Package): boolean => p.type === 'apk' || p.type === 'deb' || p.type === 'rpm';

/**
 * Match an inventory against a Trivy DB. Sets `inventory.os.eosl` as Trivy's Metadata.OS.EOSL.
 * Notes say what could not be checked (unsupported OS, a release the DB has no advisories for).
 */
export function matchTrivy(inventory: Inventory, db: TrivyDb, opts: MatchTrivyOptions = {}): { findings: Finding[]; notes: string[] } {
  const notes: string[] = [];
  const raws: RawVuln[] = [];
  const os = inventory.os;
  // Trivy leaves gpg-pubkey out: its "version" is a key id.
  const osPkgs = inventory.packages.filter((p) => isOsPackage(p) && p.name !== 'gpg-pubkey' && p.extra?.['pseudo'] !== 'gpg-pubkey');
  if (os) {
    const eosl = trivyEosl(os, opts.now ?? new Date());
    if (eosl !== undefined) os.eosl = eosl;
  }
  if (os && osPkgs.length > 0) {
    const driver = OS_DRIVERS[os.family];
    if (!driver) notes.push(`Trivy DB: ${os.family} ${os.version} is not supported by Trivy's data: its ${osPkgs.length} OS packages were not checked`);
    else {
      const bucket = driver.bucket(os);
      if (!db.rootBuckets().includes(bucket)) notes.push(`Trivy DB: no advisories for ${os.family} ${os.version} (bucket '${bucket}'): its OS packages were not checked`);
      else {
        const ctx: DriverCtx = { db, bucket, os, ds: db.dataSource(bucket) };
        db.prefetchOsAdvisories(bucket, osPkgs.map((p) => driver.name(p)));
        for (const p of osPkgs) for (const r of driver.detect(ctx, p)) raws.push(r);
      }
    }
  } else if (osPkgs.length > 0) notes.push(`no OS release found: ${osPkgs.length} OS packages were not checked`);
  const langPkgs = inventory.packages.filter((p) => LANG[p.type]);
  const byEcosystem = new Map<string, string[]>();
  for (const p of langPkgs) {
    const eco = LANG[p.type]!.ecosystem;
    let names = byEcosystem.get(eco);
    if (!names) byEcosystem.set(eco, (names = []));
    names.push(normalizeName(eco, p.name));
  }
  for (const [eco, names] of byEcosystem) db.prefetchLangAdvisories(eco, names);
  for (const p of langPkgs) for (const r of detectLang(db, p)) raws.push(r);
  db.prefetchVulnerabilities(raws.map((r) => r.id));
  const findings = dedupe(raws.map((r) => fill(db, r))).sort(compareTrivyOrder);
  return { findings, notes };
}
