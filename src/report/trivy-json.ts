/**
 * `--format json`: Trivy's JSON report (SchemaVersion 2), field for field as Trivy 0.44.1 writes it
 * (Go struct field order, omitempty, HTML-safe escaping, two-space indent, trailing newline), so tools
 * that read Trivy reports read ours. Two fields of newer Trivy releases are added because consumers
 * use them: `PkgIdentifier.PURL` (after PkgName) and `VendorSeverity` (after CweIDs).
 */
import type { Artifact, CvssEntry, Finding, Inventory, Package, ScanReport, Severity } from '../domain/index.ts';
import { artifactName, groupResults, packageLayer, pkgPath, writeAll, type ResultGroup } from './common.ts';
import type { RenderOptions, Writer } from './types.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const SEVERITY_NUMBER: Record<Severity, number> = { UNKNOWN: 0, LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4 };

/** Set `k` only when `v` is non-empty (Go's omitempty for strings, numbers, bools, slices, maps). */
function put(o: Obj, k: string, v: Json | undefined): void {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return;
  if (Array.isArray(v) && v.length === 0) return;
  if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) return;
  o[k] = v;
}

/** A Go map marshals with sorted keys. */
function sortedMap<T>(m: Record<string, T>, f: (v: T) => Json): Obj {
  const o: Obj = {};
  for (const k of Object.keys(m).sort()) o[k] = f(m[k] as T);
  return o;
}

export function trivyArtifactType(a: Artifact): string {
  switch (a.type) {
    case 'container_image':
      return 'container_image';
    case 'repository':
      return 'repository';
    case 'sbom':
      return a.sbomFormat ?? 'cyclonedx';
    default:
      return 'filesystem';
  }
}

/** Trivy's PkgID: name@version (rpm: name@version-release.arch, no epoch; conan, cocoapods: name/version); none for pip and python-pkg. */
export function trivyPkgId(p: Package): string | undefined {
  switch (p.type) {
    case 'pip':
    case 'python-pkg':
    case 'jar':
    case 'pom':
    case 'gradle':
      return undefined;
    case 'nuget':
      // Trivy 0.44's packages.config parser sets no ID (its packages.lock.json parser does)
      return p.filePath?.endsWith('packages.config') ? undefined : `${p.name}@${p.version}`;
    case 'rpm': {
      const v = p.version.replace(/^\d+:/, '');
      return p.arch ? `${p.name}@${v}.${p.arch}` : `${p.name}@${v}`;
    }
    case 'conan':
    case 'cocoapods':
      return `${p.name}/${p.version}`; // Trivy 0.44's conan and cocoapods parsers: name/version
    case 'gomod':
    case 'gobinary':
      return `${p.name}@${p.version.startsWith('v') || p.version === '' || p.version === '(devel)' ? p.version : `v${p.version}`}`;
    default:
      return `${p.name}@${p.version}`;
  }
}

/** epoch:version-release → parts (dpkg and rpm). */
function splitEvr(v: string, type: 'deb' | 'rpm'): { epoch?: number; version: string; release?: string } {
  let rest = v;
  let epoch: number | undefined;
  const m = /^(\d+):(.*)$/.exec(rest);
  if (m) {
    epoch = Number(m[1]);
    rest = m[2] ?? '';
  }
  const i = rest.lastIndexOf('-');
  const out: { epoch?: number; version: string; release?: string } = { version: i > 0 ? rest.slice(0, i) : rest };
  if (i > 0) out.release = rest.slice(i + 1);
  if (epoch !== undefined) out.epoch = epoch;
  void type;
  return out;
}

function layerJson(p: Package, artifact: Artifact): Obj {
  const l = packageLayer(p, artifact);
  const o: Obj = {};
  put(o, 'Digest', l.digest);
  put(o, 'DiffID', l.diffId);
  return o;
}

/** ftypes.Package as Trivy 0.44 marshals it (Packages[] with --list-all-pkgs). */
function packageJson(p: Package, artifact: Artifact): Obj {
  const o: Obj = {};
  put(o, 'ID', trivyPkgId(p));
  put(o, 'Name', p.name);
  if (p.type === 'deb' || p.type === 'rpm') {
    const v = splitEvr(p.version, p.type);
    put(o, 'Version', v.version);
    put(o, 'Release', p.release ?? v.release);
    put(o, 'Epoch', p.epoch ?? v.epoch);
  } else put(o, 'Version', p.version);
  put(o, 'Arch', p.arch);
  put(o, 'Dev', p.dev);
  if (p.source) {
    put(o, 'SrcName', p.source.name);
    if (p.type === 'deb' || p.type === 'rpm') {
      const s = splitEvr(p.source.version, p.type);
      put(o, 'SrcVersion', s.version);
      put(o, 'SrcRelease', p.source.release ?? s.release);
      put(o, 'SrcEpoch', p.source.epoch ?? s.epoch);
    } else put(o, 'SrcVersion', p.source.version);
  }
  put(o, 'Licenses', p.licenses);
  // Trivy 0.44 fills Maintainer from dpkg's Maintainer and rpm's Vendor only (not apk's m:)
  if (p.type === 'deb') put(o, 'Maintainer', p.extra?.['maintainer']);
  if (p.type === 'rpm') put(o, 'Maintainer', p.extra?.['vendor']);
  put(o, 'Modularitylabel', p.extra?.['modularityLabel']);
  put(o, 'Indirect', p.relationship === 'indirect');
  o['Layer'] = layerJson(p, artifact);
  put(o, 'FilePath', pkgPath(p));
  return o;
}

function cvssJson(c: CvssEntry): Obj {
  const o: Obj = {};
  put(o, 'V2Vector', c.v2Vector);
  put(o, 'V3Vector', c.v3Vector);
  put(o, 'V2Score', c.v2Score);
  put(o, 'V3Score', c.v3Score);
  put(o, 'V40Vector', c.v40Vector);
  put(o, 'V40Score', c.v40Score);
  return o;
}

/** types.DetectedVulnerability (+ embedded types.Vulnerability) in Trivy's field order. */
function vulnerabilityJson(f: Finding, inv: Inventory): Obj {
  const p = f.package;
  const o: Obj = {};
  put(o, 'VulnerabilityID', f.advisoryId);
  put(o, 'VendorIDs', f.vendorIds);
  put(o, 'PkgID', trivyPkgId(p));
  put(o, 'PkgName', p.name);
  put(o, 'PkgPath', pkgPath(p));
  if (p.purl) o['PkgIdentifier'] = { PURL: p.purl };
  put(o, 'InstalledVersion', f.installedVersion);
  put(o, 'FixedVersion', f.fixedVersion);
  put(o, 'Status', f.status === 'unknown' ? undefined : f.status);
  o['Layer'] = layerJson(p, inv.artifact);
  put(o, 'SeveritySource', f.severitySource);
  put(o, 'PrimaryURL', f.url);
  if (inv.artifact.type === 'sbom') put(o, 'PkgRef', p.extra?.['bomRef']);
  if (f.dataSource) {
    const ds: Obj = {};
    put(ds, 'ID', f.dataSource.id);
    put(ds, 'Name', f.dataSource.name);
    put(ds, 'URL', f.dataSource.url);
    o['DataSource'] = ds;
  }
  put(o, 'Title', f.title);
  put(o, 'Description', f.description);
  put(o, 'Severity', f.severity);
  put(o, 'CweIDs', f.cweIds);
  if (f.vendorSeverity) put(o, 'VendorSeverity', sortedMap(f.vendorSeverity, (s) => SEVERITY_NUMBER[s]));
  if (f.cvss) put(o, 'CVSS', sortedMap(f.cvss, cvssJson));
  put(o, 'References', f.references);
  put(o, 'PublishedDate', f.publishedDate);
  put(o, 'LastModifiedDate', f.lastModifiedDate);
  return o;
}

function resultJson(g: ResultGroup, inv: Inventory, opts: RenderOptions): Obj {
  const o: Obj = { Target: g.target };
  put(o, 'Class', g.class);
  put(o, 'Type', g.type);
  if (opts.listAllPackages) put(o, 'Packages', g.packages.map((p) => packageJson(p, inv.artifact)));
  put(o, 'Vulnerabilities', g.findings.map((f) => vulnerabilityJson(f, inv)));
  return o;
}

// ---- the image config, as go-containerregistry's v1.ConfigFile marshals it ----

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strList = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);

/** Go's time.Time JSON form (RFC 3339 with trimmed fractional seconds; zero time when absent or invalid). */
function goTime(v: unknown): string {
  const s = str(v);
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return '0001-01-01T00:00:00Z';
  const frac = (m[2] ?? '').replace(/0+$/, '');
  const zone = m[3] === '+00:00' ? 'Z' : m[3];
  return `${m[1]}${frac === '.' ? '' : frac}${zone ?? 'Z'}`;
}

function setMap(o: Obj, k: string, v: unknown, f: (x: unknown) => Json): void {
  if (!isRecord(v)) return;
  const m = sortedMap(v, f);
  put(o, k, m);
}

function goContainerConfig(c: unknown): Obj {
  const o: Obj = {};
  if (!isRecord(c)) return o;
  const bool = (k: string): void => put(o, k, c[k] === true);
  const s = (k: string): void => put(o, k, str(c[k]));
  const list = (k: string): void => put(o, k, strList(c[k]));
  bool('AttachStderr');
  bool('AttachStdin');
  bool('AttachStdout');
  list('Cmd');
  if (isRecord(c['Healthcheck'])) {
    const h = c['Healthcheck'];
    const ho: Obj = {};
    put(ho, 'Test', strList(h['Test']));
    for (const k of ['Interval', 'Timeout', 'StartPeriod', 'Retries']) put(ho, k, typeof h[k] === 'number' ? h[k] : undefined);
    o['Healthcheck'] = ho;
  }
  s('Domainname');
  list('Entrypoint');
  list('Env');
  s('Hostname');
  s('Image');
  setMap(o, 'Labels', c['Labels'], (x) => str(x));
  list('OnBuild');
  bool('OpenStdin');
  bool('StdinOnce');
  bool('Tty');
  s('User');
  setMap(o, 'Volumes', c['Volumes'], () => ({}));
  s('WorkingDir');
  setMap(o, 'ExposedPorts', c['ExposedPorts'], () => ({}));
  bool('ArgsEscaped');
  bool('NetworkDisabled');
  s('MacAddress');
  s('StopSignal');
  list('Shell');
  return o;
}

export function goConfigFile(raw: unknown): Obj {
  const c = isRecord(raw) ? raw : {};
  const o: Obj = { architecture: str(c['architecture']) };
  put(o, 'author', str(c['author']));
  put(o, 'container', str(c['container']));
  o['created'] = goTime(c['created']);
  put(o, 'docker_version', str(c['docker_version']));
  if (Array.isArray(c['history'])) {
    put(
      o,
      'history',
      c['history'].filter(isRecord).map((h) => {
        // go-containerregistry's v1.History field order: author, created, created_by, comment, empty_layer
        const ho: Obj = {};
        put(ho, 'author', str(h['author']));
        ho['created'] = goTime(h['created']);
        put(ho, 'created_by', str(h['created_by']));
        put(ho, 'comment', str(h['comment']));
        put(ho, 'empty_layer', h['empty_layer'] === true);
        return ho;
      }),
    );
  }
  o['os'] = str(c['os']);
  const rootfs = isRecord(c['rootfs']) ? c['rootfs'] : {};
  o['rootfs'] = { type: str(rootfs['type']), diff_ids: strList(rootfs['diff_ids']) ?? null };
  o['config'] = goContainerConfig(c['config']);
  put(o, 'os.version', str(c['os.version']));
  put(o, 'variant', str(c['variant']));
  put(o, 'os.features', strList(c['os.features']));
  return o;
}

/** The report object, in Trivy's field order. */
export function trivyReport(report: ScanReport, opts: RenderOptions): Obj {
  const o = trivyReportHead(report);
  const groups = groupResults(report, { withEmpty: Boolean(opts.listAllPackages) });
  put(o, 'Results', groups.map((g) => resultJson(g, report.inventory, opts)));
  return o;
}

/** The report object up to (without) its Results. */
function trivyReportHead(report: ScanReport): Obj {
  const inv = report.inventory;
  const a = inv.artifact;
  const o: Obj = { SchemaVersion: 2 };
  put(o, 'ArtifactName', artifactName(a));
  put(o, 'ArtifactType', trivyArtifactType(a));
  const meta: Obj = {};
  if (inv.os) {
    const os: Obj = { Family: inv.os.family, Name: inv.os.version };
    put(os, 'EOSL', inv.os.eosl === true);
    meta['OS'] = os;
  }
  put(meta, 'ImageID', a.imageId);
  put(meta, 'DiffIDs', a.diffIds);
  put(meta, 'RepoTags', a.repoTags);
  put(meta, 'RepoDigests', a.repoDigests);
  meta['ImageConfig'] = goConfigFile(a.imageConfig);
  o['Metadata'] = meta;
  return o;
}

const HTML_CHARS = /[<>&\u2028\u2029]/g;
const htmlEscape = (text: string): string => text.replace(HTML_CHARS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Go's json.MarshalIndent output: HTML characters and U+2028/2029 escaped. */
export function goJson(v: unknown): string {
  return htmlEscape(JSON.stringify(v, null, 2));
}

// ---- the report as JSON.stringify prints it fastest ----
//
// `writeTrivyJson` prints exactly `goJson(trivyReport(report, opts))` (tested byte for byte), but
// the Vulnerabilities — nearly all of a report — are built as objects of one fixed shape, every
// field present and `undefined` where `put` would leave it out (JSON.stringify skips undefined
// properties, so the text is the same): one hidden class for thousands of rows, which V8 builds
// and serialises far faster than objects grown key by key.

const nonEmpty = (v: string | undefined): string | undefined => (v === '' ? undefined : v);
const nonEmptyList = <T>(v: readonly T[] | undefined): readonly T[] | undefined => (v && v.length > 0 ? v : undefined);

interface LayerOut {
  Digest: string | undefined;
  DiffID: string | undefined;
}

function layerOut(p: Package, artifact: Artifact): LayerOut {
  const l = packageLayer(p, artifact);
  return { Digest: nonEmpty(l.digest), DiffID: nonEmpty(l.diffId) };
}

interface CvssOut {
  V2Vector: string | undefined;
  V3Vector: string | undefined;
  V2Score: number | undefined;
  V3Score: number | undefined;
  V40Vector: string | undefined;
  V40Score: number | undefined;
}

const score = (n: number | undefined): number | undefined => (n === 0 ? undefined : n);

function cvssOut(m: Record<string, CvssEntry> | undefined): Record<string, CvssOut> | undefined {
  if (!m) return undefined;
  const keys = Object.keys(m);
  if (keys.length === 0) return undefined;
  keys.sort();
  const o: Record<string, CvssOut> = {};
  for (const k of keys) {
    const c = m[k]!;
    o[k] = { V2Vector: nonEmpty(c.v2Vector), V3Vector: nonEmpty(c.v3Vector), V2Score: score(c.v2Score), V3Score: score(c.v3Score), V40Vector: nonEmpty(c.v40Vector), V40Score: score(c.v40Score) };
  }
  return o;
}

function severityOut(m: Record<string, Severity> | undefined): Record<string, number> | undefined {
  if (!m) return undefined;
  const keys = Object.keys(m);
  if (keys.length === 0) return undefined;
  keys.sort();
  const o: Record<string, number> = {};
  for (const k of keys) o[k] = SEVERITY_NUMBER[m[k]!];
  return o;
}

/** `vulnerabilityJson(f, inv)` as one fixed shape (see above). */
function vulnerabilityOut(f: Finding, inv: Inventory, layers: Map<Package, LayerOut>) {
  const p = f.package;
  let layer = layers.get(p);
  if (!layer) layers.set(p, (layer = layerOut(p, inv.artifact)));
  const ds = f.dataSource;
  return {
    VulnerabilityID: nonEmpty(f.advisoryId),
    VendorIDs: nonEmptyList(f.vendorIds),
    PkgID: nonEmpty(trivyPkgId(p)),
    PkgName: nonEmpty(p.name),
    PkgPath: nonEmpty(pkgPath(p)),
    PkgIdentifier: p.purl ? { PURL: p.purl } : undefined,
    InstalledVersion: nonEmpty(f.installedVersion),
    FixedVersion: nonEmpty(f.fixedVersion),
    Status: f.status === 'unknown' ? undefined : nonEmpty(f.status),
    Layer: layer,
    SeveritySource: nonEmpty(f.severitySource),
    PrimaryURL: nonEmpty(f.url),
    PkgRef: inv.artifact.type === 'sbom' ? nonEmpty(p.extra?.['bomRef']) : undefined,
    DataSource: ds ? { ID: nonEmpty(ds.id), Name: nonEmpty(ds.name), URL: nonEmpty(ds.url) } : undefined,
    Title: nonEmpty(f.title),
    Description: nonEmpty(f.description),
    Severity: nonEmpty(f.severity),
    CweIDs: nonEmptyList(f.cweIds),
    VendorSeverity: severityOut(f.vendorSeverity),
    CVSS: cvssOut(f.cvss),
    References: nonEmptyList(f.references),
    PublishedDate: nonEmpty(f.publishedDate),
    LastModifiedDate: nonEmpty(f.lastModifiedDate),
  };
}

/** `goJson(trivyReport(report, opts))`, with the rows built as above. */
export function trivyJsonText(report: ScanReport, opts: RenderOptions): string {
  const inv = report.inventory;
  const o = trivyReportHead(report);
  const groups = groupResults(report, { withEmpty: Boolean(opts.listAllPackages) });
  const layers = new Map<Package, LayerOut>();
  if (groups.length > 0) {
    o['Results'] = groups.map((g) => ({
      Target: g.target,
      Class: nonEmpty(g.class),
      Type: nonEmpty(g.type),
      Packages: opts.listAllPackages ? nonEmptyList(g.packages.map((p) => packageJson(p, inv.artifact))) : undefined,
      Vulnerabilities: nonEmptyList(g.findings.map((f) => vulnerabilityOut(f, inv, layers))),
    })) as unknown as Json;
  }
  return goJson(o);
}

export const writeTrivyJson: Writer = async (report, opts, out) => {
  await writeAll(out, `${trivyJsonText(report, opts)}\n`);
};
