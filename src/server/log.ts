/**
 * The server's logger: pino, JSON lines on stderr (or another fd/file), info level so each decision
 * gets its line, credentials and authorization headers redacted. Lines are buffered (8 KB, flushed
 * every 250 ms and on exit) so a busy webhook does not pay one write(2) per decision. `time` is epoch
 * milliseconds (pino's default: cheaper than ISO strings, and what log shippers expect from pino).
 */
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

export interface ServerLoggerOptions {
  level: string;
  /** File descriptor (default 2) or a path. */
  dest?: number | string;
  /** Buffer this many bytes before writing (default 8192; 0 = write every line). */
  minLength?: number;
}

export function createServerLogger(o: ServerLoggerOptions): Logger {
  const dest = o.dest ?? 2;
  const stream = pino.destination({
    ...(typeof dest === 'number' ? { fd: dest } : { dest }),
    sync: false,
    minLength: o.minLength ?? 8192,
    periodicFlush: 250,
  });
  return pino(
    { level: o.level, base: null, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    stream,
  ) as unknown as Logger;
}
