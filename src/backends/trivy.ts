/**
 * The trivy backend: the Trivy CLI exactly as the original example runs it
 * (`trivy --quiet image --format json IMAGE`), plus `--cache-dir`, `--scanners vuln`,
 * `--image-src remote`, optional `--skip-db-update` / `--offline-scan`, and `--server URL` for a Trivy
 * server in client mode. Always execFile with an argv array (never a shell); the image is ONE argv
 * element, after `--`, and is a digest-pinned reference the server built from a parsed reference.
 * Each run has a timeout (SIGKILL when it passes or when the scan is aborted) and a stdout cap.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { DbInfo } from '../domain/index.ts';
import { parseReference } from '../image/index.ts';
import { ScannerError, UserError, describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { parseTrivyReport } from './trivy-json.ts';
import type { BackendScanOptions, BackendScanResult, BackendState, RegistryAccess, ScanBackend } from './types.ts';

export interface TrivyBackendOptions extends RegistryAccess {
  binary: string;
  /** Trivy's --cache-dir (its DB in db/, its scan cache in fanal/). */
  cacheDir: string;
  serverUrl?: string;
  /** File holding the Trivy server token (passed as TRIVY_TOKEN, never on the command line). */
  tokenFile?: string;
  timeoutMs: number;
  skipDbUpdate: boolean;
  offlineScan: boolean;
  maxOutputBytes: number;
  logger: Logger;
  /** How often `trivy version` is asked again (its DB date is part of the cache key). Default 60 s. */
  probeIntervalMs?: number;
}

interface RunResult {
  stdout: string;
  stderr: string;
}

const PROBE_TIMEOUT_MS = 15_000;
const STDERR_LOG_MAX = 2000;

/** Last lines of Trivy's stderr for the log: control characters removed, bounded. */
function stderrTail(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').slice(-STDERR_LOG_MAX);
}

export class TrivyBackend implements ScanBackend {
  readonly name = 'trivy' as const;
  readonly #o: TrivyBackendOptions;
  readonly #log: Logger;
  #version = 'unknown';
  #db: DbInfo | undefined;
  #ready = false;
  #reason = 'Trivy not probed yet';
  #timer: NodeJS.Timeout | undefined;
  #dockerConfigDir: string | undefined;
  #tmpDir: string | undefined;
  #env: NodeJS.ProcessEnv = {};

  constructor(opts: TrivyBackendOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'backend-trivy' });
  }

  async start(): Promise<void> {
    try {
      this.#env = this.#childEnv();
    } catch (err) {
      throw new UserError(`trivy backend: cannot read its credentials or token file: ${describeError(err)}`, { code: 'CONFIG_INVALID', cause: err });
    }
    await this.probe();
    this.#timer = setInterval(() => {
      this.probe().catch((err: unknown) => this.#log.warn({ err: describeError(err) }, 'trivy probe failed'));
    }, this.#o.probeIntervalMs ?? 60_000);
    this.#timer.unref();
  }

  #childEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { TRIVY_NO_PROGRESS: 'true' };
    for (const k of ['PATH', 'HOME', 'TMPDIR', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'SSL_CERT_FILE', 'SSL_CERT_DIR']) {
      const v = process.env[k];
      if (v !== undefined) env[k] = v;
    }
    if (this.#o.registryConfig) {
      // Trivy reads $DOCKER_CONFIG/config.json; a .dockerconfigjson has the same shape.
      if (basename(this.#o.registryConfig) === 'config.json') this.#dockerConfigDir = dirname(this.#o.registryConfig);
      else {
        this.#tmpDir = mkdtempSync(join(tmpdir(), 'portcullis-trivy-'));
        copyFileSync(this.#o.registryConfig, join(this.#tmpDir, 'config.json'));
        this.#dockerConfigDir = this.#tmpDir;
      }
      env['DOCKER_CONFIG'] = this.#dockerConfigDir;
    } else {
      // No credentials configured: do not let Trivy pick up the service account's ~/.docker.
      this.#tmpDir = mkdtempSync(join(tmpdir(), 'portcullis-trivy-'));
      env['DOCKER_CONFIG'] = this.#tmpDir;
    }
    if (this.#o.tokenFile) env['TRIVY_TOKEN'] = readFileSync(this.#o.tokenFile, 'utf8').trim();
    return env;
  }

  #run(args: string[], timeoutMs: number, signal?: AbortSignal): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      execFile(
        this.#o.binary,
        args,
        {
          env: this.#env,
          timeout: timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: this.#o.maxOutputBytes,
          encoding: 'utf8',
          windowsHide: true,
          shell: false,
          ...(signal ? { signal } : {}),
        },
        (err: ExecFileException | null, stdout: string, stderr: string) => {
          if (!err) return resolve({ stdout, stderr });
          reject(this.#runError(err, stderr, timeoutMs, signal));
        },
      );
    });
  }

  #runError(err: ExecFileException, stderr: string, timeoutMs: number, signal: AbortSignal | undefined): ScannerError {
    const code = err.code;
    if (code === 'ENOENT' || code === 'EACCES') return new ScannerError('SCANNER_MISSING', `cannot run Trivy (${this.#o.binary}): ${code}`, { cause: err });
    if (code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return new ScannerError('SCANNER_OUTPUT_TOO_LARGE', `Trivy printed more than ${this.#o.maxOutputBytes} bytes`, { cause: err });
    if (code === 'ABORT_ERR' || signal?.aborted) return new ScannerError('SCAN_ABORTED', 'Trivy scan aborted', { cause: err });
    if (err.killed && err.signal === 'SIGKILL') return new ScannerError('SCAN_TIMEOUT', `Trivy did not finish within ${Math.round(timeoutMs / 1000)} s and was killed`, { cause: err });
    const tail = stderrTail(stderr);
    if (tail) this.#log.warn({ stderr: tail }, 'trivy failed');
    if (err.signal) return new ScannerError('SCANNER_CRASHED', `Trivy was killed by ${err.signal}`, { cause: err });
    return new ScannerError('SCANNER_FAILED', `Trivy exited with code ${String(code)}`, { cause: err });
  }

  /** Ask `trivy version --format json`: the version and DB metadata (part of the cache key). */
  async probe(): Promise<void> {
    try {
      const r = await this.#run(['--cache-dir', this.#o.cacheDir, 'version', '--format', 'json'], PROBE_TIMEOUT_MS);
      const doc: unknown = JSON.parse(r.stdout);
      if (typeof doc !== 'object' || doc === null) throw new ScannerError('SCANNER_OUTPUT_INVALID', 'trivy version printed no JSON object');
      const o = doc as { Version?: unknown; VulnerabilityDB?: { UpdatedAt?: unknown; DownloadedAt?: unknown } };
      this.#version = typeof o.Version === 'string' ? o.Version.slice(0, 64) : 'unknown';
      const up = o.VulnerabilityDB?.UpdatedAt;
      if (typeof up === 'string') this.#db = { source: 'trivy', updatedAt: up, builtAt: up };
      else this.#db = undefined;
      if (this.#o.serverUrl) {
        this.#ready = true;
        this.#db = { source: `trivy-server` };
      } else if (this.#db) this.#ready = true;
      else {
        this.#ready = false;
        this.#reason = `Trivy has no vulnerability DB in ${this.#o.cacheDir} (run \`trivy --cache-dir ${this.#o.cacheDir} image --download-db-only\`)`;
      }
    } catch (err) {
      this.#ready = false;
      this.#reason = err instanceof SyntaxError ? 'trivy version printed invalid JSON' : describeError(err);
    }
  }

  state(): BackendState {
    const s: BackendState = { ready: this.#ready, scannerVersion: `trivy ${this.#version}` };
    if (this.#db) s.db = this.#db;
    if (!this.#ready) s.reason = this.#reason;
    return s;
  }

  cacheIdentity(): string {
    const db = this.#o.serverUrl ? `server:${this.#o.serverUrl}` : (this.#db?.updatedAt ?? 'nodb');
    return `trivy/${this.#version}/${db}`;
  }

  /** The argv for one scan (exported through the class for tests): the image is the last element, after `--`. */
  scanArgs(pinnedRef: string): string[] {
    const ref = parseReference(pinnedRef);
    if (!ref.digest) throw new ScannerError('SCAN_REF_NOT_PINNED', 'the trivy backend only scans references pinned by digest');
    const args = ['--quiet', '--cache-dir', this.#o.cacheDir, 'image', '--format', 'json', '--scanners', 'vuln', '--image-src', 'remote'];
    args.push('--timeout', `${Math.max(1, Math.ceil(this.#o.timeoutMs / 1000))}s`);
    if (this.#o.serverUrl) args.push('--server', this.#o.serverUrl);
    else if (this.#o.skipDbUpdate) args.push('--skip-db-update');
    if (this.#o.offlineScan) args.push('--offline-scan');
    if (this.#o.platform) args.push('--platform', this.#o.platform);
    if (this.#o.insecureRegistries.includes(ref.registry)) args.push('--insecure');
    args.push('--', pinnedRef);
    return args;
  }

  async scan(pinnedRef: string, opts: BackendScanOptions): Promise<BackendScanResult> {
    const args = this.scanArgs(pinnedRef);
    const r = await this.#run(args, this.#o.timeoutMs, opts.signal);
    const rep = parseTrivyReport(r.stdout);
    const out: BackendScanResult = { findings: rep.findings };
    if (rep.os) out.os = rep.os;
    return out;
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#tmpDir) rmSync(this.#tmpDir, { recursive: true, force: true });
  }
}
