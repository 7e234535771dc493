/**
 * Trivy's JSON report (SchemaVersion 2, as `trivy image --format json` prints it) → our Finding, with
 * the same fields our Trivy-JSON writer produces: VulnerabilityID, PkgName, InstalledVersion,
 * FixedVersion, Status, Severity, SeveritySource, VendorSeverity, CVSS, Title, Description,
 * PrimaryURL, References, DataSource, dates, CweIDs, VendorIDs. The report is untrusted input
 * (another process's stdout): every field is type-checked, unknown values fall back to safe ones,
 * and a report that is not a Trivy report is an error, never "no findings".
 */
import type { CvssEntry, Finding, FindingStatus, OsFamily, OsInfo, Package, PackageType, Severity } from '../domain/index.ts';
import { isSeverity, SEVERITIES } from '../domain/index.ts';
import { distroQualifier, makePurl, purlNamespace } from '../ecosystems/os/purl.ts';
import { ScannerError } from '../shared/errors.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

const STATUSES: readonly FindingStatus[] = ['fixed', 'affected', 'under_investigation', 'will_not_fix', 'fix_deferred', 'end_of_life', 'unknown'];

const OS_TYPES: Record<string, 'apk' | 'deb' | 'rpm'> = {
  alpine: 'apk',
  wolfi: 'apk',
  chainguard: 'apk',
  debian: 'deb',
  ubuntu: 'deb',
  redhat: 'rpm',
  centos: 'rpm',
  rocky: 'rpm',
  alma: 'rpm',
  fedora: 'rpm',
  amazon: 'rpm',
  oracle: 'rpm',
  'cbl-mariner': 'rpm',
  azurelinux: 'rpm',
  photon: 'rpm',
  'opensuse.leap': 'rpm',
  'opensuse.tumbleweed': 'rpm',
  'suse linux enterprise server': 'rpm',
  'suse linux enterprise micro': 'rpm',
};

const LANG_TYPES: readonly PackageType[] = [
  'node-pkg', 'npm', 'yarn', 'pnpm', 'python-pkg', 'pip', 'poetry', 'pipenv', 'gobinary', 'gomod', 'jar', 'pom',
  'gemspec', 'bundler', 'cargo', 'composer', 'nuget',
];

const PURL_TYPE: Partial<Record<PackageType, string>> = {
  'node-pkg': 'npm', npm: 'npm', yarn: 'npm', pnpm: 'npm',
  'python-pkg': 'pypi', pip: 'pypi', poetry: 'pypi', pipenv: 'pypi',
  gobinary: 'golang', gomod: 'golang', jar: 'maven', pom: 'maven',
  gemspec: 'gem', bundler: 'gem', cargo: 'cargo', composer: 'composer', nuget: 'nuget',
};

/** Trivy's VendorSeverity numbers: 0 UNKNOWN … 4 CRITICAL. */
function vendorSeverity(v: unknown): Record<string, Severity> | undefined {
  if (!isObj(v)) return undefined;
  const out: Record<string, Severity> = {};
  for (const [k, x] of Object.entries(v)) {
    const n = num(x);
    const s = n !== undefined && Number.isInteger(n) ? SEVERITIES[n] : undefined;
    if (s) out[k] = s;
  }
  return Object.keys(out).length ? out : undefined;
}

function cvss(v: unknown): Record<string, CvssEntry> | undefined {
  if (!isObj(v)) return undefined;
  const out: Record<string, CvssEntry> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!isObj(x)) continue;
    const e: CvssEntry = {};
    const set = <K extends keyof CvssEntry>(key: K, val: CvssEntry[K] | undefined): void => {
      if (val !== undefined) e[key] = val;
    };
    set('v2Vector', str(x['V2Vector']));
    set('v2Score', num(x['V2Score']));
    set('v3Vector', str(x['V3Vector']));
    set('v3Score', num(x['V3Score']));
    set('v40Vector', str(x['V40Vector']));
    set('v40Score', num(x['V40Score']));
    if (Object.keys(e).length) out[k] = e;
  }
  return Object.keys(out).length ? out : undefined;
}

function osInfo(meta: unknown): OsInfo | undefined {
  if (!isObj(meta) || !isObj(meta['OS'])) return undefined;
  const family = str(meta['OS']['Family']);
  const version = str(meta['OS']['Name']);
  if (!family || !version || !(family in OS_TYPES)) return undefined;
  const os: OsInfo = { family: family as OsFamily, version };
  if (meta['OS']['EOSL'] === true) os.eosl = true;
  return os;
}

interface ResultCtx {
  type: PackageType;
  trivyType: string;
  target: string;
  os: OsInfo | undefined;
  isOs: boolean;
}

function packageOf(v: Obj, ctx: ResultCtx): Package {
  const name = str(v['PkgName']) ?? '';
  const version = str(v['InstalledVersion']) ?? '';
  const layer = isObj(v['Layer']) ? (str(v['Layer']['DiffID']) ?? str(v['Layer']['Digest'])) : undefined;
  const path = str(v['PkgPath']) ?? (ctx.isOs ? '' : ctx.target);
  let purl: string;
  try {
    if (ctx.isOs) {
      const t = ctx.type as 'apk' | 'deb' | 'rpm';
      purl = makePurl(t, purlNamespace(ctx.os, ctx.trivyType), name, version, { distro: distroQualifier(ctx.os, t) });
    } else if (ctx.type === 'jar' || ctx.type === 'pom') {
      const [group, artifact] = name.includes(':') ? name.split(':', 2) : [undefined, name];
      purl = makePurl('maven', group, artifact ?? name, version, {});
    } else {
      purl = makePurl(PURL_TYPE[ctx.type] ?? 'generic', undefined, name || 'unknown', version, {});
    }
  } catch {
    purl = '';
  }
  const p: Package = { type: ctx.type, name, version, purl, locations: path || layer ? [{ path, ...(layer ? { layer } : {}) }] : [] };
  if (!ctx.isOs && ctx.target) p.filePath = ctx.target;
  if (!(LANG_TYPES as readonly string[]).includes(ctx.trivyType) && !ctx.isOs) p.extra = { trivyType: ctx.trivyType };
  return p;
}

function findingOf(v: Obj, ctx: ResultCtx): Finding | undefined {
  const id = str(v['VulnerabilityID']);
  if (!id) return undefined;
  const fixed = str(v['FixedVersion']);
  const statusRaw = str(v['Status']);
  const status: FindingStatus = statusRaw && (STATUSES as readonly string[]).includes(statusRaw) ? (statusRaw as FindingStatus) : fixed ? 'fixed' : 'affected';
  const sevRaw = str(v['Severity']);
  const severity: Severity = sevRaw && isSeverity(sevRaw) ? sevRaw : 'UNKNOWN';
  const f: Finding = {
    advisoryId: id,
    aliases: [],
    package: packageOf(v, ctx),
    installedVersion: str(v['InstalledVersion']) ?? '',
    status,
    severity,
    severitySource: str(v['SeveritySource']) ?? '',
  };
  const set = <K extends keyof Finding>(k: K, val: Finding[K] | undefined): void => {
    if (val !== undefined) f[k] = val;
  };
  set('fixedVersion', fixed);
  const vendorIds = strs(v['VendorIDs']);
  if (vendorIds.length) f.vendorIds = vendorIds;
  set('vendorSeverity', vendorSeverity(v['VendorSeverity']));
  const c = cvss(v['CVSS']);
  set('cvss', c);
  if (c) {
    const src = f.severitySource && c[f.severitySource] ? c[f.severitySource] : (c['nvd'] ?? Object.values(c)[0]);
    set('score', src?.v40Score ?? src?.v3Score ?? src?.v2Score);
  }
  set('title', str(v['Title']));
  set('description', str(v['Description']));
  set('url', str(v['PrimaryURL']));
  const refs = strs(v['References']);
  if (refs.length) f.references = refs;
  if (isObj(v['DataSource'])) {
    const ds = v['DataSource'];
    const dsId = str(ds['ID']);
    if (dsId) f.dataSource = { id: dsId, name: str(ds['Name']) ?? '', url: str(ds['URL']) ?? '' };
  }
  set('publishedDate', str(v['PublishedDate']));
  set('lastModifiedDate', str(v['LastModifiedDate']));
  const cwe = strs(v['CweIDs']);
  if (cwe.length) f.cweIds = cwe;
  return f;
}

function resultCtx(r: Obj, os: OsInfo | undefined): ResultCtx | undefined {
  const cls = str(r['Class']);
  const trivyType = str(r['Type']) ?? '';
  const target = str(r['Target']) ?? '';
  if (cls === 'os-pkgs') {
    const t = OS_TYPES[trivyType];
    return t ? { type: t, trivyType, target, os, isOs: true } : undefined;
  }
  if (cls === 'lang-pkgs') {
    const known = (LANG_TYPES as readonly string[]).includes(trivyType);
    // Trivy knows more language types than our PackageType lists (conan, pub, swift …): keep the
    // finding, record Trivy's type, and file it under the nearest kind for display.
    return { type: known ? (trivyType as PackageType) : 'jar', trivyType, target, os, isOs: false };
  }
  return undefined;
}

export interface TrivyReportFindings {
  findings: Finding[];
  os?: OsInfo;
  artifactName?: string;
}

/** Parse Trivy's stdout. Not JSON, or JSON that is not a SchemaVersion 2 report → SCANNER_OUTPUT_INVALID. */
export function parseTrivyReport(stdout: string): TrivyReportFindings {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new ScannerError('SCANNER_OUTPUT_INVALID', `Trivy printed ${stdout.length} bytes that are not JSON`);
  }
  if (!isObj(doc) || doc['SchemaVersion'] !== 2) {
    throw new ScannerError('SCANNER_OUTPUT_INVALID', 'Trivy output is not a SchemaVersion 2 JSON report');
  }
  const results = doc['Results'];
  if (results !== undefined && results !== null && !Array.isArray(results)) {
    throw new ScannerError('SCANNER_OUTPUT_INVALID', 'Trivy report has a Results member that is not a list');
  }
  const os = osInfo(doc['Metadata']);
  const findings: Finding[] = [];
  for (const r of (results ?? []) as unknown[]) {
    if (!isObj(r)) continue;
    const ctx = resultCtx(r, os);
    const vulns = r['Vulnerabilities'];
    if (!ctx || !Array.isArray(vulns)) continue;
    for (const v of vulns) {
      if (!isObj(v)) continue;
      const f = findingOf(v, ctx);
      if (f) findings.push(f);
    }
  }
  const out: TrivyReportFindings = { findings };
  if (os) out.os = os;
  const name = str(doc['ArtifactName']);
  if (name) out.artifactName = name;
  return out;
}
