import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/**
 * Every CLI command, one module each, listed here (adding a command touches this table and its file).
 * A module exports `register(program, ctx)`; heavy imports happen inside the action so
 * `portcullis --help` and small commands start fast. `names` are the top-level command names (and
 * aliases) the module registers: a run that names one loads and registers only that module.
 */
export type RegisterCommand = (program: Command, ctx: () => CliContext) => void;

export interface CommandModule {
  readonly names: readonly string[];
  readonly load: () => Promise<{ register: RegisterCommand }>;
  /** A one-shot command: the process exits as soon as it returned and its output is flushed. */
  readonly exitsWhenDone?: true;
}

export const commands: readonly CommandModule[] = [
  { names: ['scan', 'image'], load: () => import('./scan.ts'), exitsWhenDone: true },
  { names: ['sbom'], load: () => import('./sbom.ts'), exitsWhenDone: true },
  { names: ['demo'], load: () => import('./demo.ts'), exitsWhenDone: true },
  { names: ['server'], load: () => import('./server.ts') },
  { names: ['k8s'], load: () => import('./k8s.ts') },
  { names: ['db'], load: () => import('./db.ts') },
];
