/**
 * `--format cyclonedx`: a CycloneDX 1.5 JSON BOM built with @cyclonedx/cyclonedx-library.
 *
 *   metadata.component   the artifact (container image with its `pkg:oci/…` purl, or the filesystem)
 *   components           the OS (operating-system), one application per lock file, every package
 *                        (library, purl as bom-ref, licenses, supplier, portcullis:* properties)
 *   dependencies         artifact → OS and lock files; OS → its packages; lock file → its packages
 *   vulnerabilities      one per advisory id when the report has findings (ratings, cwes, affects by
 *                        bom-ref, recommendation with the fixed version)
 *
 * Output is deterministic: the timestamp is `opts.now` (else the scan time), the serial number is
 * derived from the content, lists keep the report's order (Trivy's).
 */
// Subpath imports: the package index also loads its JSON-schema validator (ajv), ~40 ms we never need here.
import * as Enums from '@cyclonedx/cyclonedx-library/Enums';
import * as Models from '@cyclonedx/cyclonedx-library/Models';
import * as Serialize from '@cyclonedx/cyclonedx-library/Serialize';
import * as Spec from '@cyclonedx/cyclonedx-library/Spec';
import type { Artifact, CvssEntry, Finding, Package, ScanReport, Severity } from '../domain/index.ts';
import { AGGREGATED_TARGETS, artifactName, EXTRA_ELSEWHERE, contentUuid, groupResults, isOsPackage, packageFile, packageLayer, reportTime, writeAll, type ResultGroup } from './common.ts';
import { isValidPurl, makePurl } from '../ecosystems/os/purl.ts';
import { declaredLicense, parseSpdxExpression, spdxId } from './licenses.ts';
import type { RenderOptions, Writer } from './types.ts';

export const CYCLONEDX_SPEC_VERSION = '1.5' as const;
/** Our property namespace (CycloneDX property taxonomy: `<namespace>:<name>`). */
export const PROP = 'portcullis';
const TRIVY_PROP = 'aquasecurity:trivy';

const prop = (name: string, value: string): Models.Property => new Models.Property(`${PROP}:${name}`, value);

/** Trivy's PkgType names for OS packages (its CycloneDX `aquasecurity:trivy:PkgType` values). */
function trivyPkgType(p: Package, osFamily: string | undefined): string {
  return isOsPackage(p) ? (osFamily ?? p.type) : p.type;
}

/** Docker Hub's familiar names expanded (alpine → index.docker.io/library/alpine), as Trivy writes repository_url. */
function repositoryUrl(repo: string): string {
  const parts = repo.split('/');
  const first = parts[0] ?? '';
  const hasHost = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasHost) return first === 'docker.io' ? `index.docker.io/${parts.slice(1).join('/')}` : repo;
  return parts.length === 1 ? `index.docker.io/library/${repo}` : `index.docker.io/${repo}`;
}

/** `pkg:oci/NAME@DIGEST?arch=…&repository_url=…` for an image with a repo digest (manifest digest). */
export function imagePurl(a: Artifact): string | undefined {
  const rd = a.repoDigests?.[0];
  const at = rd?.lastIndexOf('@') ?? -1;
  const repo = rd && at > 0 ? rd.slice(0, at) : undefined;
  const digest = rd && at > 0 ? rd.slice(at + 1) : a.digest;
  if (!digest || !/^sha256:[0-9a-f]{64}$/.test(digest)) return undefined;
  const q: Record<string, string> = {};
  const arch = a.platform?.split('/')[1];
  if (arch) q['arch'] = arch;
  if (repo) q['repository_url'] = repositoryUrl(repo);
  const name = (repo ?? artifactName(a).split(/[@:]/)[0] ?? 'image').split('/').pop() ?? 'image';
  return makePurl('oci', undefined, name.toLowerCase(), digest, q);
}

/** License list → CycloneDX licenses: one expression when compound, else ids or names. */
function licensesOf(p: Package): Models.License[] {
  const ls = (p.licenses ?? []).filter((l) => l.trim() !== '');
  if (ls.length === 0) return [];
  const compound = ls.some((l) => / (AND|OR|WITH) /i.test(l) && parseSpdxExpression(l));
  if (compound) {
    const d = declaredLicense(ls);
    if (d.refs.length === 0) return [new Models.LicenseExpression(d.expression)];
  }
  return ls.map((l) => {
    const id = spdxId(l);
    return id ? new Models.SpdxLicense(id) : new Models.NamedLicense(l);
  });
}

function supplierOf(p: Package): Models.OrganizationalEntity | undefined {
  const name = p.extra?.['maintainer'] ?? p.extra?.['vendor'];
  return name ? new Models.OrganizationalEntity({ name }) : undefined;
}

function packageProperties(p: Package, artifact: Artifact, osFamily: string | undefined, compat: boolean): Models.Property[] {
  const props: Models.Property[] = [prop('PkgType', p.type)];
  const trivy: Models.Property[] = [new Models.Property(`${TRIVY_PROP}:PkgType`, trivyPkgType(p, osFamily))];
  if (p.source) {
    props.push(prop('SrcName', p.source.name), prop('SrcVersion', p.source.version));
    if (p.source.epoch) props.push(prop('SrcEpoch', String(p.source.epoch)));
    trivy.push(new Models.Property(`${TRIVY_PROP}:SrcName`, p.source.name));
    const v = trivySrcVersion(p);
    if (v.version) trivy.push(new Models.Property(`${TRIVY_PROP}:SrcVersion`, v.version));
    if (v.release) trivy.push(new Models.Property(`${TRIVY_PROP}:SrcRelease`, v.release));
    if (v.epoch) trivy.push(new Models.Property(`${TRIVY_PROP}:SrcEpoch`, String(v.epoch)));
  }
  if (p.arch) props.push(prop('Arch', p.arch));
  if (p.extra?.['modularityLabel']) props.push(prop('Modularitylabel', p.extra['modularityLabel']));
  const layer = packageLayer(p, artifact);
  if (layer.digest) props.push(prop('LayerDigest', layer.digest));
  if (layer.diffId) {
    props.push(prop('LayerDiffID', layer.diffId));
    trivy.push(new Models.Property(`${TRIVY_PROP}:LayerDiffID`, layer.diffId));
  }
  const file = packageFile(p);
  if (file) props.push(prop('FilePath', file));
  if (AGGREGATED_TARGETS[p.type] && file) trivy.push(new Models.Property(`${TRIVY_PROP}:FilePath`, file));
  if (p.filePath && p.filePath !== file) props.push(prop('Target', p.filePath));
  if (p.dev !== undefined) props.push(prop('Dev', String(p.dev)));
  if (p.relationship) props.push(prop('Relationship', p.relationship));
  for (const [k, v] of Object.entries(p.extra ?? {})) if (!EXTRA_ELSEWHERE.has(k)) props.push(prop(`extra:${k}`, v));
  return compat ? [...props, ...trivy] : props;
}

/** Trivy splits a deb/rpm source version into SrcVersion, SrcRelease, SrcEpoch. */
function trivySrcVersion(p: Package): { version?: string; release?: string; epoch?: number } {
  const src = p.source;
  if (!src) return {};
  if (p.type !== 'deb' && p.type !== 'rpm') return { version: src.version };
  let rest = src.version;
  let epoch = src.epoch;
  const m = /^(\d+):(.*)$/.exec(rest);
  if (m) {
    epoch = Number(m[1]);
    rest = m[2] ?? '';
  }
  const i = rest.lastIndexOf('-');
  const out: { version?: string; release?: string; epoch?: number } = { version: i > 0 ? rest.slice(0, i) : rest };
  const release = src.release ?? (i > 0 ? rest.slice(i + 1) : undefined);
  if (release) out.release = release;
  if (epoch) out.epoch = epoch;
  return out;
}

class RefAllocator {
  readonly #used = new Set<string>();
  take(want: string): string {
    let ref = want;
    for (let n = 2; this.#used.has(ref); n++) ref = `${want}#${n}`;
    this.#used.add(ref);
    return ref;
  }
}

const CVSS_SEVERITY = (score: number, v2: boolean): Enums.Vulnerability.Severity => {
  if (v2) return score >= 7 ? Enums.Vulnerability.Severity.High : score >= 4 ? Enums.Vulnerability.Severity.Medium : Enums.Vulnerability.Severity.Low;
  if (score >= 9) return Enums.Vulnerability.Severity.Critical;
  if (score >= 7) return Enums.Vulnerability.Severity.High;
  if (score >= 4) return Enums.Vulnerability.Severity.Medium;
  if (score > 0) return Enums.Vulnerability.Severity.Low;
  return Enums.Vulnerability.Severity.None;
};

const SEVERITY: Record<Severity, Enums.Vulnerability.Severity> = {
  CRITICAL: Enums.Vulnerability.Severity.Critical,
  HIGH: Enums.Vulnerability.Severity.High,
  MEDIUM: Enums.Vulnerability.Severity.Medium,
  LOW: Enums.Vulnerability.Severity.Low,
  UNKNOWN: Enums.Vulnerability.Severity.Unknown,
};

function ratingsOf(f: Finding): Models.Vulnerability.Rating[] {
  const out: Models.Vulnerability.Rating[] = [];
  const sources = new Set([...Object.keys(f.vendorSeverity ?? {}), ...Object.keys(f.cvss ?? {})]);
  for (const src of [...sources].sort()) {
    const source = new Models.Vulnerability.Source({ name: src });
    const c: CvssEntry | undefined = f.cvss?.[src];
    const vendor = f.vendorSeverity?.[src];
    let scored = false;
    if (c?.v2Score !== undefined || c?.v2Vector) {
      out.push(
        new Models.Vulnerability.Rating({
          source,
          ...(c.v2Score !== undefined ? { score: c.v2Score, severity: CVSS_SEVERITY(c.v2Score, true) } : {}),
          method: Enums.Vulnerability.RatingMethod.CVSSv2,
          ...(c.v2Vector ? { vector: c.v2Vector } : {}),
        }),
      );
      scored = true;
    }
    if (c?.v3Score !== undefined || c?.v3Vector) {
      const v31 = (c.v3Vector ?? '').startsWith('CVSS:3.1/');
      out.push(
        new Models.Vulnerability.Rating({
          source,
          ...(c.v3Score !== undefined ? { score: c.v3Score, severity: CVSS_SEVERITY(c.v3Score, false) } : {}),
          method: v31 ? Enums.Vulnerability.RatingMethod.CVSSv31 : Enums.Vulnerability.RatingMethod.CVSSv3,
          ...(c.v3Vector ? { vector: c.v3Vector } : {}),
        }),
      );
      scored = true;
    }
    if (c?.v40Score !== undefined || c?.v40Vector) {
      out.push(
        new Models.Vulnerability.Rating({
          source,
          ...(c.v40Score !== undefined ? { score: c.v40Score, severity: CVSS_SEVERITY(c.v40Score, false) } : {}),
          method: Enums.Vulnerability.RatingMethod.CVSSv4,
          ...(c.v40Vector ? { vector: c.v40Vector } : {}),
        }),
      );
      scored = true;
    }
    if (vendor && !scored) out.push(new Models.Vulnerability.Rating({ source, severity: SEVERITY[vendor] }));
  }
  // the severity the report decided on, from its source, when no rating above carries it
  const src = f.severitySource || 'portcullis';
  if (!f.vendorSeverity?.[src] && !f.cvss?.[src]) {
    out.push(new Models.Vulnerability.Rating({ source: new Models.Vulnerability.Source({ name: src }), severity: SEVERITY[f.severity], ...(f.score !== undefined ? { score: f.score } : {}) }));
  }
  return out;
}

function vulnerabilityOf(id: string, findings: readonly Finding[], refOf: (f: Finding) => string): Models.Vulnerability.Vulnerability {
  const f = findings[0] as Finding;
  const src = f.dataSource;
  const v = new Models.Vulnerability.Vulnerability({
    bomRef: `vuln:${id}`,
    id,
    ...(src ? { source: new Models.Vulnerability.Source({ name: src.id || src.name, ...(src.url ? { url: src.url } : {}) }) } : {}),
    ...(f.description || f.title ? { description: f.description ?? f.title ?? '' } : {}),
  });
  for (const r of ratingsOf(f)) v.ratings.add(r);
  for (const c of f.cweIds ?? []) {
    const m = /^CWE-(\d+)$/.exec(c);
    if (m) v.cwes.add(Number(m[1]));
  }
  const recs = findings.filter((x) => x.fixedVersion).map((x) => `Upgrade ${x.package.name} to version ${x.fixedVersion ?? ''}`);
  if (recs.length) v.recommendation = [...new Set(recs)].join('; ');
  const urls = [...new Set([f.url, ...(f.references ?? [])].filter((u): u is string => Boolean(u)))];
  for (const u of urls) v.advisories.add(new Models.Vulnerability.Advisory(u));
  for (const a of new Set([...f.aliases, ...(f.vendorIds ?? [])])) if (a !== id) v.references.add(new Models.Vulnerability.Reference(a, new Models.Vulnerability.Source({ name: a.split('-')[0] ?? a })));
  if (f.publishedDate && !Number.isNaN(Date.parse(f.publishedDate))) v.published = new Date(f.publishedDate);
  if (f.lastModifiedDate && !Number.isNaN(Date.parse(f.lastModifiedDate))) v.updated = new Date(f.lastModifiedDate);
  const seen = new Set<string>();
  for (const x of findings) {
    const ref = refOf(x);
    if (seen.has(ref)) continue;
    seen.add(ref);
    const affect = new Models.Vulnerability.Affect(new Models.BomRef(ref));
    affect.versions.add(new Models.Vulnerability.AffectedSingleVersion(x.installedVersion, { status: Enums.Vulnerability.AffectStatus.Affected }));
    v.affects.add(affect);
  }
  v.properties.add(prop('Severity', f.severity));
  if (f.severitySource) v.properties.add(prop('SeveritySource', f.severitySource));
  const statuses = [...new Set(findings.map((x) => x.status))];
  v.properties.add(prop('Status', statuses.join(',')));
  if (f.title) v.properties.add(prop('Title', f.title));
  return v;
}

/** The BOM as the library's model, plus the bom-ref chosen for each package. */
export function buildBom(report: ScanReport, opts: RenderOptions): Models.Bom {
  const inv = report.inventory;
  const a = inv.artifact;
  const compat = opts.compat === 'trivy';
  const now = reportTime(report, opts);
  const refs = new RefAllocator();
  const name = artifactName(a);

  const bom = new Models.Bom({ serialNumber: `urn:uuid:${contentUuid([name, a.digest ?? '', a.imageId ?? '', now.toISOString(), ...inv.packages.map((p) => p.purl), ...report.findings.map((f) => f.advisoryId)])}` });
  bom.metadata.timestamp = now;
  // the legacy tools array (deprecated in 1.5, still valid): readers built on older CycloneDX
  // models (Trivy ≤ 0.49, cyclonedx-go < 0.8) refuse the 1.5 object form outright
  bom.metadata.tools.tools.add(new Models.Tool({ vendor: 'portcullis', name: 'portcullis', version: opts.toolVersion }));

  const purl = a.type === 'container_image' ? imagePurl(a) : undefined;
  const rootType = a.type === 'container_image' ? Enums.ComponentType.Container : Enums.ComponentType.Application;
  const rootProps: Models.Property[] = [];
  if (compat) rootProps.push(new Models.Property(`${TRIVY_PROP}:SchemaVersion`, '2'));
  if (a.imageId) rootProps.push(prop('ImageID', a.imageId));
  for (const d of a.diffIds ?? []) rootProps.push(prop('DiffID', d));
  for (const t of a.repoTags ?? []) rootProps.push(prop('RepoTag', t));
  for (const d of a.repoDigests ?? []) rootProps.push(prop('RepoDigest', d));
  if (a.platform) rootProps.push(prop('Platform', a.platform));
  if (compat) {
    if (a.imageId) rootProps.push(new Models.Property(`${TRIVY_PROP}:ImageID`, a.imageId));
    for (const d of a.diffIds ?? []) rootProps.push(new Models.Property(`${TRIVY_PROP}:DiffID`, d));
    for (const t of a.repoTags ?? []) rootProps.push(new Models.Property(`${TRIVY_PROP}:RepoTag`, t));
    for (const d of a.repoDigests ?? []) rootProps.push(new Models.Property(`${TRIVY_PROP}:RepoDigest`, d));
  }
  const root = new Models.Component(rootType, name, {
    bomRef: refs.take(purl ?? `artifact:${name}`),
    ...(purl ? { purl } : {}),
    ...(a.digest ? { version: a.digest } : {}),
    properties: new Models.PropertyRepository(rootProps),
  });
  bom.metadata.component = root;

  // incomplete results are said in the document itself, not only on stderr
  if (inv.notes.length) {
    bom.metadata.properties.add(prop('Incomplete', 'true'));
    for (const n of inv.notes) bom.metadata.properties.add(prop('Note', n));
  }
  if (report.db) {
    bom.metadata.properties.add(prop('DBSource', report.db.source));
    if (report.db.builtAt) bom.metadata.properties.add(prop('DBBuiltAt', report.db.builtAt));
  }

  const groups = groupResults({ ...report, findings: [] }, { withEmpty: true });
  const pkgRef = new Map<Package, string>();
  const osFamily = inv.os?.family;

  for (const g of groups) {
    const parent = groupComponent(g, inv.os, refs, compat);
    if (parent) {
      bom.components.add(parent);
      root.dependencies.add(parent.bomRef);
    }
    for (const p of g.packages) {
      const c = packageComponent(p, a, osFamily, refs, compat);
      pkgRef.set(p, c.bomRef.value ?? '');
      bom.components.add(c);
      (parent ?? root).dependencies.add(c.bomRef);
    }
  }

  if (report.findings.length) {
    const byId = new Map<string, Finding[]>();
    for (const f of report.findings) {
      const list = byId.get(f.advisoryId) ?? [];
      list.push(f);
      byId.set(f.advisoryId, list);
    }
    const refOf = (f: Finding): string => pkgRef.get(f.package) ?? refForPackage(f.package, pkgRef);
    for (const [id, list] of [...byId.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) bom.vulnerabilities.add(vulnerabilityOf(id, list, refOf));
  }
  return bom;
}

/** A finding whose Package object is a copy (e.g. a stored report): find the same package by identity fields. */
function refForPackage(p: Package, refs: Map<Package, string>): string {
  for (const [q, r] of refs) if (q.type === p.type && q.purl === p.purl && q.name === p.name && q.version === p.version && packageFile(q) === packageFile(p)) return r;
  return p.purl;
}

function groupComponent(g: ResultGroup, os: ScanReport['inventory']['os'], refs: RefAllocator, compat: boolean): Models.Component | undefined {
  const props = (cls: string, type: string): Models.PropertyRepository =>
    new Models.PropertyRepository([
      prop('Class', cls),
      prop('Type', type),
      ...(compat ? [new Models.Property(`${TRIVY_PROP}:Class`, cls), new Models.Property(`${TRIVY_PROP}:Type`, type)] : []),
    ]);
  if (g.class === 'os-pkgs') {
    if (!os) return undefined;
    return new Models.Component(Enums.ComponentType.OperatingSystem, os.family, {
      version: os.version,
      bomRef: refs.take(`os:${os.family}@${os.version}`),
      properties: props('os-pkgs', os.family),
      ...(os.prettyName ? { description: os.prettyName } : {}),
    });
  }
  // packages found one by one (node_modules, site-packages, jars) hang off the artifact directly
  if (!g.file) return undefined;
  return new Models.Component(Enums.ComponentType.Application, g.file, { bomRef: refs.take(`file:${g.type}:${g.file}`), properties: props('lang-pkgs', g.type) });
}

function packageComponent(p: Package, a: Artifact, osFamily: string | undefined, refs: RefAllocator, compat: boolean): Models.Component {
  const purl = p.purl && isValidPurl(p.purl) ? p.purl : undefined;
  const supplier = supplierOf(p);
  const c = new Models.Component(Enums.ComponentType.Library, p.name, {
    bomRef: refs.take(p.purl || `pkg:${p.type}:${p.name}@${p.version}`),
    version: p.version,
    ...(purl ? { purl } : {}),
    ...(supplier ? { supplier } : {}),
    properties: new Models.PropertyRepository(packageProperties(p, a, osFamily, compat)),
  });
  if (p.dev) c.scope = Enums.ComponentScope.Optional;
  for (const l of licensesOf(p)) c.licenses.add(l);
  return c;
}

const SPECS = { '1.4': Spec.Spec1dot4, '1.5': Spec.Spec1dot5, '1.6': Spec.Spec1dot6 } as const;
const serializer = (v: keyof typeof SPECS): Serialize.JsonSerializer => new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(SPECS[v]));

export function cyclonedxJson(report: ScanReport, opts: RenderOptions): string {
  return serializer(opts.cyclonedxVersion ?? CYCLONEDX_SPEC_VERSION).serialize(buildBom(report, opts), { sortLists: false, space: 2 });
}

export const writeCycloneDx: Writer = async (report, opts, out) => {
  await writeAll(out, `${cyclonedxJson(report, opts)}\n`);
};
