import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/**
 * Every CLI command, one module each, listed here (adding a command touches this table and its file).
 * A module exports `register(program, ctx)`; heavy imports happen inside the action so
 * `portcullis --help` and small commands start fast.
 */
export type RegisterCommand = (program: Command, ctx: () => CliContext) => void;

export const commands: readonly (() => Promise<{ register: RegisterCommand }>)[] = [
  () => import('./scan.ts'),
  () => import('./sbom.ts'),
  () => import('./demo.ts'),
  () => import('./server.ts'),
  () => import('./k8s.ts'),
  () => import('./db.ts'),
];
