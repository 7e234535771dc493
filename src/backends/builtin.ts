/**
 * The builtin backend: `scanTarget` (src/scan) with an AdvisoryDb opened once and shared by every
 * scan. The DB files in the cache dir are watched (stat polling: `db update` replaces them by
 * rename); when they change the DB is reopened, new scans use the new one, and the old one is closed
 * once the scans using it have finished.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { DbInfo } from '../domain/index.ts';
import { LAYER_ANALYZER_VERSION } from '../image/index.ts';
import { openAdvisoryDb, scanTarget, type AdvisoryDb, type DbSourceChoice } from '../scan/index.ts';
import { ScannerError, describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { VERSION } from '../shared/version.ts';
import { osvDbPath } from '../vulndb/index.ts';
import { trivyDbDir } from '../vulndb/trivy/index.ts';
import type { BackendScanOptions, BackendScanResult, BackendState, RegistryAccess, ScanBackend } from './types.ts';

export interface BuiltinBackendOptions extends RegistryAccess {
  cacheDir: string;
  dbSource: DbSourceChoice;
  logger: Logger;
  /** A fixed DB (tests, the demo): no file watching. */
  db?: AdvisoryDb;
  /** How often the DB files are checked for a change. Default 10 s. */
  watchIntervalMs?: number;
}

interface Held {
  db: AdvisoryDb;
  users: number;
  retired: boolean;
  fingerprint: string;
}

function statKey(path: string): string {
  try {
    const st = statSync(path);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return '-';
  }
}

export class BuiltinBackend implements ScanBackend {
  readonly name = 'builtin' as const;
  readonly #o: BuiltinBackendOptions;
  readonly #log: Logger;
  #held: Held | undefined;
  #identity: { held: Held | undefined; id: string } | undefined;
  #reason = 'advisory DB not loaded yet';
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: BuiltinBackendOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'backend-builtin' });
  }

  #fingerprint(): string {
    const dir = trivyDbDir(this.#o.cacheDir);
    return [join(dir, 'trivy.db'), join(dir, 'metadata.json'), osvDbPath(this.#o.cacheDir)].map(statKey).join('|');
  }

  async start(): Promise<void> {
    if (this.#o.db) {
      this.#held = { db: this.#o.db, users: 0, retired: false, fingerprint: 'fixed' };
      return;
    }
    await this.refresh();
    const every = this.#o.watchIntervalMs ?? 10_000;
    this.#timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.#log.warn({ err: describeError(err) }, 'advisory DB check failed'));
    }, every);
    this.#timer.unref();
  }

  /** Reopen the DB when its files changed (or open it when it was missing). */
  async refresh(): Promise<void> {
    if (this.#closed || this.#o.db) return;
    const fp = this.#fingerprint();
    if (this.#held && this.#held.fingerprint === fp) return;
    let db: AdvisoryDb;
    try {
      db = await openAdvisoryDb(this.#o.cacheDir, this.#o.dbSource);
    } catch (err) {
      this.#reason = describeError(err);
      if (this.#held) this.#log.warn({ err: this.#reason }, 'advisory DB changed but could not be reopened; keeping the loaded one');
      else this.#log.warn({ err: this.#reason }, 'no advisory DB: scans fail until one is installed');
      return;
    }
    const old = this.#held;
    this.#held = { db, users: 0, retired: false, fingerprint: fp };
    this.#log.info({ db: db.info }, old ? 'advisory DB reloaded' : 'advisory DB loaded');
    if (old) this.#retire(old);
  }

  #retire(h: Held): void {
    h.retired = true;
    if (h.users === 0 && h !== this.#held) h.db.close();
  }

  state(): BackendState {
    const s: BackendState = { ready: this.#held !== undefined, scannerVersion: VERSION };
    if (this.#held) s.db = this.#held.db.info;
    else s.reason = this.#reason;
    return s;
  }

  cacheIdentity(): string {
    // Asked on every request (memo lookups): the string is made once per loaded DB.
    const held = this.#held;
    if (this.#identity !== undefined && this.#identity.held === held) return this.#identity.id;
    const info: DbInfo | undefined = held?.db.info;
    const dbId = info ? `${info.source}@${info.builtAt ?? info.updatedAt ?? held?.fingerprint ?? ''}` : 'nodb';
    const id = `builtin/${VERSION}/layers${LAYER_ANALYZER_VERSION}/${dbId}`;
    this.#identity = { held, id };
    return id;
  }

  async scan(pinnedRef: string, opts: BackendScanOptions): Promise<BackendScanResult> {
    const h = this.#held;
    if (!h) throw new ScannerError('DB_MISSING', `no advisory database loaded (${this.#reason})`);
    h.users++;
    try {
      const report = await scanTarget(pinnedRef, {
        cacheDir: this.#o.cacheDir,
        logger: this.#log,
        db: h.db,
        allowPrivateRegistries: this.#o.allowPrivateRegistries,
        insecure: this.#o.insecureRegistries,
        ...(this.#o.registryConfig !== undefined ? { registryConfig: this.#o.registryConfig } : {}),
        ...(this.#o.platform !== undefined ? { platform: this.#o.platform } : {}),
        signal: opts.signal,
      });
      const r: BackendScanResult = { findings: report.findings, inventory: report.inventory };
      if (report.inventory.os) r.os = report.inventory.os;
      return r;
    } finally {
      h.users--;
      if (h.retired && h.users === 0 && h !== this.#held) h.db.close();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    const h = this.#held;
    if (h && !this.#o.db) {
      this.#held = undefined;
      if (h.users === 0) h.db.close();
      else h.retired = true;
    }
  }
}
