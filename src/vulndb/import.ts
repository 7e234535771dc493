/**
 * `portcullis db import PATH…` and `portcullis db export FILE`.
 *
 * Import takes, by content (sniffed, not by file name):
 *   - an OSV zip (`all.zip`; `<Ecosystem>/all.zip` is recorded as that ecosystem, as `db update` does),
 *   - a mirror directory (`<Ecosystem>/all.zip` folders) or a directory of OSV JSON files (recursive),
 *   - one OSV JSON file (a record, an array, `{"vulns": [...]}`),
 *   - NVD CVE JSON 2.0 feeds (plain, .gz, .zst) → CVE severities,
 *   - a bundle written by `db export` (the SQLite file, plain or .gz/.zst): every source in it replaces
 *     the local source of the same id; local sources it does not have are kept.
 * Every record is validated; malformed ones are skipped, counted and named in `db status`. The new
 * DB is built beside the live one and swapped in atomically (sqlite-writer.ts).
 *
 * Export writes the live DB, vacuumed (`VACUUM INTO`), to FILE through a temp file + rename, so FILE
 * is never half-written; `.zst` / `.gz` compress it. The sha256 printed by the CLI can be checked on
 * the air-gapped side with `db import FILE --sha256 HEX`.
 */
import { closeSync, createReadStream, createWriteStream, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { createGzip, createZstdCompress } from 'node:zlib';
import { ScannerError, UserError, describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { OSV_ECOSYSTEMS, ecosystemSourceId } from './ecosystems.ts';
import { decompressedHead, dirRecords, jsonRecords, kindOfBytes, looksLikeNvd, nvdFileSeverities, openDecompressed, sniffFile, zipRecords, type FileKind } from './feeds.ts';
import { sha256File } from './fetch.ts';
import { osvDbPath } from './paths.ts';
import { SqliteStore, type SourceChange, type SourceStatus } from './sqlite-store.ts';
import { withNewDb, type DbWriter, type SourceDescriptor } from './sqlite-writer.ts';
import type { ProgressEvent } from './update.ts';
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from './zip-reader.ts';

export interface ImportOptions {
  cacheDir: string;
  logger: Logger;
  /** Expected sha256 (hex) of the single file imported (a bundle carried to an air-gapped host). */
  sha256?: string;
  zipLimits?: Partial<ZipLimits>;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  now?: () => Date;
}

export interface ImportOutcome {
  path: string;
  sourceId: string;
  kind: SourceStatus['kind'] | 'bundle';
  status: 'updated' | 'failed';
  change?: SourceChange;
  error?: string;
}

export interface ImportResult {
  dbPath: string;
  swapped: boolean;
  updateId?: number;
  outcomes: ImportOutcome[];
  failed: number;
}

type Task =
  | { type: 'zip'; path: string; desc: SourceDescriptor }
  | { type: 'dir'; path: string; desc: SourceDescriptor }
  | { type: 'json'; path: string; kind: FileKind; desc: SourceDescriptor }
  | { type: 'nvd'; path: string; kind: FileKind; desc: SourceDescriptor }
  | { type: 'bundle'; path: string; kind: FileKind };

const ECOSYSTEM_SET = new Set(OSV_ECOSYSTEMS);

function fileUrl(path: string): string {
  return pathToFileURL(path).href;
}

function zipTask(path: string): Task {
  const eco = basename(dirname(path));
  if (basename(path) === 'all.zip' && ECOSYSTEM_SET.has(eco)) {
    return { type: 'zip', path, desc: { id: ecosystemSourceId(eco), kind: 'osv-ecosystem', url: fileUrl(path) } };
  }
  return { type: 'zip', path, desc: { id: `file:${path}`, kind: 'osv-zip', url: fileUrl(path) } };
}

async function planPath(input: string): Promise<Task[]> {
  const path = resolve(input);
  if (!existsSync(path)) throw new UserError(`cannot import ${input}: no such file or directory`, { code: 'IMPORT_MISSING' });
  const st = statSync(path);
  if (st.isDirectory()) {
    const mirror = readdirSync(path)
      .filter((n) => ECOSYSTEM_SET.has(n) && existsSync(join(path, n, 'all.zip')))
      .sort();
    if (mirror.length > 0) return mirror.map((n) => zipTask(join(path, n, 'all.zip')));
    return [{ type: 'dir', path, desc: { id: `dir:${path}`, kind: 'osv-dir', url: fileUrl(path) } }];
  }
  if (!st.isFile()) throw new UserError(`cannot import ${input}: not a regular file or directory`, { code: 'IMPORT_INVALID' });
  const kind = sniffFile(path);
  const desc = (k: SourceStatus['kind'], prefix: string): SourceDescriptor => ({ id: `${prefix}${path}`, kind: k, url: fileUrl(path), bytes: st.size });
  if (kind === 'zip') return [zipTask(path)];
  if (kind === 'sqlite') return [{ type: 'bundle', path, kind }];
  if (kind === 'json' || kind === 'gzip' || kind === 'zstd') {
    const headBytes = await decompressedHead(path, kind);
    const inner = kind === 'json' ? 'json' : kindOfBytes(headBytes);
    if (inner === 'sqlite') return [{ type: 'bundle', path, kind }];
    if (inner === 'json') {
      if (looksLikeNvd(headBytes.toString('utf8'))) return [{ type: 'nvd', path, kind, desc: desc('nvd', 'nvd:') }];
      return [{ type: 'json', path, kind, desc: desc('osv-json', 'file:') }];
    }
  }
  throw new UserError(`cannot import ${input}: not an OSV zip, OSV JSON, NVD CVE JSON or \`db export\` bundle`, { code: 'IMPORT_INVALID' });
}

/** Decompress a .gz/.zst bundle next to the DB (SQLite needs a real file). */
async function materialise(task: Extract<Task, { type: 'bundle' }>, dir: string): Promise<{ path: string; cleanup: () => void }> {
  if (task.kind === 'sqlite') return { path: task.path, cleanup: () => {} };
  const tmp = join(dir, `.download.${process.pid}.bundle.${Date.now().toString(36)}`);
  try {
    await pipeline(openDecompressed(task.path, task.kind), createWriteStream(tmp));
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new ScannerError('BUNDLE_INVALID', `${task.path}: not valid ${task.kind} data (${(err as Error).message})`, { cause: err });
  }
  return { path: tmp, cleanup: () => rmSync(tmp, { force: true }) };
}

function openBundle(path: string, shown: string): SqliteStore {
  try {
    const check = new DatabaseSync(path, { readOnly: true });
    try {
      const r = check.prepare('PRAGMA quick_check').get() as Record<string, unknown> | undefined;
      const v = r ? String(Object.values(r)[0]) : 'no answer';
      if (v !== 'ok') throw new Error(`SQLite integrity check: ${v}`);
    } finally {
      check.close();
    }
    return SqliteStore.open(path, { cacheRecords: 0 });
  } catch (err) {
    const why = err instanceof ScannerError ? err.message.replace(/^the advisory DB .* is unusable \((.*)\): run .*$/, '$1') : (err as Error).message;
    throw new ScannerError('BUNDLE_INVALID', `${shown} is not a usable Portcullis advisory DB bundle (${why})`, { cause: err });
  }
}

async function importBundle(w: DbWriter, task: Extract<Task, { type: 'bundle' }>, dir: string, opts: ImportOptions, out: ImportOutcome[]): Promise<void> {
  const file = await materialise(task, dir);
  try {
    const b = openBundle(file.path, task.path);
    try {
      const sources = b.sources();
      const nvd = sources.filter((s) => s.kind === 'nvd');
      for (const s of sources.filter((x) => x.kind !== 'nvd')) {
        const desc: SourceDescriptor = { id: s.id, kind: s.kind, importedAt: s.importedAt, malformed: { count: s.malformed, sample: s.malformedSample } };
        if (s.url !== undefined) desc.url = s.url;
        if (s.etag !== undefined) desc.etag = s.etag;
        if (s.lastModified !== undefined) desc.lastModified = s.lastModified;
        if (s.sha256 !== undefined) desc.sha256 = s.sha256;
        if (s.bytes !== undefined) desc.bytes = s.bytes;
        const change = await w.importSource(desc, b.sourceRecords(s.id), opts.signal ? { signal: opts.signal } : {});
        out.push({ path: task.path, sourceId: s.id, kind: 'bundle', status: 'updated', change });
      }
      if (nvd.length > 0 || b.counts().cveSeverities > 0) {
        const change = await w.importCves({ id: `nvd:bundle:${task.path}`, kind: 'nvd' }, b.cveRows(), { ...(opts.signal ? { signal: opts.signal } : {}), copySources: nvd });
        out.push({ path: task.path, sourceId: 'nvd (bundle)', kind: 'bundle', status: 'updated', change });
      }
    } finally {
      b.close();
    }
  } finally {
    file.cleanup();
  }
}

async function runTask(w: DbWriter, task: Task, dir: string, opts: ImportOptions, limits: ZipLimits, out: ImportOutcome[]): Promise<void> {
  const sig = opts.signal ? { signal: opts.signal } : {};
  const progress = (label: string) => (d: number, t: number | undefined): void =>
    opts.onProgress?.({ phase: `importing ${label}`, done: d, ...(t !== undefined ? { total: t } : {}) });
  switch (task.type) {
    case 'bundle':
      return importBundle(w, task, dir, opts, out);
    case 'zip': {
      task.desc.sha256 = await sha256File(task.path);
      task.desc.bytes = statSync(task.path).size;
      const change = await w.importSource(task.desc, zipRecords(task.path, limits, progress(basename(task.path)), opts.signal), sig);
      out.push({ path: task.path, sourceId: task.desc.id, kind: task.desc.kind, status: 'updated', change });
      return;
    }
    case 'dir': {
      const change = await w.importSource(task.desc, dirRecords(task.path, progress(basename(task.path))), sig);
      out.push({ path: task.path, sourceId: task.desc.id, kind: task.desc.kind, status: 'updated', change });
      return;
    }
    case 'json': {
      const change = await w.importSource(task.desc, await jsonRecords(task.path, task.kind, basename(task.path)), sig);
      out.push({ path: task.path, sourceId: task.desc.id, kind: task.desc.kind, status: 'updated', change });
      return;
    }
    case 'nvd': {
      task.desc.sha256 = await sha256File(task.path);
      const change = await w.importCves(task.desc, nvdFileSeverities(task.path, task.kind, progress(basename(task.path))), sig);
      out.push({ path: task.path, sourceId: task.desc.id, kind: task.desc.kind, status: 'updated', change });
      return;
    }
  }
}

function taskSourceId(t: Task): string {
  return t.type === 'bundle' ? `bundle:${t.path}` : t.desc.id;
}

/**
 * Import files and directories into the OSV DB. Each input is applied on its own: one that fails
 * keeps the data it had, the others go in, and the result says which failed. When every input
 * fails nothing is written and the first error is thrown.
 */
export async function importIntoDb(inputs: readonly string[], opts: ImportOptions): Promise<ImportResult> {
  if (inputs.length === 0) throw new UserError('nothing to import: give a file or directory');
  if (opts.sha256 !== undefined) {
    if (inputs.length !== 1) throw new UserError('--sha256 checks one file: import one file at a time');
    if (!/^[0-9a-f]{64}$/i.test(opts.sha256)) throw new UserError(`--sha256 wants 64 hex digits, got "${opts.sha256}"`);
  }
  const tasks: Task[] = [];
  for (const i of inputs) tasks.push(...(await planPath(i)));
  if (opts.sha256 !== undefined) {
    const only = tasks[0];
    if (!only || only.type === 'dir' || tasks.length !== 1) throw new UserError('--sha256 checks a file, not a directory');
    const got = await sha256File(only.path);
    if (got !== opts.sha256.toLowerCase()) throw new ScannerError('IMPORT_CHECKSUM', `${only.path} has sha256 ${got}, expected ${opts.sha256.toLowerCase()}: the file is damaged or not the one exported; nothing was imported`);
  }
  const dbPath = osvDbPath(opts.cacheDir);
  const dir = dirname(dbPath);
  const limits = { ...DEFAULT_ZIP_LIMITS, ...opts.zipLimits };
  const outcomes: ImportOutcome[] = [];
  const errors: unknown[] = [];
  const r = await withNewDb(dbPath, { logger: opts.logger, command: `db import ${inputs.join(' ')}`, ...(opts.now ? { now: opts.now } : {}) }, async (w) => {
    for (const t of tasks) {
      try {
        await runTask(w, t, dir, opts, limits, outcomes);
      } catch (err) {
        if (opts.signal?.aborted) throw new ScannerError('ABORTED', 'db import interrupted; the advisory DB was left as it was', { cause: err });
        errors.push(err);
        w.failed(taskSourceId(t), err);
        outcomes.push({ path: t.path, sourceId: taskSourceId(t), kind: t.type === 'bundle' ? 'bundle' : t.desc.kind, status: 'failed', error: describeError(err) });
      }
    }
  });
  if (outcomes.every((o) => o.status === 'failed') && errors[0]) throw errors[0];
  const result: ImportResult = { dbPath, swapped: r.swapped, outcomes, failed: outcomes.filter((o) => o.status === 'failed').length };
  if (r.swapped) result.updateId = r.updateId;
  return result;
}

export interface ExportResult {
  path: string;
  bytes: number;
  sha256: string;
  compression: 'none' | 'gzip' | 'zstd';
}

function hashing(h: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      cb(null, chunk);
    },
  });
}

/** `db export FILE`: the live DB as one offline bundle (vacuumed; `.zst` / `.gz` compressed). */
export async function exportDb(cacheDir: string, file: string, opts: { logger: Logger }): Promise<ExportResult> {
  const live = osvDbPath(cacheDir);
  if (!existsSync(live)) throw new UserError(`no advisory database in ${cacheDir} to export: run \`portcullis db update\` first`, { code: 'DB_MISSING' });
  const target = resolve(file);
  if (target === resolve(live)) throw new UserError('db export: FILE must not be the live DB itself');
  if (existsSync(target) && statSync(target).isDirectory()) throw new UserError(`db export: ${file} is a directory; give a file name (e.g. ${join(file, 'portcullis-db.sqlite.zst')})`);
  SqliteStore.open(live, { cacheRecords: 0 }).close(); // refuses a corrupt DB with the usual hint
  const compression = /\.(zst|zstd)$/i.test(target) ? 'zstd' : /\.gz$/i.test(target) ? 'gzip' : 'none';
  const outDir = dirname(target);
  mkdirSync(outDir, { recursive: true });
  const tag = `${process.pid}.${Date.now().toString(36)}`;
  const vacuumed = join(outDir, `.${basename(target)}.${tag}.sqlite.tmp`);
  const tmp = join(outDir, `.${basename(target)}.${tag}.tmp`);
  try {
    const db = new DatabaseSync(live, { readOnly: true });
    try {
      db.prepare('VACUUM INTO ?').run(vacuumed);
    } finally {
      db.close();
    }
    const h = createHash('sha256');
    if (compression === 'none') {
      await pipeline(createReadStream(vacuumed), hashing(h), createWriteStream(tmp));
      rmSync(vacuumed, { force: true });
    } else {
      const z = compression === 'zstd' ? createZstdCompress() : createGzip({ level: 6 });
      await pipeline(createReadStream(vacuumed), z, hashing(h), createWriteStream(tmp));
      rmSync(vacuumed, { force: true });
    }
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
    const result: ExportResult = { path: target, bytes: statSync(target).size, sha256: h.digest('hex'), compression };
    opts.logger.info(result, 'advisory DB exported');
    return result;
  } catch (err) {
    if (err instanceof ScannerError) throw err;
    throw new ScannerError('EXPORT_FAILED', `cannot write ${file}: ${describeError(err)}`, { cause: err });
  } finally {
    rmSync(vacuumed, { force: true });
    rmSync(tmp, { force: true });
  }
}
