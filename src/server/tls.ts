/**
 * Serving certificate from PEM files, reloaded when they change: the files are polled (stat: inode,
 * size, mtime, which also catches the atomic `..data` symlink swap of a Kubernetes Secret volume),
 * re-read, checked by building a SecureContext, and only then handed to `server.setSecureContext`.
 * A half-written pair (cert and key not matching yet) is kept out; the next poll tries again.
 * With a client CA, clients must present a certificate it signed (the API server's webhook
 * kubeconfig can carry one).
 */
import { readFileSync, statSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { UserError, describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';

export interface TlsFilesConfig {
  cert: string;
  key: string;
  clientCa?: string;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
}

const MAX_PEM_BYTES = 1024 * 1024;

function readPem(path: string, what: string): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new UserError(`cannot read TLS ${what} ${path}: ${describeError(err)}`, { code: 'TLS_FILE', cause: err });
  }
  if (size > MAX_PEM_BYTES) throw new UserError(`TLS ${what} ${path} is larger than ${MAX_PEM_BYTES} bytes`, { code: 'TLS_FILE' });
  return readFileSync(path);
}

function fingerprint(paths: readonly string[]): string {
  return paths
    .map((p) => {
      try {
        const st = statSync(p);
        return `${st.ino}:${st.size}:${st.mtimeMs}`;
      } catch {
        return '-';
      }
    })
    .join('|');
}

export class TlsFiles {
  readonly #cfg: TlsFilesConfig;
  readonly #log: Logger;
  #fp = '';
  #badFp = '';
  #timer: NodeJS.Timeout | undefined;

  constructor(cfg: TlsFilesConfig, logger: Logger) {
    this.#cfg = cfg;
    this.#log = logger.child({ component: 'tls' });
  }

  #paths(): string[] {
    return [this.#cfg.cert, this.#cfg.key, ...(this.#cfg.clientCa ? [this.#cfg.clientCa] : [])];
  }

  /** Read and check the files (UserError naming the file or the mismatch). */
  load(): SecureContextOptions {
    const fp = fingerprint(this.#paths());
    const opts: SecureContextOptions = {
      cert: readPem(this.#cfg.cert, 'certificate'),
      key: readPem(this.#cfg.key, 'key'),
      minVersion: this.#cfg.minVersion,
    };
    if (this.#cfg.clientCa) opts.ca = readPem(this.#cfg.clientCa, 'client CA');
    try {
      createSecureContext(opts);
    } catch (err) {
      throw new UserError(`TLS certificate ${this.#cfg.cert} and key ${this.#cfg.key} cannot be used: ${describeError(err)}`, { code: 'TLS_INVALID', cause: err });
    }
    this.#fp = fp;
    return opts;
  }

  /** Options for https.createServer: the context plus client verification when a CA is set. */
  serverOptions(): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
    const ctx = this.load();
    const mtls = this.#cfg.clientCa !== undefined;
    return { ...ctx, requestCert: mtls, rejectUnauthorized: mtls };
  }

  /** Poll the files; on a change that loads cleanly, swap the server's context. */
  watch(server: HttpsServer, intervalMs: number, onReload?: (ok: boolean) => void): void {
    this.#timer = setInterval(() => {
      const now = fingerprint(this.#paths());
      if (now === this.#fp || now === this.#badFp) return;
      try {
        const opts = this.load();
        server.setSecureContext(opts);
        this.#log.info({ cert: this.#cfg.cert }, 'TLS certificate reloaded');
        onReload?.(true);
      } catch (err) {
        // Keep serving the old certificate; a writer may be between the cert and the key.
        this.#badFp = now;
        this.#log.warn({ err: describeError(err) }, 'TLS files changed but cannot be loaded yet; keeping the current certificate');
        onReload?.(false);
      }
    }, Math.max(50, intervalMs));
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
