/**
 * What a user asked to leave out of a report, applied the same way for every output format:
 * skipped directories/files (packages found there are dropped before matching), then severities,
 * unfixed findings and ignore-file rules.
 */
import { matchesGlob } from 'node:path';
import type { Finding, Inventory, Severity } from '../domain/index.ts';
import type { IgnoreRule } from './ignore.ts';

export interface PathFilter {
  skipDirs?: readonly string[];
  skipFiles?: readonly string[];
  /** Keep lock-file development dependencies (left out by default, as Trivy does). */
  includeDevDeps?: boolean;
}

const clean = (p: string): string => p.replace(/^\.?\/+/, '').replace(/\/+$/, '');

function underDir(path: string, dir: string): boolean {
  const d = clean(dir);
  if (!d) return true;
  if (path === d || path.startsWith(`${d}/`)) return true;
  // a glob: match the directory part against it at every depth
  if (/[*?[{]/.test(d)) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) if (matchesGlob(parts.slice(0, i).join('/'), d)) return true;
  }
  return false;
}

function skippedFile(path: string, file: string): boolean {
  const f = clean(file);
  return path === f || (/[*?[{]/.test(f) && matchesGlob(path, f));
}

/** Drop development dependencies (unless asked for) and packages whose every location lies in a skipped directory or file. */
export function filterInventory(inv: Inventory, f: PathFilter): Inventory {
  const dirs = f.skipDirs ?? [];
  const files = f.skipFiles ?? [];
  const dropDev = !f.includeDevDeps && inv.packages.some((p) => p.dev);
  if (!dirs.length && !files.length && !dropDev) return inv;
  const skipped = (p: string): boolean => dirs.some((d) => underDir(p, d)) || files.some((x) => skippedFile(p, x));
  const packages = inv.packages.filter((p) => {
    if (dropDev && p.dev) return false;
    const paths = p.locations.map((l) => l.path);
    if (p.filePath) paths.push(p.filePath);
    return paths.length === 0 || !paths.every(skipped);
  });
  return { ...inv, packages };
}

export interface FindingFilter {
  /** Severities to keep; undefined = all. */
  severities?: readonly Severity[];
  ignoreUnfixed?: boolean;
  /** Ignore-file rules, e.g. `(f) => applyIgnores(f, set)` (scan/ignore.ts, loaded only when scanning). */
  ignore?: (findings: Finding[]) => { kept: Finding[]; ignored: { finding: Finding; rule: IgnoreRule }[] };
}

export interface FilterResult {
  findings: Finding[];
  ignored: { finding: Finding; rule: IgnoreRule }[];
  /** How many were dropped by severity / unfixed. */
  droppedBySeverity: number;
  droppedUnfixed: number;
}

export function filterFindings(findings: readonly Finding[], f: FindingFilter): FilterResult {
  let droppedBySeverity = 0;
  let droppedUnfixed = 0;
  const sev = f.severities ? new Set(f.severities) : undefined;
  const pre: Finding[] = [];
  for (const x of findings) {
    if (sev && !sev.has(x.severity)) {
      droppedBySeverity++;
      continue;
    }
    // As Trivy: --ignore-unfixed drops every finding that has no fixed version, whatever its status.
    if (f.ignoreUnfixed && !x.fixedVersion) {
      droppedUnfixed++;
      continue;
    }
    pre.push(x);
  }
  const { kept, ignored } = f.ignore ? f.ignore(pre) : { kept: pre, ignored: [] };
  return { findings: kept, ignored, droppedBySeverity, droppedUnfixed };
}
