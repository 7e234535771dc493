/**
 * pnpm-lock.yaml, lockfile versions 5 (`/name/1.0.0_peer`), 6 (`/name@1.0.0(peer@1)`) and 9
 * (`name@1.0.0` under `packages`, the graph under `snapshots`). `dev: true` marks dev-only
 * packages (v5/v6); the project's own dependencies (top level or `importers`) are direct.
 */
import { parse } from 'yaml';
import type { LockPackage } from './package-lock.ts';

export class PnpmLockError extends Error {}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/** '/@scope/name/1.0.0_peer@1', '/name@1.0.0(peer@1)', 'name@1.0.0' → [name, version]. */
export function splitPnpmKey(key: string, lockVersion: number): [string, string] | undefined {
  let k = key.replace(/^\//, '');
  const paren = k.indexOf('(');
  if (paren > 0) k = k.slice(0, paren);
  if (lockVersion < 6) {
    // name/1.0.0, @scope/name/1.0.0, with an optional _peer suffix; rarely a registry host first
    const parts = k.split('/');
    if (parts.length > 2 && parts[0]?.includes('.') && !parts[0].startsWith('@')) parts.shift();
    const scoped = parts[0]?.startsWith('@') ?? false;
    const name = scoped ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? '');
    const version = (parts[scoped ? 2 : 1] ?? '').split('_')[0] ?? '';
    return name && version ? [name, version] : undefined;
  }
  const at = k.lastIndexOf('@');
  if (at <= 0) return undefined;
  return [k.slice(0, at), k.slice(at + 1)];
}

function directNames(doc: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  const add = (o: unknown): void => {
    if (!isObj(o)) return;
    for (const k of ['dependencies', 'devDependencies', 'optionalDependencies']) if (isObj(o[k])) for (const n of Object.keys(o[k])) out.add(n);
  };
  add(doc);
  if (isObj(doc['importers'])) for (const imp of Object.values(doc['importers'])) add(imp);
  return out;
}

export function parsePnpmLock(text: string): LockPackage[] {
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 1000 });
  } catch (err) {
    throw new PnpmLockError(`not YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (!isObj(doc)) throw new PnpmLockError('not a YAML mapping');
  const lockVersion = Number.parseFloat(str(doc['lockfileVersion'])) || 5;
  const direct = directNames(doc);
  const out = new Map<string, LockPackage>();
  const packages = isObj(doc['packages']) ? doc['packages'] : {};
  for (const [key, v] of Object.entries(packages)) {
    const info = isObj(v) ? v : {};
    const split = splitPnpmKey(key, lockVersion);
    const name = str(info['name']) || split?.[0] || '';
    const version = str(info['version']) || split?.[1] || '';
    if (!name || !version || version.includes(':') || version.startsWith('link')) continue;
    const p: LockPackage = { name, version, dev: info['dev'] === true, relationship: direct.size ? (direct.has(name) ? 'direct' : 'indirect') : 'unknown' };
    const id = `${name}@${version}`;
    const had = out.get(id);
    if (!had) out.set(id, p);
    else had.dev = had.dev && p.dev;
  }
  return [...out.values()];
}
