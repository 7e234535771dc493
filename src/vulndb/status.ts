/**
 * `portcullis db status`: what the OSV DB holds (sources with their validators and import dates,
 * advisories per ecosystem, malformed records skipped, the last update's changes) and the Trivy DB
 * beside it. Pure data here; the CLI renders it as a table or JSON.
 */
import { existsSync, statSync } from 'node:fs';
import { UserError } from '../shared/errors.ts';
import { osvDbPath } from './paths.ts';
import { SqliteStore, type SourceStatus, type UpdateLog } from './sqlite-store.ts';
import { trivyDbStatus, type TrivyDbStatus } from './trivy/index.ts';
import { readChecked } from './update.ts';

export interface OsvDbStatus {
  path: string;
  sizeBytes: number;
  schemaVersion: string;
  builtAt?: string;
  updatedAt?: string;
  /** Hours since the last change of content (builtAt). */
  ageHours?: number;
  advisories: number;
  withdrawn: number;
  cveSeverities: number;
  ecosystems: Record<string, number>;
  sources: SourceStatus[];
  malformed: number;
  /** When `db update` last heard from its sources (also when nothing had changed). */
  checkedAt?: string;
  lastUpdate?: UpdateLog & { totals: { added: number; modified: number; withdrawn: number; removed: number; failed: number } };
}

export interface DbStatus {
  cacheDir: string;
  osv?: OsvDbStatus;
  /** Set when the OSV DB file exists but cannot be used. */
  osvError?: string;
  trivy?: TrivyDbStatus;
  trivyError?: string;
}

function hoursSince(iso: string | undefined, now: Date): number | undefined {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? Math.max(0, Math.round(((now.getTime() - t) / 36e5) * 10) / 10) : undefined;
}

export function osvStatus(cacheDir: string, now: Date = new Date()): OsvDbStatus | undefined {
  const path = osvDbPath(cacheDir);
  if (!existsSync(path)) return undefined;
  const s = SqliteStore.open(path, { cacheRecords: 0 });
  try {
    const counts = s.counts();
    const info = s.info();
    const sources = s.sources();
    const st: OsvDbStatus = {
      path,
      sizeBytes: statSync(path).size,
      schemaVersion: s.meta('schema_version') ?? '?',
      advisories: counts.advisories,
      withdrawn: counts.withdrawn,
      cveSeverities: counts.cveSeverities,
      ecosystems: s.ecosystemCounts(),
      sources,
      malformed: sources.reduce((n, x) => n + x.malformed, 0),
    };
    const checked = readChecked(cacheDir);
    if (checked.checkedAt) st.checkedAt = checked.checkedAt;
    for (const src of sources) {
      const at = checked.sources[src.id];
      if (at) src.checkedAt = at;
    }
    if (info.builtAt) st.builtAt = info.builtAt;
    if (info.updatedAt) st.updatedAt = info.updatedAt;
    const age = hoursSince(info.builtAt, now);
    if (age !== undefined) st.ageHours = age;
    const last = s.updates(1)[0];
    if (last) {
      const totals = { added: 0, modified: 0, withdrawn: 0, removed: 0, failed: 0 };
      for (const c of Object.values(last.summary.sources)) {
        totals.added += c.added;
        totals.modified += c.modified;
        totals.withdrawn += c.withdrawn;
        totals.removed += c.removed;
        if (c.status === 'failed') totals.failed++;
      }
      st.lastUpdate = { ...last, totals };
    }
    return st;
  } finally {
    s.close();
  }
}

/** Both DBs. Errors opening one are reported in the status, not thrown, so the other still shows. */
export function dbStatus(cacheDir: string, now: Date = new Date()): DbStatus {
  const out: DbStatus = { cacheDir };
  try {
    const o = osvStatus(cacheDir, now);
    if (o) out.osv = o;
  } catch (err) {
    out.osvError = (err as Error).message;
  }
  try {
    const t = trivyDbStatus(cacheDir, now);
    if (t) out.trivy = t;
  } catch (err) {
    out.trivyError = (err as Error).message;
  }
  return out;
}

/** Status for the CLI: no DB at all is a UserError with the command to run. */
export function requireSomeDb(s: DbStatus): DbStatus {
  if (!s.osv && !s.trivy && !s.osvError && !s.trivyError) {
    throw new UserError(`no advisory database in ${s.cacheDir}: run \`portcullis db update\` (or \`portcullis db import PATH\` on an air-gapped host)`, { code: 'DB_MISSING' });
  }
  return s;
}
