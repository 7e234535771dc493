/**
 * `--db-source merge` (config `db.source: merge`): both the Trivy DB and the OSV DB decide.
 *
 * Both match the same inventory. For each package, an OSV finding that shares an identifier with a
 * Trivy finding of that package — its id or any alias against the Trivy row's id or aliases, CVE ids
 * above all (GHSA-… = CVE-… in OSV, CVE-… in Trivy) — is the same vulnerability: the Trivy row is kept
 * (its vendor severity, status, fixed version and data source follow Trivy's rules, which is what
 * the Trivy-compatible reports promise) and gains the OSV ids as aliases. OSV findings no Trivy
 * row names are added as they are (a GHSA or PYSEC advisory without a CVE, a package Trivy does not
 * cover). Notes of both are kept. The result is in Trivy's row order.
 */
import type { DbInfo, Finding, Inventory, Package } from '../domain/index.ts';
import type { AdvisoryDb } from './index.ts';
import { compareTrivyOrder } from './match-trivy.ts';

/** Identifiers a finding answers to, upper-cased (CVE-2024-1, GHSA-xxxx-…, DSA-…). */
function idsOf(f: Finding): string[] {
  return [f.advisoryId, ...f.aliases, ...(f.vendorIds ?? [])].filter(Boolean).map((x) => x.toUpperCase());
}

/** The same package in both results: the same object (one inventory), else the same identity. */
function packageKey(p: Package): string {
  return JSON.stringify([p.type, p.name, p.version, p.arch ?? '', p.filePath ?? '', p.purl]);
}

/** The later of two ISO timestamps (either may be missing). */
function later(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

/** Fold OSV findings into Trivy findings (pure; exported for tests and the server's merged views). */
export function mergeFindings(trivy: readonly Finding[], osv: readonly Finding[]): Finding[] {
  const byPackage = new Map<string, Map<string, Finding[]>>();
  const out: Finding[] = trivy.map((f) => ({ ...f, aliases: [...f.aliases] }));
  for (const f of out) {
    const k = packageKey(f.package);
    let ids = byPackage.get(k);
    if (!ids) byPackage.set(k, (ids = new Map()));
    for (const id of idsOf(f)) {
      const list = ids.get(id);
      if (list) list.push(f);
      else ids.set(id, [f]);
    }
  }
  for (const o of osv) {
    const ids = byPackage.get(packageKey(o.package));
    const same = new Set<Finding>();
    for (const id of idsOf(o)) for (const t of ids?.get(id) ?? []) same.add(t);
    if (same.size === 0) {
      out.push(o);
      continue;
    }
    for (const t of same) {
      const known = new Set([t.advisoryId.toUpperCase(), ...t.aliases.map((a) => a.toUpperCase())]);
      for (const id of [o.advisoryId, ...o.aliases]) {
        if (!known.has(id.toUpperCase())) {
          t.aliases.push(id);
          known.add(id.toUpperCase());
        }
      }
    }
  }
  return out.sort(compareTrivyOrder);
}

export function mergedAdvisoryDb(trivy: AdvisoryDb, osv: AdvisoryDb): AdvisoryDb {
  const info: DbInfo = { source: 'osv+trivy' };
  // builtAt: the newer build (what changed last); updatedAt: the older update (the stalest part decides freshness)
  const built = later(trivy.info.builtAt, osv.info.builtAt);
  if (built) info.builtAt = built;
  const a = trivy.info.updatedAt;
  const b = osv.info.updatedAt;
  const updated = a && b ? (Date.parse(a) <= Date.parse(b) ? a : b) : (a ?? b);
  if (updated) info.updatedAt = updated;
  return {
    info,
    match(inventory: Inventory) {
      const t = trivy.match(inventory);
      const o = osv.match(inventory);
      return { findings: mergeFindings(t.findings, o.findings), notes: [...new Set([...t.notes, ...o.notes])] };
    },
    close() {
      try {
        trivy.close();
      } finally {
        osv.close();
      }
    },
  };
}
