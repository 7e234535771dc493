/**
 * Building a new OSV DB beside the live one (`db update`, `db import`):
 *
 *   lock <db>/osv.sqlite.lock → copy the live DB (if it opens and passes its checks) to a temp file in
 *   the same directory → apply each source in its own transaction (a source that fails is rolled back
 *   and keeps its previous data) → counts, change log → fsync → rename over the live file → fsync dir.
 *
 * A crash, a kill or a failure at any point leaves the live DB exactly as it was; stale temp files
 * and locks of dead processes are cleaned up by the next run. Readers that have the old file open
 * keep reading it (POSIX rename), `SqliteStore.isCurrent()` tells them to reopen.
 */
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { deflateRawSync } from 'node:zlib';
import { ScannerError, UserError, describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { VERSION } from '../shared/version.ts';
import { normalizePackageName, type CveSeverity } from './memory-store.ts';
import { parseOsvRecord } from './osv-validate.ts';
import type { OsvRecord } from './osv-types.ts';
import { COMPRESS_ABOVE, DDL, SCHEMA_VERSION } from './schema.ts';
import { SqliteStore, type ChangeKind, type MalformedSample, type SourceChange, type SourceStatus, type UpdateSummary } from './sqlite-store.ts';

/** Malformed records named per source in `db status`. */
export const MALFORMED_SAMPLE = 10;
/** Updates whose change log (advisory ids) is kept. */
const KEEP_UPDATES = 20;
/** Largest single record JSON accepted. */
export const MAX_RECORD_BYTES = 32 * 1024 * 1024;

export interface SourceDescriptor {
  id: string;
  kind: SourceStatus['kind'];
  url?: string;
  etag?: string;
  lastModified?: string;
  sha256?: string;
  bytes?: number;
  /** When the data was fetched (default now); a bundle keeps its original date. */
  importedAt?: string;
  /** Malformed records already counted upstream (a bundle carries its source's counts). */
  malformed?: { count: number; sample: MalformedSample[] };
}

/** One record to import: its JSON text (or bytes), or why it could not be read. */
export type RecordInput = { name: string; text: string | Buffer } | { name: string; error: string };

export interface CveInput {
  cve: string;
  severity: CveSeverity;
  modified?: string;
}

function compareModified(a: string, b: string): number {
  const x = Date.parse(a);
  const y = Date.parse(b);
  if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const TEMP_RE = /^\.osv\.sqlite\.(\d+)\.[0-9a-z]+\.tmp(-journal)?$|^\.download\.(\d+)\.|^osv\.checked\.json\.(\d+)\.tmp$/;

/** Remove temp files left by processes that no longer run. */
export function cleanStaleTemps(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const m = TEMP_RE.exec(name);
    if (!m) continue;
    const pid = Number(m[1] ?? m[3] ?? m[4]);
    if (pid !== process.pid && !pidAlive(pid)) rmSync(join(dir, name), { force: true, recursive: true });
  }
}

/** Locks this process holds (a lock file with our own pid is ours only if it is in here). */
const heldHere = new Set<string>();

/** An exclusive lock on the DB (one writer at a time, across and within processes); stale locks of dead pids are taken over. */
export function acquireLock(dbPath: string): () => void {
  const lock = `${dbPath}.lock`;
  mkdirSync(dirname(dbPath), { recursive: true });
  if (heldHere.has(lock)) throw new UserError(`another db update/import in this process is writing ${dbPath}; wait for it to finish`, { code: 'VULNDB_LOCKED' });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      heldHere.add(lock);
      return () => {
        heldHere.delete(lock);
        rmSync(lock, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ScannerError('VULNDB_LOCK', `cannot lock ${lock}: ${(err as Error).message}`, { cause: err });
      let holder = NaN;
      try {
        holder = Number(readFileSync(lock, 'utf8').trim());
      } catch {
        /* vanished meanwhile */
      }
      if (pidAlive(holder) && holder !== process.pid) {
        throw new UserError(`another \`portcullis db update/import\` (pid ${holder}) is writing ${dbPath}; wait for it to finish`, { code: 'VULNDB_LOCKED' });
      }
      rmSync(lock, { force: true });
    }
  }
  throw new ScannerError('VULNDB_LOCK', `cannot lock ${lock}`);
}

interface PrevRow {
  rowid: number;
  modified: string;
  withdrawn: boolean;
}

/** Writes into the temp copy. Created by `withNewDb`. */
export class DbWriter {
  readonly db: DatabaseSync;
  readonly updateId: number;
  readonly summary: UpdateSummary = { sources: {} };
  readonly #now: () => Date;
  readonly #logger: Logger;
  #changed = false;
  readonly #st: Record<string, StatementSync>;

  constructor(db: DatabaseSync, logger: Logger, now: () => Date) {
    this.db = db;
    this.#logger = logger;
    this.#now = now;
    const row = db.prepare('SELECT COALESCE(MAX(id), 0) + 1 AS n FROM updates').get() as { n: number };
    this.updateId = Number(row.n);
    const p = (sql: string): StatementSync => db.prepare(sql);
    this.#st = {
      members: p('SELECT a.id, a.rowid, a.modified, a.withdrawn FROM members m JOIN advisories a ON a.rowid = m.adv WHERE m.source = ?'),
      byId: p('SELECT rowid, modified, withdrawn FROM advisories WHERE id = ?'),
      insert: p('INSERT INTO advisories (id, modified, published, withdrawn, json, zjson) VALUES (?, ?, ?, ?, ?, ?)'),
      update: p('UPDATE advisories SET modified = ?, published = ?, withdrawn = ?, json = ?, zjson = ? WHERE rowid = ?'),
      delAffected: p('DELETE FROM affected WHERE adv = ?'),
      delAliases: p('DELETE FROM aliases WHERE adv = ?'),
      addAffected: p('INSERT OR IGNORE INTO affected (ecosystem, name, adv) VALUES (?, ?, ?)'),
      addAlias: p('INSERT OR IGNORE INTO aliases (alias, adv) VALUES (?, ?)'),
      addMember: p('INSERT OR IGNORE INTO members (source, adv) VALUES (?, ?)'),
      delMember: p('DELETE FROM members WHERE source = ? AND adv = ?'),
      otherMember: p('SELECT 1 FROM members WHERE adv = ? LIMIT 1'),
      delAdvisory: p('DELETE FROM advisories WHERE rowid = ?'),
      addChange: p('INSERT OR IGNORE INTO changes (update_id, source, change, advisory_id) VALUES (?, ?, ?, ?)'),
      source: p(`INSERT INTO sources (id, kind, url, etag, last_modified, imported_at, sha256, bytes, records, withdrawn, malformed, malformed_sample)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, url = excluded.url, etag = excluded.etag, last_modified = excluded.last_modified,
          imported_at = excluded.imported_at, sha256 = excluded.sha256, bytes = excluded.bytes, records = excluded.records,
          withdrawn = excluded.withdrawn, malformed = excluded.malformed, malformed_sample = excluded.malformed_sample`),
      cveGet: p('SELECT modified FROM cve_severity WHERE cve = ?'),
      cvePut: p(`INSERT INTO cve_severity (cve, severity, score, vector, source, modified) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(cve) DO UPDATE SET severity = excluded.severity, score = excluded.score, vector = excluded.vector, source = excluded.source, modified = excluded.modified`),
    };
  }

  get changed(): boolean {
    return this.#changed;
  }

  #stmt(name: string): StatementSync {
    const s = this.#st[name];
    if (!s) throw new Error(`no statement ${name}`);
    return s;
  }

  /** Mark a source as unchanged (304 Not Modified, same file) in this run's summary. */
  unchanged(id: string): void {
    this.summary.sources[id] = { status: 'unchanged', added: 0, modified: 0, withdrawn: 0, removed: 0 };
  }

  /** Record a source that failed; its previous data stays. */
  failed(id: string, err: unknown): void {
    this.summary.sources[id] = { status: 'failed', added: 0, modified: 0, withdrawn: 0, removed: 0, error: describeError(err) };
  }

  #index(rowid: number, rec: OsvRecord): void {
    if (!rec.withdrawn) {
      const seen = new Set<string>();
      for (const a of rec.affected ?? []) {
        if (!a.package) continue;
        const name = normalizePackageName(a.package.ecosystem, a.package.name);
        const k = `${a.package.ecosystem}\u0000${name}`;
        if (seen.has(k)) continue;
        seen.add(k);
        this.#stmt('addAffected').run(a.package.ecosystem, name, rowid);
      }
    }
    for (const alias of new Set([...(rec.aliases ?? []), ...(rec.upstream ?? [])])) {
      if (alias !== rec.id) this.#stmt('addAlias').run(alias, rowid);
    }
  }

  /** Store the record (its full JSON, whitespace removed; deflated when large) and index it. */
  #write(rec: OsvRecord, prev: PrevRow | undefined): number {
    const text = JSON.stringify(rec);
    const big = text.length > COMPRESS_ABOVE;
    const json = big ? null : text;
    const zjson = big ? deflateRawSync(text, { level: 6 }) : null;
    if (prev) {
      this.#stmt('update').run(rec.modified, rec.published ?? null, rec.withdrawn ?? null, json, zjson, prev.rowid);
      this.#stmt('delAffected').run(prev.rowid);
      this.#stmt('delAliases').run(prev.rowid);
      this.#index(prev.rowid, rec);
      return prev.rowid;
    }
    const r = this.#stmt('insert').run(rec.id, rec.modified, rec.published ?? null, rec.withdrawn ?? null, json, zjson);
    const rowid = Number(r.lastInsertRowid);
    this.#index(rowid, rec);
    return rowid;
  }

  #change(source: string, kind: ChangeKind, id: string): void {
    this.#stmt('addChange').run(this.updateId, source, kind, id);
  }

  /**
   * Replace a source's records with `records` (the whole feed): new ids are added, changed ones
   * rewritten, ids no longer in the feed leave the source (and the DB, when no other source has
   * them). Runs in one transaction: on any error the source keeps its previous data and the error
   * is rethrown. A feed with no valid record never replaces a non-empty source.
   */
  async importSource(desc: SourceDescriptor, records: AsyncIterable<RecordInput> | Iterable<RecordInput>, opts: { signal?: AbortSignal } = {}): Promise<SourceChange> {
    const db = this.db;
    db.exec('BEGIN');
    try {
      const change = await this.#importSource(desc, records, opts.signal);
      db.exec('COMMIT');
      this.summary.sources[desc.id] = change;
      if (change.added + change.modified + change.withdrawn + change.removed > 0 || change.status === 'updated') this.#changed = true;
      return change;
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }

  async #importSource(desc: SourceDescriptor, records: AsyncIterable<RecordInput> | Iterable<RecordInput>, signal: AbortSignal | undefined): Promise<SourceChange> {
    const old = new Map<string, PrevRow>();
    for (const r of this.#stmt('members').all(desc.id) as Record<string, unknown>[]) {
      old.set(String(r['id']), { rowid: Number(r['rowid']), modified: String(r['modified']), withdrawn: r['withdrawn'] !== null });
    }
    const seen = new Set<string>();
    const c: SourceChange = { status: 'updated', added: 0, modified: 0, withdrawn: 0, removed: 0 };
    let withdrawnNow = 0;
    let malformed = desc.malformed?.count ?? 0;
    const sample: MalformedSample[] = [...(desc.malformed?.sample ?? [])];
    const bad = (name: string, reason: string): void => {
      malformed++;
      if (sample.length < MALFORMED_SAMPLE) sample.push({ name, reason });
    };
    let n = 0;
    for await (const item of records) {
      if ((++n & 1023) === 0) signal?.throwIfAborted();
      if ('error' in item) {
        bad(item.name, item.error);
        continue;
      }
      const size = typeof item.text === 'string' ? Buffer.byteLength(item.text) : item.text.length;
      if (size > MAX_RECORD_BYTES) {
        bad(item.name, `record is ${size} bytes (limit ${MAX_RECORD_BYTES})`);
        continue;
      }
      const text = typeof item.text === 'string' ? item.text : item.text.toString('utf8');
      const v = parseOsvRecord(text);
      if (!v.ok) {
        bad(v.id ?? item.name, v.reason);
        continue;
      }
      const rec = v.record;
      if (seen.has(rec.id)) continue; // the same id twice in one feed: the first wins
      seen.add(rec.id);
      if (rec.withdrawn) withdrawnNow++;
      const prevInSource = old.get(rec.id);
      const existing = prevInSource ?? this.#existing(rec.id);
      let rowid: number;
      if (!existing) rowid = this.#write(rec, undefined);
      else {
        const cmp = compareModified(rec.modified, existing.modified);
        const same = cmp === 0 && existing.withdrawn === Boolean(rec.withdrawn);
        rowid = cmp < 0 || same ? existing.rowid : this.#write(rec, existing);
      }
      if (!prevInSource) {
        this.#stmt('addMember').run(desc.id, rowid);
        if (!rec.withdrawn) {
          c.added++;
          this.#change(desc.id, 'added', rec.id);
        }
      } else if (rec.withdrawn && !prevInSource.withdrawn) {
        c.withdrawn++;
        this.#change(desc.id, 'withdrawn', rec.id);
      } else if (prevInSource.modified !== rec.modified || prevInSource.withdrawn !== Boolean(rec.withdrawn)) {
        c.modified++;
        this.#change(desc.id, 'modified', rec.id);
      }
    }
    if (seen.size === 0 && old.size > 0) {
      throw new ScannerError(
        'OSV_FEED_EMPTY',
        `${desc.url ?? desc.id} holds no valid OSV record${malformed ? ` (${malformed} malformed)` : ''}; keeping the ${old.size} records it had`,
      );
    }
    for (const [id, prev] of old) {
      if (seen.has(id)) continue;
      this.#stmt('delMember').run(desc.id, prev.rowid);
      if (!this.#stmt('otherMember').get(prev.rowid)) {
        this.#stmt('delAffected').run(prev.rowid);
        this.#stmt('delAliases').run(prev.rowid);
        this.#stmt('delAdvisory').run(prev.rowid);
      }
      if (!prev.withdrawn) {
        c.removed++;
        this.#change(desc.id, 'removed', id);
      }
    }
    c.records = seen.size;
    c.malformed = malformed;
    this.#putSource(desc, seen.size, withdrawnNow, malformed, sample);
    return c;
  }

  #existing(id: string): PrevRow | undefined {
    const r = this.#stmt('byId').get(id) as Record<string, unknown> | undefined;
    return r ? { rowid: Number(r['rowid']), modified: String(r['modified']), withdrawn: r['withdrawn'] !== null } : undefined;
  }

  #putSource(desc: SourceDescriptor, records: number, withdrawn: number, malformed: number, sample: MalformedSample[]): void {
    this.#stmt('source').run(
      desc.id,
      desc.kind,
      desc.url ?? null,
      desc.etag ?? null,
      desc.lastModified ?? null,
      desc.importedAt ?? this.#now().toISOString(),
      desc.sha256 ?? null,
      desc.bytes ?? null,
      records,
      withdrawn,
      malformed,
      JSON.stringify(sample.slice(0, MALFORMED_SAMPLE)),
    );
  }

  #copySource(s: SourceStatus): void {
    const desc: SourceDescriptor = { id: s.id, kind: s.kind, importedAt: s.importedAt };
    if (s.url !== undefined) desc.url = s.url;
    if (s.etag !== undefined) desc.etag = s.etag;
    if (s.lastModified !== undefined) desc.lastModified = s.lastModified;
    if (s.sha256 !== undefined) desc.sha256 = s.sha256;
    if (s.bytes !== undefined) desc.bytes = s.bytes;
    this.#putSource(desc, s.records, s.withdrawn, s.malformed, s.malformedSample);
  }

  /**
   * CVE severities (NVD feeds): each CVE is upserted unless the DB already holds a newer one. The
   * feed is a source of its own in `db status`; CVEs are never removed (NVD feeds are per year).
   */
  async importCves(
    desc: SourceDescriptor,
    items: AsyncIterable<CveInput | { name: string; error: string }> | Iterable<CveInput | { name: string; error: string }>,
    opts: { signal?: AbortSignal; copySources?: readonly SourceStatus[] } = {},
  ): Promise<SourceChange> {
    const db = this.db;
    db.exec('BEGIN');
    try {
      const c: SourceChange = { status: 'updated', added: 0, modified: 0, withdrawn: 0, removed: 0 };
      let count = 0;
      let malformed = 0;
      const sample: MalformedSample[] = [];
      for await (const it of items) {
        if ((count & 1023) === 0) opts.signal?.throwIfAborted();
        if ('error' in it) {
          malformed++;
          if (sample.length < MALFORMED_SAMPLE) sample.push({ name: it.name, reason: it.error });
          continue;
        }
        count++;
        const prev = this.#stmt('cveGet').get(it.cve) as { modified: string | null } | undefined;
        if (prev && prev.modified && it.modified && compareModified(it.modified, prev.modified) <= 0) continue;
        if (prev) c.modified++;
        else c.added++;
        const s = it.severity;
        this.#stmt('cvePut').run(it.cve, s.severity, s.score ?? null, s.vector ?? null, s.source, it.modified ?? null);
      }
      if (count === 0 && malformed > 0) throw new ScannerError('NVD_FEED_INVALID', `${desc.url ?? desc.id} holds no usable NVD CVE item (${malformed} malformed)`);
      c.records = count;
      c.malformed = malformed;
      if (opts.copySources) for (const src of opts.copySources) this.#copySource(src);
      else this.#putSource(desc, count, 0, malformed, sample);
      db.exec('COMMIT');
      this.summary.sources[desc.id] = c;
      this.#changed = true;
      return c;
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }

  /** Counts, meta and the change log entry of this run. */
  finish(command: string, startedAt: Date): void {
    const db = this.db;
    const now = this.#now().toISOString();
    db.exec('BEGIN');
    try {
      const counts: Record<string, number> = {};
      for (const r of db.prepare('SELECT ecosystem, COUNT(DISTINCT adv) AS n FROM affected GROUP BY ecosystem ORDER BY ecosystem').all() as { ecosystem: string; n: number }[]) {
        counts[r.ecosystem] = Number(r.n);
      }
      const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
      put.run('ecosystem_counts', JSON.stringify(counts));
      put.run('updated_at', now);
      if (this.#changed) put.run('built_at', now);
      put.run('written_by', `portcullis ${VERSION}`);
      db.prepare('INSERT INTO updates (id, started_at, finished_at, command, summary) VALUES (?, ?, ?, ?, ?)').run(
        this.updateId,
        startedAt.toISOString(),
        now,
        command,
        JSON.stringify(this.summary),
      );
      db.prepare('DELETE FROM changes WHERE update_id <= ?').run(this.updateId - KEEP_UPDATES);
      db.prepare('DELETE FROM updates WHERE id <= ?').run(this.updateId - KEEP_UPDATES);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
    this.#logger.debug({ updateId: this.updateId }, 'advisory DB change log written');
  }
}

export interface NewDbOptions {
  logger: Logger;
  /** The command line shown in the change log ('db update', 'db import …'). */
  command: string;
  /** Start from an empty DB instead of a copy of the live one. */
  fresh?: boolean;
  /** The caller already holds the lock (acquireLock). */
  locked?: boolean;
  now?: () => Date;
}

export interface NewDbResult<T> {
  result: T;
  /** The new file replaced the live one (false: nothing changed, the live DB was left alone). */
  swapped: boolean;
  updateId: number;
  summary: UpdateSummary;
}

function openWritable(path: string, create: boolean): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = TRUNCATE; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;');
  if (create) {
    db.exec('PRAGMA page_size = 8192;');
    db.exec(`BEGIN; ${DDL} COMMIT;`);
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    put.run('schema_version', String(SCHEMA_VERSION));
    put.run('created_at', new Date().toISOString());
  }
  return db;
}

/** Does the live DB open and pass its checks? (If not, the new one starts empty.) */
function liveUsable(path: string, logger: Logger): boolean {
  if (!existsSync(path)) return false;
  try {
    SqliteStore.open(path, { cacheRecords: 0 }).close();
    return true;
  } catch (err) {
    logger.warn({ path, err: describeError(err) }, 'the current advisory DB is unusable; building a new one from scratch');
    return false;
  }
}

/**
 * Build a new DB at `dbPath` from a copy of the current one: `fn` writes through the DbWriter; when
 * it returns and something changed, the new file replaces the old one atomically. When `fn` throws,
 * the temp file is deleted and the live DB is untouched.
 */
export async function withNewDb<T>(dbPath: string, opts: NewDbOptions, fn: (w: DbWriter) => Promise<T>): Promise<NewDbResult<T>> {
  const dir = dirname(dbPath);
  mkdirSync(dir, { recursive: true });
  const release = opts.locked ? () => {} : acquireLock(dbPath);
  const tmp = join(dir, `.${basename(dbPath)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  let db: DatabaseSync | undefined;
  const now = opts.now ?? (() => new Date());
  try {
    cleanStaleTemps(dir);
    const base = !opts.fresh && liveUsable(dbPath, opts.logger);
    if (base) copyFileSync(dbPath, tmp);
    db = openWritable(tmp, !base);
    const writer = new DbWriter(db, opts.logger, now);
    const started = now();
    const result = await fn(writer);
    const swapped = writer.changed;
    if (swapped) writer.finish(opts.command, started);
    db.close();
    db = undefined;
    if (swapped) {
      fsyncPath(tmp);
      renameSync(tmp, dbPath);
      fsyncPath(dir);
    }
    return { result, swapped, updateId: writer.updateId, summary: writer.summary };
  } finally {
    try {
      db?.close();
    } catch {
      /* already failed; the temp file is removed below */
    }
    rmSync(tmp, { force: true });
    rmSync(`${tmp}-journal`, { force: true });
    release();
  }
}
