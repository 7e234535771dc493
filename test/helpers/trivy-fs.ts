import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Package } from '../../src/domain/index.ts';
import { trivyPkgId } from '../../src/report/trivy-json.ts';
import { TESTDATA } from './paths.ts';

/** One package of a `trivy fs --list-all-pkgs` result, as the lock-file tests compare it. */
export interface TrivyLangRow {
  target: string;
  type: string;
  id: string;
  name: string;
  version: string;
  indirect: boolean;
}

/**
 * Writes `files` (path → text) into a temporary project directory, runs the real Trivy's
 * `fs --list-all-pkgs` on it with the shared fixture DB (offline) and returns every language
 * package, sorted. The directory is removed afterwards.
 */
export function trivyFsPackages(trivy: string, files: Record<string, string>): TrivyLangRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'pc-trivyfs-'));
  try {
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, 'src', p)), { recursive: true });
      writeFileSync(join(dir, 'src', p), text);
    }
    cpSync(join(TESTDATA, 'trivy-db', 'db'), join(dir, 'cache', 'db'), { recursive: true });
    const out = execFileSync(trivy, ['fs', '--quiet', '--scanners', 'vuln', '--list-all-pkgs', '--format', 'json', '--cache-dir', join(dir, 'cache'), '--skip-db-update', '--offline-scan', join(dir, 'src')], { encoding: 'utf8', maxBuffer: 16 << 20 });
    const report = JSON.parse(out) as { Results?: { Target: string; Class: string; Type: string; Packages?: { ID?: string; Name: string; Version?: string; Indirect?: boolean }[] }[] };
    const rows: TrivyLangRow[] = [];
    for (const r of report.Results ?? []) {
      if (r.Class !== 'lang-pkgs') continue;
      for (const p of r.Packages ?? []) rows.push({ target: r.Target, type: r.Type, id: p.ID ?? '', name: p.Name, version: p.Version ?? '', indirect: p.Indirect === true });
    }
    return sortRows(rows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function sortRows(rows: TrivyLangRow[]): TrivyLangRow[] {
  const k = (r: TrivyLangRow): string => `${r.target}\u0000${r.name}\u0000${r.version}`;
  return rows.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

/** Our packages as the same rows (Target = filePath, ID = Trivy's PkgID, Indirect = relationship indirect). */
export function ourRows(pkgs: Package[]): TrivyLangRow[] {
  return sortRows(pkgs.map((p) => ({ target: p.filePath ?? '', type: p.type, id: trivyPkgId(p) ?? '', name: p.name, version: p.version, indirect: p.relationship === 'indirect' })));
}
