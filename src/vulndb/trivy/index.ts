/**
 * The Trivy DB as a Portcullis advisory source: where it lives in the cache, importing it from disk,
 * pulling it from an OCI registry, and its status. `portcullis db … --source trivy` / `db import trivy:PATH`
 * call these.
 *
 * Layout: <cacheDir>/trivy-db/trivy.db + metadata.json (the same two files Trivy keeps in <cache>/db/).
 */
import { once } from 'node:events';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync, createWriteStream, openSync, fsyncSync, closeSync } from 'node:fs';
import { join, basename } from 'node:path';
import type { Readable } from 'node:stream';
import { ScannerError, UserError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { TrivyDb, type TrivyMetadata } from './db.ts';

export { TrivyDb } from './db.ts';

export const TRIVY_DB_MEDIA_TYPE = 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip';
export const DEFAULT_TRIVY_DB_REPOSITORY = 'ghcr.io/aquasecurity/trivy-db:2';
/** trivy.db is ~1 GB uncompressed today; refuse anything absurd. */
const MAX_DB_BYTES = 8 * 1024 ** 3;

export function trivyDbDir(cacheDir: string): string {
  return join(cacheDir, 'trivy-db');
}

/** Open the Trivy DB in the cache, or undefined when there is none. Corrupt → ScannerError. */
export function openTrivyDb(cacheDir: string): TrivyDb | undefined {
  const dir = trivyDbDir(cacheDir);
  if (!existsSync(join(dir, 'trivy.db'))) return undefined;
  return TrivyDb.open(dir);
}

export interface TrivyDbStatus {
  path: string;
  sizeBytes: number;
  metadata: TrivyMetadata;
  osBuckets: number;
  langBuckets: number;
  vulnerabilities: number;
  /** Age of UpdatedAt in hours, when known. */
  ageHours?: number;
}

export function trivyDbStatus(cacheDir: string, now: Date = new Date()): TrivyDbStatus | undefined {
  const db = openTrivyDb(cacheDir);
  if (!db) return undefined;
  try {
    const s = db.summary();
    const updated = db.metadata.UpdatedAt ? Date.parse(db.metadata.UpdatedAt) : NaN;
    return {
      path: join(db.dir, 'trivy.db'),
      sizeBytes: statSync(join(db.dir, 'trivy.db')).size,
      metadata: db.metadata,
      osBuckets: s.osBuckets.length,
      langBuckets: s.langBuckets.length,
      vulnerabilities: s.vulnerabilities,
      ...(Number.isFinite(updated) ? { ageHours: Math.round((now.getTime() - updated) / 36e5) } : {}),
    };
  } finally {
    db.close();
  }
}

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Validate a staged trivy.db (+ metadata.json) in `staging` and move it into place. The previous DB is
 * replaced only after the new one opened and passed the schema checks, file by file with rename.
 */
function install(staging: string, cacheDir: string): TrivyDbStatus {
  const probe = TrivyDb.open(staging); // throws on corrupt / wrong schema: the old DB stays untouched
  try {
    probe.verify(); // every page of every bucket, so a damaged file fails now and not in a scan
  } finally {
    probe.close();
  }
  const dir = trivyDbDir(cacheDir);
  mkdirSync(dir, { recursive: true });
  const meta = join(staging, 'metadata.json');
  if (!existsSync(meta)) writeFileSync(meta, JSON.stringify({ Version: 2, UpdatedAt: new Date().toISOString() }));
  fsyncFile(join(staging, 'trivy.db'));
  renameSync(join(staging, 'trivy.db'), join(dir, 'trivy.db'));
  renameSync(meta, join(dir, 'metadata.json'));
  rmSync(staging, { recursive: true, force: true });
  const status = trivyDbStatus(cacheDir);
  if (!status) throw new ScannerError('TRIVYDB_INSTALL', `the Trivy DB vanished from ${dir} after install`);
  return status;
}

/** Trivy records when it downloaded the DB in metadata.json; so do we. */
function stampDownloadedAt(staging: string, now = new Date()): void {
  const meta = join(staging, 'metadata.json');
  if (!existsSync(meta)) return;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(meta, 'utf8'));
  } catch {
    return; // TrivyDb.open reports it
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return;
  writeFileSync(meta, JSON.stringify({ ...(doc as Record<string, unknown>), DownloadedAt: now.toISOString() }));
}

function stagingDir(cacheDir: string): string {
  const d = join(cacheDir, `.trivy-db-staging-${process.pid}-${Date.now()}`);
  mkdirSync(d, { recursive: true });
  return d;
}

/** Extract trivy.db and metadata.json from a (gzip) tar stream into `dir`, with size caps. */
export async function extractDbTarball(input: Readable, dir: string, gzip: boolean, what = 'the Trivy DB archive'): Promise<void> {
  try {
    await extractTar(input, dir, gzip);
  } catch (err) {
    if (err instanceof ScannerError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new ScannerError('TRIVYDB_ARCHIVE', `${what} is not a complete gzip-compressed tar archive (${msg})`, { cause: err });
  }
}

async function extractTar(input: Readable, dir: string, gzip: boolean): Promise<void> {
  // loaded here: a scan opens the installed DB and never needs them
  const [{ pipeline }, { createGunzip }, { default: tar }] = await Promise.all([import('node:stream/promises'), import('node:zlib'), import('tar-stream')]);
  const extract = tar.extract();
  let found = false;
  const done = (async () => {
    for await (const entry of extract) {
      const name = basename(entry.header.name);
      if (entry.header.type === 'file' && (name === 'trivy.db' || name === 'metadata.json')) {
        if ((entry.header.size ?? 0) > MAX_DB_BYTES) throw new ScannerError('TRIVYDB_TOO_LARGE', `${name} in the Trivy DB archive is ${entry.header.size} bytes (limit ${MAX_DB_BYTES})`);
        await pipeline(entry, createWriteStream(join(dir, name), { mode: 0o644 }));
        if (name === 'trivy.db') found = true;
      } else {
        entry.resume();
        await once(entry, 'end');
      }
    }
  })();
  await Promise.all([pipeline(input, ...(gzip ? [createGunzip()] : []), extract), done]);
  if (!found) throw new ScannerError('TRIVYDB_NO_DB', 'the archive holds no trivy.db');
}

/**
 * `portcullis db import trivy:PATH`: PATH is a trivy.db file, a directory holding trivy.db (+ metadata.json),
 * or a db.tar.gz as the OCI artifact's layer.
 */
export async function importTrivyDb(path: string, opts: { cacheDir: string; logger?: Logger }): Promise<TrivyDbStatus> {
  if (!existsSync(path)) throw new UserError(`cannot import the Trivy DB: ${path} does not exist`);
  mkdirSync(opts.cacheDir, { recursive: true });
  const staging = stagingDir(opts.cacheDir);
  try {
    const st = statSync(path);
    if (st.isDirectory()) {
      if (!existsSync(join(path, 'trivy.db'))) throw new UserError(`cannot import the Trivy DB: ${path} holds no trivy.db`);
      copyFileSync(join(path, 'trivy.db'), join(staging, 'trivy.db'));
      if (existsSync(join(path, 'metadata.json'))) copyFileSync(join(path, 'metadata.json'), join(staging, 'metadata.json'));
    } else if (/\.(tar\.gz|tgz|tar)$/.test(path)) {
      await extractDbTarball(createReadStream(path), staging, !path.endsWith('.tar'));
    } else {
      copyFileSync(path, join(staging, 'trivy.db'));
      const meta = join(path, '..', 'metadata.json');
      if (existsSync(meta)) copyFileSync(meta, join(staging, 'metadata.json'));
    }
    const status = install(staging, opts.cacheDir);
    opts.logger?.info({ path: status.path, vulnerabilities: status.vulnerabilities }, 'Trivy DB imported');
    return status;
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

export interface UpdateTrivyDbOptions {
  cacheDir: string;
  /** OCI reference of the DB artifact (a mirror); default ghcr.io/aquasecurity/trivy-db:2, tag 2 when none is given. */
  repository?: string;
  insecure?: boolean | readonly string[];
  registryConfig?: string;
  /** Registries on loopback/private addresses (mirrors): default true (CLI); a server passes its own setting. */
  allowPrivateRegistries?: boolean;
  logger?: Logger;
  isTty?: boolean;
  signal?: AbortSignal;
  /** Pull even when metadata says the DB is fresh. */
  force?: boolean;
  /** Largest compressed DB layer accepted (default 2 GiB). */
  maxBytes?: number;
  /** Download progress (bytes of the DB layer); the CLI draws it on a TTY. */
  onProgress?: (p: { phase: string; done: number; total?: number; item?: string }) => void;
}

/**
 * Pull trivy-db:2 (an OCI artifact) with the project's registry client; install atomically. Any
 * failure (wrong media type, digest mismatch, truncated or damaged archive, unknown schema version,
 * corrupt trivy.db) throws one ScannerError and leaves the installed DB as it was.
 */
export async function updateTrivyDb(opts: UpdateTrivyDbOptions): Promise<TrivyDbStatus & { skipped?: boolean }> {
  const { pullTrivyDbArtifact } = await import('./pull.ts');
  mkdirSync(opts.cacheDir, { recursive: true });
  if (!opts.force) {
    const current = trivyDbStatus(opts.cacheDir);
    const next = current?.metadata.NextUpdate ? Date.parse(current.metadata.NextUpdate) : NaN;
    if (current && Number.isFinite(next) && next > Date.now()) return { ...current, skipped: true };
  }
  const repository = opts.repository ?? DEFAULT_TRIVY_DB_REPOSITORY;
  const staging = stagingDir(opts.cacheDir);
  try {
    const stream = await pullTrivyDbArtifact(repository, {
      ...(opts.insecure !== undefined ? { insecure: opts.insecure } : {}),
      ...(opts.registryConfig !== undefined ? { registryConfig: opts.registryConfig } : {}),
      ...(opts.allowPrivateRegistries !== undefined ? { allowPrivateRegistries: opts.allowPrivateRegistries } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    await extractDbTarball(stream, staging, true, `the Trivy DB from ${repository}`);
    stampDownloadedAt(staging);
    const status = install(staging, opts.cacheDir);
    opts.logger?.info({ path: status.path }, 'Trivy DB updated');
    return status;
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}
