/**
 * An in-memory AdvisoryStore built from OSV records (tests, the demo, benchmarks). Indexed by
 * (affected[].package.ecosystem exactly as written, normalised package name). Withdrawn records
 * are dropped on insert, so they are never returned.
 */
import type { DbInfo } from '../domain/index.ts';
import type { AdvisoryStore } from './store.ts';
import type { OsvRecord } from './osv-types.ts';
import { validateOsvRecord } from './osv-validate.ts';

export interface CveSeverity {
  severity: string;
  score?: number;
  vector?: string;
  source: string;
}

/**
 * The lookup form of a package name: PyPI names are normalised as PEP 503 says
 * ('Jinja2' → 'jinja2', 'zope.interface' → 'zope-interface'); other ecosystems are case-sensitive
 * except npm and NuGet, compared lowercased. Stores and the matcher both use it.
 */
export function normalizePackageName(ecosystem: string, name: string): string {
  const base = ecosystem.split(':', 1)[0];
  if (base === 'PyPI') return name.toLowerCase().replace(/[-_.]+/g, '-');
  if (base === 'npm' || base === 'NuGet') return name.toLowerCase();
  return name;
}

function key(ecosystem: string, name: string): string {
  return `${ecosystem}\u0000${normalizePackageName(ecosystem, name)}`;
}

export class MemoryStore implements AdvisoryStore {
  readonly #byPackage = new Map<string, OsvRecord[]>();
  readonly #byId = new Map<string, OsvRecord>();
  readonly #cves = new Map<string, CveSeverity>();
  readonly #info: DbInfo;
  #withdrawn = 0;

  constructor(records: Iterable<OsvRecord> = [], info: DbInfo = { source: 'memory' }) {
    this.#info = info;
    for (const r of records) this.add(r);
  }

  /** Add or replace a record (by id). Withdrawn records are counted and not indexed. */
  add(record: OsvRecord): void {
    const old = this.#byId.get(record.id);
    if (old) this.#remove(old);
    if (record.withdrawn) {
      this.#withdrawn++;
      return;
    }
    this.#byId.set(record.id, record);
    const seen = new Set<string>();
    for (const a of record.affected ?? []) {
      if (!a.package) continue;
      const k = key(a.package.ecosystem, a.package.name);
      if (seen.has(k)) continue;
      seen.add(k);
      const list = this.#byPackage.get(k);
      if (list) list.push(record);
      else this.#byPackage.set(k, [record]);
    }
  }

  #remove(record: OsvRecord): void {
    this.#byId.delete(record.id);
    for (const [k, list] of this.#byPackage) {
      const i = list.indexOf(record);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#byPackage.delete(k);
    }
  }

  /** NVD-style severity for a CVE, used when a record carries none of its own. */
  setCveSeverity(cveId: string, s: CveSeverity): void {
    this.#cves.set(cveId, s);
  }

  forPackage(ecosystem: string, name: string): readonly OsvRecord[] {
    return this.#byPackage.get(key(ecosystem, name)) ?? [];
  }

  cveSeverity(cveId: string): CveSeverity | undefined {
    return this.#cves.get(cveId);
  }

  info(): DbInfo {
    return this.#info;
  }

  get size(): number {
    return this.#byId.size;
  }

  get withdrawnCount(): number {
    return this.#withdrawn;
  }
}

/**
 * Shape check for OSV JSON given to the memory store (tests, the demo): the importer's validator
 * (osv-validate.ts). Returns undefined for a record that does not fit.
 */
export function asOsvRecord(v: unknown): OsvRecord | undefined {
  const r = validateOsvRecord(v);
  return r.ok ? r.record : undefined;
}
