import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../shared/log.ts';

/** What every command gets from the composition root: resolved global options and a logger. */
export interface CliContext {
  cacheDir: string;
  /** True when no --cache-dir flag or PORTCULLIS_CACHE_DIR was given (a config file's cache-dir may apply). */
  cacheDirFromDefault: boolean;
  debug: boolean;
  quiet: boolean;
  logger: Logger;
  /** process.stdout, or a file stream when a command writes --output. */
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** True when stderr is a terminal (progress bars, colours). */
  isTty: boolean;
  env: NodeJS.ProcessEnv;
}

/** --cache-dir > PORTCULLIS_CACHE_DIR > $XDG_CACHE_HOME/portcullis > ~/.cache/portcullis */
export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  if (env['PORTCULLIS_CACHE_DIR']) return env['PORTCULLIS_CACHE_DIR'];
  if (env['XDG_CACHE_HOME']) return join(env['XDG_CACHE_HOME'], 'portcullis');
  return join(homedir(), '.cache', 'portcullis');
}

/** Thrown by command actions to end with a given exit code without printing anything more. */
export class ExitCode extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}
