import type { DbInfo } from '../domain/index.ts';
import type { OsvRecord } from './osv-types.ts';

/**
 * The port matchers use (STYLE principle 5): advisories by (OSV ecosystem, package name).
 * Implementations: the SQLite store (vulndb/sqlite-store.ts) and an in-memory store for tests.
 * Synchronous on purpose: node:sqlite is synchronous and matching is a hot loop.
 */
export interface AdvisoryStore {
  /** Records whose `affected[]` names this package in this ecosystem ('Debian:12', 'Alpine:v3.19', 'npm', 'PyPI'). Withdrawn records are never returned. */
  forPackage(ecosystem: string, name: string): readonly OsvRecord[];
  /** NVD (or other) severity data for a CVE id, for records that carry none of their own. */
  cveSeverity?(cveId: string): { severity: string; score?: number; vector?: string; source: string } | undefined;
  info(): DbInfo;
}
