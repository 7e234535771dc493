/** Shared helpers for the benchmark scripts: timing child processes with /usr/bin/time, medians, tables. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..');
export const NODE = process.execPath;
/** What users run (`npx portcullis`): the launcher, which turns on V8's compile cache before any .ts loads. */
export const MAIN = join(REPO, 'bin', 'portcullis.js');

export interface Measured {
  wallS: number;
  rssMb: number;
  /** User + system CPU seconds of the process and its threads (and waited-for children). */
  cpuS: number;
  ok: boolean;
  stderr: string;
}

/** Run a command under GNU time: wall seconds, peak RSS, CPU seconds. */
export function measure(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Measured {
  const dir = mkdtempSync(join(tmpdir(), 'bench-time-'));
  const out = join(dir, 'time');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', '-o', out, cmd, ...args], { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 256 << 20 });
  let wallS = NaN;
  let rssMb = NaN;
  let cpuS = NaN;
  try {
    const last = readFileSync(out, 'utf8').trim().split('\n').pop() ?? '';
    const [w, m, u, sy] = last.split(' ');
    wallS = Number(w);
    rssMb = Number(m) / 1024;
    cpuS = Number(u) + Number(sy);
  } catch {
    /* time did not write: the command failed to start */
  }
  rmSync(dir, { recursive: true, force: true });
  return { wallS, rssMb, cpuS, ok: r.status === 0, stderr: (r.stderr ?? '').slice(-500) };
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function table(header: string[], rows: (string | number)[][]): string {
  const fmt = (v: string | number): string => (typeof v === 'number' ? (Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)) : 'n/a') : v);
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(fmt).join(' | ')} |`);
  return lines.join('\n');
}
