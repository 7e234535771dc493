/**
 * The OSV advisory DB, read-only (the AdvisoryStore the matcher uses for scans). One SQLite file,
 * built by sqlite-writer.ts beside the live one and renamed over it, so a reader never sees a
 * half-written DB. Records are stored as the feeds publish them (JSON) and indexed by
 * (affected[].package.ecosystem as written, normalised package name); withdrawn records are kept for
 * the change log but never indexed, so they never match.
 *
 * Speed: prepared statements, and parsed records cached by row (a record named by several packages,
 * or a server scanning many images, parses once). See docs/vulndb.md for figures.
 */
import { statSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { DbInfo } from '../domain/index.ts';
import { ScannerError } from '../shared/errors.ts';
import type { CveSeverity } from './memory-store.ts';
import { normalizePackageName } from './memory-store.ts';
import type { OsvRecord } from './osv-types.ts';
import { checkDbFile, readFailure, rowJson } from './schema.ts';
import type { AdvisoryStore } from './store.ts';

export interface MalformedSample {
  /** Record id when it could be read, else the file / zip entry name. */
  name: string;
  reason: string;
}

export interface SourceStatus {
  /** 'osv:Debian' (a bucket or mirror ecosystem), 'file:/abs/x.zip', 'dir:/abs/dir', 'nvd:<url or path>'. */
  id: string;
  kind: 'osv-ecosystem' | 'osv-zip' | 'osv-dir' | 'osv-json' | 'nvd';
  url?: string;
  etag?: string;
  lastModified?: string;
  importedAt: string;
  sha256?: string;
  bytes?: number;
  records: number;
  withdrawn: number;
  malformed: number;
  malformedSample: MalformedSample[];
  /** Set by `db status`: when `db update` last heard from this source (a 304 counts). */
  checkedAt?: string;
}

export interface SourceChange {
  status: 'updated' | 'unchanged' | 'failed';
  added: number;
  modified: number;
  withdrawn: number;
  removed: number;
  records?: number;
  malformed?: number;
  error?: string;
}

export interface UpdateSummary {
  sources: Record<string, SourceChange>;
}

export interface UpdateLog {
  id: number;
  startedAt: string;
  finishedAt: string;
  command: string;
  summary: UpdateSummary;
}

export type ChangeKind = 'added' | 'modified' | 'withdrawn' | 'removed';

export interface ChangeRow {
  source: string;
  change: ChangeKind;
  advisoryId: string;
}

export interface OpenOptions {
  /** Parsed records kept in memory (default 50,000; 0 disables the cache). */
  cacheRecords?: number;
}

type Row = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
}

function parseJson<T>(text: unknown, fallback: T): T {
  if (typeof text !== 'string') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function sourceFromRow(r: Row): SourceStatus {
  const s: SourceStatus = {
    id: String(r['id']),
    kind: String(r['kind']) as SourceStatus['kind'],
    importedAt: String(r['imported_at']),
    records: num(r['records']),
    withdrawn: num(r['withdrawn']),
    malformed: num(r['malformed']),
    malformedSample: parseJson<MalformedSample[]>(r['malformed_sample'], []),
  };
  const url = str(r['url']);
  if (url !== undefined) s.url = url;
  const etag = str(r['etag']);
  if (etag !== undefined) s.etag = etag;
  const lm = str(r['last_modified']);
  if (lm !== undefined) s.lastModified = lm;
  const sha = str(r['sha256']);
  if (sha !== undefined) s.sha256 = sha;
  if (r['bytes'] !== null && r['bytes'] !== undefined) s.bytes = num(r['bytes']);
  return s;
}

export class SqliteStore implements AdvisoryStore {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #ino: number;
  readonly #cacheMax: number;
  readonly #cache = new Map<number, OsvRecord>();
  readonly #ecosystems: Map<string, number>;
  readonly #meta: Map<string, string>;
  readonly #byPackage: StatementSync;
  readonly #cve: StatementSync;
  readonly #hasCves: boolean;
  readonly #cveCache = new Map<string, CveSeverity | null>();
  #closed = false;

  private constructor(path: string, db: DatabaseSync, opts: OpenOptions) {
    this.path = path;
    this.#db = db;
    this.#ino = statSync(path).ino;
    this.#cacheMax = opts.cacheRecords ?? 50_000;
    this.#meta = new Map((db.prepare('SELECT key, value FROM meta').all() as Row[]).map((r) => [String(r['key']), String(r['value'])]));
    this.#ecosystems = new Map(Object.entries(parseJson<Record<string, number>>(this.#meta.get('ecosystem_counts'), {})));
    // one statement per lookup: the index row and the record (a cached record is not parsed again)
    this.#byPackage = db.prepare(
      'SELECT a.rowid, a.json, a.zjson FROM affected f JOIN advisories a ON a.rowid = f.adv WHERE f.ecosystem = ? AND f.name = ? AND a.withdrawn IS NULL',
    );
    this.#byPackage.setReturnArrays(true);
    this.#cve = db.prepare('SELECT severity, score, vector, source FROM cve_severity WHERE cve = ?');
    this.#hasCves = db.prepare('SELECT 1 FROM cve_severity LIMIT 1').get() !== undefined;
  }

  /** Open a DB file read-only. Missing, unreadable, truncated or foreign files → ScannerError VULNDB_CORRUPT. */
  static open(path: string, opts: OpenOptions = {}): SqliteStore {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path, { readOnly: true, timeout: 5000 });
      // reads go through a memory map and a 64 MB page cache: lookups are point queries on a hot index
      db.exec('PRAGMA mmap_size = 4294967296; PRAGMA cache_size = -65536; PRAGMA query_only = 1;');
    } catch (err) {
      throw readFailure(path, err);
    }
    try {
      checkDbFile(db, path);
      return new SqliteStore(path, db, opts);
    } catch (err) {
      db.close();
      if (err instanceof ScannerError) throw err;
      throw readFailure(path, err);
    }
  }

  #record(row: unknown[]): OsvRecord | undefined {
    const rowid = num(row[0]);
    const hit = this.#cache.get(rowid);
    if (hit) return hit;
    const rec = JSON.parse(rowJson(row[1], row[2])) as OsvRecord;
    if (rec.withdrawn) return undefined;
    if (this.#cacheMax > 0) {
      if (this.#cache.size >= this.#cacheMax) {
        const oldest = this.#cache.keys().next();
        if (!oldest.done) this.#cache.delete(oldest.value);
      }
      this.#cache.set(rowid, rec);
    }
    return rec;
  }

  forPackage(ecosystem: string, name: string): readonly OsvRecord[] {
    if (this.#ecosystems.size > 0 && !this.#ecosystems.has(ecosystem)) return [];
    try {
      const rows = this.#byPackage.all(ecosystem, normalizePackageName(ecosystem, name)) as unknown as unknown[][];
      if (rows.length === 0) return [];
      const out: OsvRecord[] = [];
      for (const r of rows) {
        const rec = this.#record(r);
        if (rec) out.push(rec);
      }
      return out;
    } catch (err) {
      throw readFailure(this.path, err);
    }
  }

  cveSeverity(cveId: string): CveSeverity | undefined {
    if (!this.#hasCves) return undefined;
    const hit = this.#cveCache.get(cveId);
    if (hit !== undefined) return hit ?? undefined;
    let s: CveSeverity | undefined;
    try {
      const r = this.#cve.get(cveId) as Row | undefined;
      if (r) {
        s = { severity: String(r['severity']), source: String(r['source']) };
        if (typeof r['score'] === 'number') s.score = r['score'];
        const v = str(r['vector']);
        if (v !== undefined) s.vector = v;
      }
    } catch (err) {
      throw readFailure(this.path, err);
    }
    if (this.#cveCache.size >= 100_000) this.#cveCache.clear();
    this.#cveCache.set(cveId, s ?? null);
    return s;
  }

  info(): DbInfo {
    const i: DbInfo = { source: 'osv' };
    const built = this.#meta.get('built_at');
    if (built) i.builtAt = built;
    const updated = this.#meta.get('updated_at');
    if (updated) i.updatedAt = updated;
    return i;
  }

  meta(key: string): string | undefined {
    return this.#meta.get(key);
  }

  /** Advisories per affected ecosystem string ('Debian:12', 'npm'), withdrawn excluded. */
  ecosystemCounts(): Record<string, number> {
    return Object.fromEntries(this.#ecosystems);
  }

  /** One record by its id (withdrawn ones too), or undefined. */
  get(id: string): OsvRecord | undefined {
    const r = this.#db.prepare('SELECT json, zjson FROM advisories WHERE id = ?').get(id) as Row | undefined;
    return r ? (JSON.parse(rowJson(r['json'], r['zjson'])) as OsvRecord) : undefined;
  }

  /** Records that list `alias` (a CVE, GHSA …) among their aliases, plus the record with that id. */
  byAlias(alias: string): OsvRecord[] {
    const rows = this.#db
      .prepare('SELECT a.json, a.zjson FROM advisories a WHERE a.id = ? UNION ALL SELECT a.json, a.zjson FROM aliases l JOIN advisories a ON a.rowid = l.adv WHERE l.alias = ? AND a.id <> ?')
      .all(alias, alias, alias) as Row[];
    return rows.map((r) => JSON.parse(rowJson(r['json'], r['zjson'])) as OsvRecord);
  }

  counts(): { advisories: number; withdrawn: number; cveSeverities: number } {
    const a = this.#db.prepare('SELECT COUNT(*) AS n, COUNT(withdrawn) AS w FROM advisories').get() as Row;
    const c = this.#db.prepare('SELECT COUNT(*) AS n FROM cve_severity').get() as Row;
    return { advisories: num(a['n']) - num(a['w']), withdrawn: num(a['w']), cveSeverities: num(c['n']) };
  }

  sources(): SourceStatus[] {
    return (this.#db.prepare('SELECT * FROM sources ORDER BY id').all() as Row[]).map(sourceFromRow);
  }

  /** The most recent updates (db update / db import runs that changed the DB), newest first. */
  updates(limit = 10): UpdateLog[] {
    const rows = this.#db.prepare('SELECT * FROM updates ORDER BY id DESC LIMIT ?').all(limit) as Row[];
    return rows.map((r) => ({
      id: num(r['id']),
      startedAt: String(r['started_at']),
      finishedAt: String(r['finished_at']),
      command: String(r['command']),
      summary: parseJson<UpdateSummary>(r['summary'], { sources: {} }),
    }));
  }

  /** Advisory ids added / modified / withdrawn / removed by one update (default: the last). */
  changes(updateId?: number): ChangeRow[] {
    const id = updateId ?? this.updates(1)[0]?.id;
    if (id === undefined) return [];
    const rows = this.#db.prepare('SELECT source, change, advisory_id FROM changes WHERE update_id = ? ORDER BY source, change, advisory_id').all(id) as Row[];
    return rows.map((r) => ({ source: String(r['source']), change: String(r['change']) as ChangeKind, advisoryId: String(r['advisory_id']) }));
  }

  /** Every record of one source as stored (bundle import). */
  *sourceRecords(sourceId: string): Generator<{ name: string; text: string }> {
    const st = this.#db.prepare('SELECT a.id, a.json, a.zjson FROM members m JOIN advisories a ON a.rowid = m.adv WHERE m.source = ? ORDER BY a.rowid');
    for (const r of st.iterate(sourceId) as Iterable<Row>) yield { name: String(r['id']), text: rowJson(r['json'], r['zjson']) };
  }

  /** Every CVE severity (bundle import). */
  *cveRows(): Generator<{ cve: string; severity: CveSeverity; modified?: string }> {
    for (const r of this.#db.prepare('SELECT cve, severity, score, vector, source, modified FROM cve_severity').iterate() as Iterable<Row>) {
      const severity: CveSeverity = { severity: String(r['severity']), source: String(r['source']) };
      if (typeof r['score'] === 'number') severity.score = r['score'];
      const v = str(r['vector']);
      if (v !== undefined) severity.vector = v;
      const out: { cve: string; severity: CveSeverity; modified?: string } = { cve: String(r['cve']), severity };
      const m = str(r['modified']);
      if (m !== undefined) out.modified = m;
      yield out;
    }
  }

  /** False once `db update` / `db import` has swapped a new file in (a long-running server reopens then). */
  isCurrent(): boolean {
    try {
      return statSync(this.path).ino === this.#ino;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cache.clear();
    this.#db.close();
  }
}
