/**
 * The server's logger: pino, JSON lines on stderr (or another fd/file), info level so each decision
 * gets its line, credentials and authorization headers redacted. `time` is epoch milliseconds (pino's
 * default: cheaper than ISO strings, and what log shippers expect from pino).
 *
 * Lines go through a LineWriter: appended to a list in memory and written in chunks of about 64 KB
 * (and at least every 250 ms, and on exit), one write(2) per chunk. A busy webhook must not pay a
 * write per decision, nor a thread-pool round trip per chunk (a wake-up and context switches: tens
 * of µs), nor re-measure a growing buffer per line (what pino's SonicBoom destination does:
 * Buffer.byteLength of its whole pending chunk on every line).
 *
 * A decision answered from the memo has a pre-serialised log line; `decisionLineSink` hands the
 * writer to the review core so that line is written without going through pino (same format, same
 * writer, so lines stay in order).
 */
import { closeSync, openSync, write, writeSync } from 'node:fs';
import pino from 'pino';
import type { Logger } from '../shared/log.ts';

/**
 * Keys that may carry credentials. Fixed paths only: pino's wildcard paths walk every key of every
 * line and cost more than the rest of a decision. Code never logs credential objects in the first
 * place (errors are logged as their one-line description); this is the second line of defence.
 */
export const REDACT_PATHS = [
  'password',
  'auth',
  'authorization',
  'token',
  'identitytoken',
  'headers.authorization',
  'headers.cookie',
  'headers["proxy-authorization"]',
  'req.headers.authorization',
  'registry.password',
  'registry.auth',
  'credentials.password',
];

export interface LineWriterOptions {
  /** File descriptor (default 2) or a path (opened for appending). */
  dest?: number | string;
  /** Write once about this many bytes are pending (default 65536; 0 = write every line at once). */
  chunkBytes?: number;
  /** Pending lines are written at least this often (ms, default 250). */
  flushIntervalMs?: number;
  /** Lines beyond this many pending bytes (the destination not keeping up) are dropped and counted (default 16 MiB). */
  maxPendingBytes?: number;
  /**
   * Write each chunk with one write(2) on the calling thread (default true), or hand it to libuv's
   * thread pool (false). A pool write costs a thread wake-up and a context switch each; a direct
   * write of a chunk costs microseconds and blocks only while a pipe reader is not reading at all
   * (as pino's and Node's own stderr do). A non-blocking fd that is full (EAGAIN) is retried later,
   * never spun on.
   */
  sync?: boolean;
}

const sleep = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * An ordered, buffered line sink on one file descriptor. `write` only appends to a list; a chunk is
 * written once about `chunkBytes` are pending, on a 250 ms timer, on `flush` and on exit. EAGAIN (a
 * non-blocking pipe that is full) is retried 10 ms later; other write errors drop that chunk (there
 * is nowhere else to report them). Memory is bounded by `maxPendingBytes`: beyond it lines are
 * dropped, and a warning line says how many.
 */
export class LineWriter {
  readonly #fd: number;
  readonly #ownsFd: boolean;
  readonly #chunk: number;
  readonly #maxPending: number;
  readonly #sync: boolean;
  #pending: string[] = [];
  #pendingLen = 0;
  #writing = false;
  #dropped = 0;
  #closed = false;
  #waiters: (() => void)[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #onExit = (): void => this.flushSync();

  constructor(o: LineWriterOptions = {}) {
    const dest = o.dest ?? 2;
    this.#ownsFd = typeof dest === 'string';
    this.#fd = typeof dest === 'string' ? openSync(dest, 'a') : dest;
    this.#chunk = o.chunkBytes ?? 65536;
    this.#maxPending = o.maxPendingBytes ?? 16 * 1024 * 1024;
    this.#sync = o.sync ?? true;
    this.#timer = setInterval(() => this.#flush(), o.flushIntervalMs ?? 250);
    this.#timer.unref();
    process.on('exit', this.#onExit);
  }

  /** Appends one line (with its newline). Returns false when the line was dropped. */
  write(line: string): boolean {
    if (this.#closed) return false;
    if (this.#pendingLen + line.length > this.#maxPending) {
      this.#dropped++;
      return false;
    }
    this.#pending.push(line);
    this.#pendingLen += line.length;
    if (this.#pendingLen >= this.#chunk) this.#flush();
    return true;
  }

  /** Writes what is pending now; `cb` runs once it has been handed to the kernel. */
  flush(cb?: (err?: Error) => void): void {
    if (cb) this.#waiters.push(() => cb());
    this.#flush();
    if (!this.#writing) this.#wake();
  }

  /** Writes everything pending synchronously (exit, close). */
  flushSync(): void {
    const text = this.#take();
    if (text === undefined) return;
    let buf = Buffer.from(text);
    for (let tries = 0; buf.length > 0 && tries < 1000; ) {
      try {
        buf = buf.subarray(writeSync(this.#fd, buf));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN' && code !== 'EBUSY') return;
        tries++;
        sleep(1);
      }
    }
  }

  /** Flushes synchronously and stops (the fd is closed if this writer opened it). */
  close(): void {
    if (this.#closed) return;
    this.flushSync();
    this.#closed = true;
    clearInterval(this.#timer);
    process.off('exit', this.#onExit);
    if (this.#ownsFd && !this.#writing) closeSync(this.#fd);
  }

  /** Bytes (UTF-16 units) waiting to be written. */
  get pendingLength(): number {
    return this.#pendingLen;
  }

  #take(): string | undefined {
    if (this.#dropped > 0) {
      this.#pending.push(`{"level":40,"time":${Date.now()},"component":"log","dropped":${this.#dropped},"msg":"log lines dropped: the log destination did not keep up"}\n`);
      this.#dropped = 0;
    }
    if (this.#pending.length === 0) return undefined;
    const text = this.#pending.length === 1 ? (this.#pending[0] as string) : this.#pending.join('');
    this.#pending = [];
    this.#pendingLen = 0;
    return text;
  }

  #flush(): void {
    if (this.#writing || this.#closed) return;
    const text = this.#take();
    if (text === undefined) return;
    this.#writing = true;
    this.#send(Buffer.from(text));
  }

  #send(buf: Buffer): void {
    if (this.#sync) {
      this.#sendSync(buf);
      return;
    }
    write(this.#fd, buf, 0, buf.length, null, (err, n) => {
      if (err) {
        if (err.code === 'EAGAIN' || err.code === 'EBUSY') {
          setTimeout(() => this.#send(buf), 10);
          return;
        }
        // Not writable (EPIPE, EBADF …): this chunk is lost; later ones are tried again.
      } else if (n < buf.length) {
        this.#send(buf.subarray(n));
        return;
      }
      this.#done();
    });
  }

  /** A chunk is written: the next one if enough is pending (or someone waits), else wake the waiters. */
  #done(): void {
    this.#writing = false;
    if (this.#closed) {
      if (this.#ownsFd) closeSync(this.#fd);
      return;
    }
    if (this.#pendingLen >= this.#chunk || this.#waiters.length > 0) this.#flush();
    if (!this.#writing) this.#wake();
  }

  #sendSync(buf: Buffer): void {
    let rest = buf;
    while (rest.length > 0) {
      try {
        rest = rest.subarray(writeSync(this.#fd, rest));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EBUSY') {
          // A full non-blocking pipe: try the rest again shortly, without blocking the event loop.
          const again = rest;
          setTimeout(() => this.#sendSync(again), 10);
          return;
        }
        break; // Not writable (EPIPE, EBADF …): this chunk is lost; later ones are tried again.
      }
    }
    this.#done();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

export interface ServerLoggerOptions {
  level: string;
  /** File descriptor (default 2) or a path. */
  dest?: number | string;
  /** Write once about this many bytes are pending (default 65536; 0 = every line at once). */
  chunkBytes?: number;
  /** Direct writes (default) or through libuv's thread pool: LineWriterOptions.sync. */
  sync?: boolean;
}

/** What the review core needs to write a pre-serialised decision line itself. */
export interface DecisionLineSink {
  /** Whether info lines are written at all (the level may be warn or silent). */
  infoEnabled(): boolean;
  /** One complete line (pino's format, with its newline). */
  write(line: string): void;
}

const sinks = new WeakMap<object, DecisionLineSink>();

/** The line sink behind a logger made by createServerLogger (not its children), or undefined. */
export function decisionLineSink(logger: Logger): DecisionLineSink | undefined {
  return sinks.get(logger);
}

export function createServerLogger(o: ServerLoggerOptions): Logger {
  const writer = new LineWriter({ ...(o.dest !== undefined ? { dest: o.dest } : {}), ...(o.chunkBytes !== undefined ? { chunkBytes: o.chunkBytes } : {}), ...(o.sync !== undefined ? { sync: o.sync } : {}) });
  const logger = pino({ level: o.level, base: null, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, writer);
  sinks.set(logger, { infoEnabled: () => logger.isLevelEnabled('info'), write: (line) => writer.write(line) });
  return logger as unknown as Logger;
}
