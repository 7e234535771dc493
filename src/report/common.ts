/**
 * What every writer needs from a ScanReport: Trivy's grouping of packages and findings into
 * results (one per OS, one per language file), Trivy's ordering, severity counts, the artifact's
 * display name. Pure functions over domain types.
 */
import { createHash } from 'node:crypto';
import type { Artifact, Finding, Inventory, LayerInfo, Package, PackageType, ScanReport, Severity } from '../domain/index.ts';
import { SEVERITIES, severityRank } from '../domain/index.ts';
import type { RenderOptions } from './types.ts';

export const OS_PACKAGE_TYPES: ReadonlySet<PackageType> = new Set<PackageType>(['apk', 'deb', 'rpm']);

export const isOsPackage = (p: Package): boolean => OS_PACKAGE_TYPES.has(p.type);

/**
 * Package types Trivy aggregates into one result per type (packages found one by one, not in a lock
 * file), with the Target it prints for them (pkg/scanner/langpkg PkgTargets).
 */
export const AGGREGATED_TARGETS: Partial<Record<PackageType, string>> = {
  'python-pkg': 'Python',
  'node-pkg': 'Node.js',
  gemspec: 'Ruby',
  jar: 'Java',
};

const TRANSPORTS = ['docker-archive:', 'oci-archive:', 'oci:', 'rootfs:', 'sbom:', 'dir:', 'fs:'];

/** The artifact as Trivy names it: what the user typed, without our transport prefix (`rootfs:DIR` → `DIR`). */
export function artifactName(a: Artifact): string {
  for (const t of TRANSPORTS) if (a.name.startsWith(t)) return a.name.slice(t.length);
  return a.name;
}

/** The time written into documents: the fixed clock of the options, else when the scan finished. */
export function reportTime(report: ScanReport, opts: RenderOptions): Date {
  if (opts.now) return opts.now;
  const t = new Date(report.createdAt);
  return Number.isNaN(t.getTime()) ? new Date() : t;
}

/** RFC 3339 without milliseconds (`2024-01-02T03:04:05Z`), as SPDX requires and Trivy prints. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Package.extra keys SBOMs write as their own fields (supplier, Modularitylabel) or not at all. */
export const EXTRA_ELSEWHERE: ReadonlySet<string> = new Set(['maintainer', 'vendor', 'modularityLabel', 'bomRef']);

/** The file a package was read from (first location). */
export function packageFile(p: Package): string | undefined {
  return p.locations[0]?.path;
}

/** The layer a package came from, as Trivy's Layer {Digest, DiffID}, looked up in the artifact's layer list. */
export function packageLayer(p: Package, artifact: Artifact): { digest?: string; diffId?: string } {
  const id = p.locations[0]?.layer;
  if (!id) return {};
  const l: LayerInfo | undefined = artifact.layers.find((x) => x.digest === id || x.diffId === id);
  if (!l) return id === undefined ? {} : { diffId: id };
  const out: { digest?: string; diffId?: string } = {};
  if (l.digest) out.digest = l.digest;
  if (l.diffId) out.diffId = l.diffId;
  return out;
}

export type ResultClass = 'os-pkgs' | 'lang-pkgs';

/** One Trivy result: a target with its packages and the findings on them. */
export interface ResultGroup {
  /** `NAME (alpine 3.10.2)`, a lock file path, or an aggregate name ('Node.js', 'Python'). */
  target: string;
  class: ResultClass;
  /** OS family for os-pkgs, the package type for lang-pkgs. */
  type: string;
  /** The file the target stands for (lang-pkgs with a file; undefined for the OS and aggregates). */
  file?: string;
  packages: Package[];
  findings: Finding[];
}

interface GroupKey {
  key: string;
  target: string;
  class: ResultClass;
  type: string;
  file?: string;
}

function groupKeyOf(p: Package, inventory: Inventory, name: string): GroupKey {
  if (isOsPackage(p)) {
    const os = inventory.os;
    if (os) return { key: 'os', target: `${name} (${os.family} ${os.version})`, class: 'os-pkgs', type: os.family };
    return { key: `os:${p.type}`, target: name, class: 'os-pkgs', type: p.type };
  }
  const agg = AGGREGATED_TARGETS[p.type];
  if (agg) return { key: `agg:${p.type}`, target: agg, class: 'lang-pkgs', type: p.type };
  const file = p.filePath ?? packageFile(p) ?? '';
  const g: GroupKey = { key: `lang:${p.type}:${file}`, target: file || p.type, class: 'lang-pkgs', type: p.type };
  if (file) g.file = file;
  return g;
}

/** Go's string order (bytewise for the ASCII these fields hold). */
export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Trivy's BySeverity: package name, (package path), installed version, severity (worst first), id. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    cmpStr(a.package.name, b.package.name) ||
    cmpStr(pkgPath(a.package) ?? '', pkgPath(b.package) ?? '') ||
    cmpStr(a.installedVersion, b.installedVersion) ||
    severityRank(b.severity) - severityRank(a.severity) ||
    cmpStr(a.advisoryId, b.advisoryId)
  );
}

/** Trivy's Packages order: name, version, file path. */
export function comparePackages(a: Package, b: Package): number {
  return cmpStr(a.name, b.name) || cmpStr(a.version, b.version) || cmpStr(pkgPath(a) ?? '', pkgPath(b) ?? '');
}

/** Trivy's PkgPath: set for packages found one by one (aggregated types), the file they came from. */
export function pkgPath(p: Package): string | undefined {
  return AGGREGATED_TARGETS[p.type] ? packageFile(p) : undefined;
}

/**
 * Group a report the way Trivy does: the OS result first (whenever an OS was detected), then one
 * result per language file or aggregate, ordered by Target. A result with neither findings nor (when
 * `withEmpty`) packages is left out, except the OS one, which Trivy always prints.
 */
export function groupResults(report: ScanReport, opts: { withEmpty?: boolean } = {}): ResultGroup[] {
  const inv = report.inventory;
  const name = artifactName(inv.artifact);
  const groups = new Map<string, ResultGroup>();
  const ensure = (k: GroupKey): ResultGroup => {
    let g = groups.get(k.key);
    if (!g) {
      g = { target: k.target, class: k.class, type: k.type, packages: [], findings: [] };
      if (k.file !== undefined) g.file = k.file;
      groups.set(k.key, g);
    }
    return g;
  };
  if (inv.os) ensure({ key: 'os', target: `${name} (${inv.os.family} ${inv.os.version})`, class: 'os-pkgs', type: inv.os.family });
  for (const p of inv.packages) ensure(groupKeyOf(p, inv, name)).packages.push(p);
  for (const f of report.findings) ensure(groupKeyOf(f.package, inv, name)).findings.push(f);
  const all = [...groups.entries()];
  const os = all.filter(([k]) => k === 'os' || k.startsWith('os:')).map(([, g]) => g);
  const lang = all
    .filter(([k]) => !(k === 'os' || k.startsWith('os:')))
    .map(([, g]) => g)
    .filter((g) => g.findings.length > 0 || (opts.withEmpty && g.packages.length > 0))
    .sort((a, b) => cmpStr(a.target, b.target) || cmpStr(a.type, b.type));
  // OS packages without a detected OS: only when there is something to show (Trivy drops them)
  const keepOs = (g: ResultGroup): boolean => groups.get('os') === g || g.findings.length > 0 || Boolean(opts.withEmpty && g.packages.length > 0);
  const out = [...os.filter(keepOs), ...lang];
  for (const g of out) {
    g.findings.sort(compareFindings);
    g.packages.sort(comparePackages);
  }
  return out;
}

export type SeverityCounts = Record<Severity, number>;

export function severityCounts(findings: readonly Finding[]): SeverityCounts {
  const c: SeverityCounts = { UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0 };
  for (const f of findings) c[f.severity] += 1;
  return c;
}

/** `Total: N (CRITICAL: a, HIGH: b, MEDIUM: c, LOW: d, UNKNOWN: e)` */
export function summaryLine(findings: readonly Finding[]): string {
  const c = severityCounts(findings);
  const parts = [...SEVERITIES].reverse().map((s) => `${s}: ${c[s]}`);
  return `Total: ${findings.length} (${parts.join(', ')})`;
}

/** The best CVSS score and vector of a finding: its own score, else the severity source's, else NVD's, else any. */
export function bestCvss(f: Finding): { score?: number; vector?: string; version?: 'v2' | 'v3' | 'v4' } {
  const order = [f.severitySource, f.dataSource?.id, 'nvd', ...Object.keys(f.cvss ?? {})].filter((x): x is string => Boolean(x));
  for (const src of order) {
    const c = f.cvss?.[src];
    if (!c) continue;
    if (c.v40Score !== undefined || c.v40Vector) return pick(c.v40Score, c.v40Vector, 'v4', f.score);
    if (c.v3Score !== undefined || c.v3Vector) return pick(c.v3Score, c.v3Vector, 'v3', f.score);
    if (c.v2Score !== undefined || c.v2Vector) return pick(c.v2Score, c.v2Vector, 'v2', f.score);
  }
  return f.score !== undefined ? { score: f.score } : {};
}

function pick(score: number | undefined, vector: string | undefined, version: 'v2' | 'v3' | 'v4', fallback: number | undefined): { score?: number; vector?: string; version: 'v2' | 'v3' | 'v4' } {
  const out: { score?: number; vector?: string; version: 'v2' | 'v3' | 'v4' } = { version };
  const s = fallback ?? score;
  if (s !== undefined) out.score = s;
  if (vector) out.vector = vector;
  return out;
}

/** A stable short hex digest of strings (for ids and namespaces derived from content). */
export function hexDigest(parts: readonly string[], length = 16): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, length);
}

/** A deterministic RFC 4122 version-5-style UUID from content (SHA-256 based, variant bits set). */
export function contentUuid(parts: readonly string[]): string {
  const hex = hexDigest(parts, 32);
  const b = hex.split('');
  b[12] = '5';
  b[16] = ((parseInt(b[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const s = b.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

/** Write a string to a stream and wait until it is flushed (or fails). */
export function writeAll(out: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: unknown): void => reject(err instanceof Error ? err : new Error(String(err)));
    out.once('error', onError);
    out.write(text, (err) => {
      out.removeListener('error', onError);
      if (err) reject(err);
      else resolve();
    });
  });
}
