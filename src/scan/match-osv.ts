/**
 * Exact matching of an Inventory against OSV advisories (issue 3 §3). Pure: the store is a port.
 *
 * - OS packages are looked up in the OSV ecosystem of the detected OS ('Debian:12',
 *   'Ubuntu:22.04:LTS', 'Alpine:v3.19', …) by source package / origin and source version
 *   (ecosystems/osv-ecosystem.ts); records published under the bare ecosystem name ('Debian') are
 *   consulted too. Language packages use their registry ecosystem.
 * - affected[].ranges (ECOSYSTEM, SEMVER) and affected[].versions are honoured (scan/osv-range.ts).
 * - One finding per (package, vulnerability): records that share an id or alias (a GHSA and a
 *   PYSEC naming the same CVE) merge. The finding's id is the CVE when the group names exactly
 *   one CVE (what Trivy reports and users search for); otherwise the id of the first record in
 *   (GHSA, other, by id) order. Every other id becomes an alias. An umbrella advisory naming several
 *   CVEs (DSA, DLA, USN) that are all matched by per-CVE records becomes a vendor id of those findings.
 * - Severity: see scan/osv-severity.ts; the most authoritative source in the group wins.
 * - Packages whose version the ecosystem's comparator rejects are skipped with a note.
 */
import type { Finding, Inventory, OsInfo, Package, Severity } from '../domain/index.ts';
import { severityRank } from '../domain/index.ts';
import { alsoEcosystems, matchNames, matchVersion, osvEcosystem } from '../ecosystems/osv-ecosystem.ts';
import { baseEcosystem, comparatorFor, type Comparator } from '../versions/index.ts';
import { semver } from '../versions/semver.ts';
import type { OsvAffected, OsvRecord } from '../vulndb/osv-types.ts';
import type { AdvisoryStore } from '../vulndb/store.ts';
import { evalAffected, type MatchKind } from './osv-range.ts';
import { recordSeverity, type SeverityResult } from './osv-severity.ts';

export interface MatchOsvOptions {
  /** Data source shown on findings (Trivy DataSource). Defaults to OSV. */
  dataSource?: { id: string; name: string; url: string };
}

/** One advisory record that covers one package (before merging by alias). */
export interface OsvMatch {
  record: OsvRecord;
  affected: OsvAffected;
  ecosystem: string;
  matchName: string;
  version: string;
  kind: MatchKind;
  fixed?: string;
}

export interface MatchOsvResult {
  findings: Finding[];
  notes: string[];
}

const DEFAULT_SOURCE = { id: 'osv', name: 'OSV', url: 'https://osv.dev' };

function affectedEntries(record: OsvRecord, ecosystems: readonly string[], name: string, normalise: (n: string) => string): OsvAffected[] {
  const want = normalise(name);
  return (record.affected ?? []).filter(
    (a) => a.package !== undefined && ecosystems.includes(a.package.ecosystem) && normalise(a.package.name) === want,
  );
}

function nameNormaliser(ecosystem: string): (n: string) => string {
  const base = baseEcosystem(ecosystem);
  if (base === 'PyPI') return (n) => n.toLowerCase().replace(/[-_.]+/g, '-');
  if (base === 'npm' || base === 'NuGet') return (n) => n.toLowerCase();
  return (n) => n;
}

/**
 * Every record in `store` that covers a package with this (ecosystem, name, version). Exported for
 * tests and for callers that need the raw per-record matches.
 */
export function matchPackageVersion(
  store: AdvisoryStore,
  ecosystem: string,
  name: string,
  version: string,
  cmp: Comparator,
  also: readonly string[] = [],
): OsvMatch[] {
  // `also`: further releases whose entries count for this system (Ubuntu Pro: the plain LTS too)
  const ecosystems = [...new Set([ecosystem, ...also, ...(ecosystem.includes(':') ? [baseEcosystem(ecosystem)] : [])])];
  const normalise = nameNormaliser(ecosystem);
  const seen = new Set<string>();
  const out: OsvMatch[] = [];
  for (const eco of ecosystems) {
    for (const record of store.forPackage(eco, name)) {
      if (record.withdrawn || seen.has(record.id)) continue;
      seen.add(record.id);
      // several affected[] entries may name the package (one per branch): keep the lowest fix
      let best: OsvMatch | undefined;
      for (const affected of affectedEntries(record, ecosystems, name, normalise)) {
        const hit = evalAffected(affected, version, cmp, semver);
        if (!hit) continue;
        const m: OsvMatch = { record, affected, ecosystem: affected.package?.ecosystem ?? eco, matchName: name, version, kind: hit.kind };
        if (hit.fixed !== undefined) m.fixed = hit.fixed;
        if (!best || (m.fixed !== undefined && (best.fixed === undefined || cmp.compare(m.fixed, best.fixed) < 0))) best = m;
      }
      if (best) out.push(best);
    }
  }
  return out;
}

/** CVE ids a record names: its id, aliases and upstream. */
function cvesOf(record: OsvRecord): string[] {
  const out = new Set<string>();
  for (const x of [record.id, ...(record.aliases ?? []), ...(record.upstream ?? [])]) if (x.startsWith('CVE-')) out.add(x);
  return [...out];
}

/** Ids that identify a record for merging: id and aliases; upstream too when it names a single CVE. */
function mergeKeys(record: OsvRecord): string[] {
  const keys = [record.id, ...(record.aliases ?? [])];
  const cves = cvesOf(record);
  if (cves.length === 1) keys.push(cves[0]!);
  return keys;
}

/**
 * Umbrella advisories (a DSA/DLA/USN naming several CVEs) whose every CVE is already matched by a
 * per-CVE record of the same package are folded into those findings as vendor ids instead of
 * becoming findings of their own (Trivy's VendorIDs). Returns the kept matches and the folded ids by CVE.
 */
function foldUmbrellas(matches: readonly OsvMatch[]): { kept: OsvMatch[]; vendorIds: Map<string, string[]> } {
  const single = new Set<string>();
  for (const m of matches) {
    const c = cvesOf(m.record);
    if (c.length === 1) single.add(c[0]!);
  }
  const kept: OsvMatch[] = [];
  const vendorIds = new Map<string, string[]>();
  for (const m of matches) {
    const c = cvesOf(m.record);
    if (c.length > 1 && c.every((x) => single.has(x))) {
      for (const x of c) vendorIds.set(x, [...(vendorIds.get(x) ?? []), m.record.id]);
    } else kept.push(m);
  }
  return { kept, vendorIds };
}

/** Union-find over merge keys: groups of matches that are the same vulnerability. */
function groupMatches(matches: readonly OsvMatch[]): OsvMatch[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) ?? r;
    parent.set(x, r);
    return r;
  };
  const union = (a: string, b: string): void => {
    for (const x of [a, b]) if (!parent.has(x)) parent.set(x, x);
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  };
  for (const m of matches) for (const k of mergeKeys(m.record)) union(m.record.id, k);
  const groups = new Map<string, OsvMatch[]>();
  for (const m of matches) {
    const root = find(m.record.id);
    const g = groups.get(root);
    if (g) g.push(m);
    else groups.set(root, [m]);
  }
  return [...groups.values()];
}

function idRank(id: string): number {
  if (id.startsWith('GHSA-')) return 0;
  return 1;
}

function primaryRecordOrder(a: OsvMatch, b: OsvMatch): number {
  return idRank(a.record.id) - idRank(b.record.id) || (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0);
}

function chooseId(group: readonly OsvMatch[]): string {
  const cves = new Set<string>();
  for (const m of group) for (const x of mergeKeys(m.record)) if (x.startsWith('CVE-')) cves.add(x);
  if (cves.size === 1) return [...cves][0]!;
  return group[0]!.record.id;
}

function primaryUrl(record: OsvRecord): string | undefined {
  const refs = record.references ?? [];
  return (refs.find((r) => r.type === 'ADVISORY') ?? refs.find((r) => r.type === 'WEB') ?? refs[0])?.url;
}

function title(record: OsvRecord): string | undefined {
  if (record.summary?.trim()) return record.summary.trim();
  const first = record.details?.trim().split('\n', 1)[0]?.trim();
  return first || undefined;
}

function lowestFix(group: readonly OsvMatch[], cmp: Comparator): string | undefined {
  let best: string | undefined;
  for (const m of group) {
    if (m.fixed === undefined) continue;
    if (best === undefined || cmp.compare(m.fixed, best) < 0) best = m.fixed;
  }
  return best;
}

function buildFinding(
  pkg: Package,
  group: OsvMatch[],
  cmp: Comparator,
  store: AdvisoryStore,
  source: { id: string; name: string; url: string },
): Finding {
  group.sort(primaryRecordOrder);
  const id = chooseId(group);
  const primary = group[0]!.record;
  let sev: SeverityResult | undefined;
  for (const m of group) {
    const s = recordSeverity(m.record, m.affected, store);
    if (!sev || s.rank < sev.rank) sev = s;
  }
  const severity = sev ?? { severity: 'UNKNOWN' as Severity, source: 'none', rank: 99 };
  const aliases = new Set<string>();
  for (const m of group) for (const x of mergeKeys(m.record)) aliases.add(x);
  aliases.delete(id);
  const fixed = lowestFix(group, cmp);
  const f: Finding = {
    advisoryId: id,
    aliases: [...aliases].sort(),
    package: pkg,
    installedVersion: pkg.version,
    status: fixed === undefined ? 'affected' : 'fixed',
    severity: severity.severity,
    severitySource: severity.source,
    dataSource: source,
  };
  if (fixed !== undefined) f.fixedVersion = fixed;
  if (severity.score !== undefined) f.score = severity.score;
  if (severity.vector !== undefined) {
    const tag = severity.vector.startsWith('CVSS:4') ? 'v40' : severity.vector.startsWith('CVSS:3') ? 'v3' : 'v2';
    const entry = tag === 'v40' ? { v40Vector: severity.vector } : tag === 'v3' ? { v3Vector: severity.vector } : { v2Vector: severity.vector };
    const scored = severity.score === undefined ? entry : { ...entry, [`${tag}Score`]: severity.score };
    f.cvss = { [severity.vendor ?? severity.source]: scored };
  }
  const t = group.map((m) => title(m.record)).find((x) => x !== undefined);
  if (t !== undefined) f.title = t;
  if (primary.details) f.description = primary.details;
  const url = group.map((m) => primaryUrl(m.record)).find((x) => x !== undefined);
  if (url !== undefined) f.url = url;
  const refs = [...new Set(group.flatMap((m) => (m.record.references ?? []).map((r) => r.url)))];
  if (refs.length > 0) f.references = refs;
  if (primary.published) f.publishedDate = primary.published;
  f.lastModifiedDate = primary.modified;
  return f;
}

/** Findings by package (name, version, file), then severity (highest first), then id. */
function sortFindings(findings: Finding[]): void {
  const keyed = findings.map((f) => ({ f, k: `${f.package.name}\u0000${f.package.version}\u0000${f.package.filePath ?? ''}`, s: severityRank(f.severity) }));
  keyed.sort((a, b) => {
    if (a.k !== b.k) return a.k < b.k ? -1 : 1;
    if (a.s !== b.s) return b.s - a.s;
    return a.f.advisoryId < b.f.advisoryId ? -1 : a.f.advisoryId > b.f.advisoryId ? 1 : 0;
  });
  for (let i = 0; i < keyed.length; i++) findings[i] = keyed[i]!.f;
}

/** The OSV lookup key of a package: ecosystem, name and version to compare, or why there is none. */
export function lookupKey(
  pkg: Package,
  os: OsInfo | undefined,
): { ecosystem: string; also: string[]; name: string; names: string[]; version: string } | undefined {
  const ecosystem = osvEcosystem(pkg, os);
  if (!ecosystem) return undefined;
  const names = matchNames(pkg, os);
  return { ecosystem, also: alsoEcosystems(pkg, os), name: names[0]!, names, version: matchVersion(pkg, os) };
}

/** Matches under every lookup name of a package, one per record (the first name's wins). */
function matchAllNames(store: AdvisoryStore, key: { ecosystem: string; also: string[]; names: string[]; version: string }, cmp: Comparator): OsvMatch[] {
  if (key.names.length === 1) return matchPackageVersion(store, key.ecosystem, key.names[0]!, key.version, cmp, key.also);
  const seen = new Set<string>();
  const out: OsvMatch[] = [];
  for (const name of key.names) {
    for (const m of matchPackageVersion(store, key.ecosystem, name, key.version, cmp, key.also)) {
      if (seen.has(m.record.id)) continue;
      seen.add(m.record.id);
      out.push(m);
    }
  }
  return out;
}

export function matchOsv(inventory: Inventory, store: AdvisoryStore, opts: MatchOsvOptions = {}): MatchOsvResult {
  const source = opts.dataSource ?? DEFAULT_SOURCE;
  const findings: Finding[] = [];
  const notes: string[] = [];
  const noEcosystem = new Map<string, number>();
  const noComparator = new Set<string>();
  const invalid: string[] = [];
  for (const pkg of inventory.packages) {
    if (pkg.extra?.['pseudo']) continue;
    const key = lookupKey(pkg, inventory.os);
    if (!key) {
      noEcosystem.set(pkg.type, (noEcosystem.get(pkg.type) ?? 0) + 1);
      continue;
    }
    const cmp = comparatorFor(key.ecosystem);
    if (!cmp) {
      noComparator.add(key.ecosystem);
      continue;
    }
    // A package without a version (an npm workspace member) cannot be matched: nothing to say about it.
    if (key.version === '') continue;
    if (!cmp.isValid(key.version)) {
      invalid.push(`${pkg.name}@${key.version}`);
      continue;
    }
    const { kept, vendorIds } = foldUmbrellas(matchAllNames(store, key, cmp));
    for (const group of groupMatches(kept)) {
      const f = buildFinding(pkg, group, cmp, store, source);
      const vendor = [...new Set([f.advisoryId, ...f.aliases].flatMap((x) => vendorIds.get(x) ?? []))].sort();
      if (vendor.length > 0) f.vendorIds = vendor;
      findings.push(f);
    }
  }
  for (const [type, n] of [...noEcosystem].sort()) {
    const os = inventory.os ? `${inventory.os.family} ${inventory.os.version}` : 'no detected OS';
    notes.push(`osv: ${n} ${type} package(s) not matched: no OSV ecosystem for ${type === 'apk' || type === 'deb' || type === 'rpm' ? os : type}`);
  }
  for (const eco of [...noComparator].sort()) notes.push(`osv: ecosystem '${eco}' has no version comparator; its packages were not matched`);
  if (invalid.length > 0) {
    const shown = invalid.slice(0, 5).join(', ');
    notes.push(`osv: ${invalid.length} package(s) skipped, version not valid for its ecosystem: ${shown}${invalid.length > 5 ? ', …' : ''}`);
  }
  sortFindings(findings);
  return { findings, notes };
}
