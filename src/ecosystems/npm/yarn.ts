/**
 * yarn.lock, both the classic v1 format and Berry (v2+, YAML). One entry per resolved package:
 * an unindented header listing every pattern that resolved to it (`"a@^1", a@~1.2:`), then
 * indented `version`, `resolution` and a `dependencies` block. Workspace, patch, link and portal
 * entries are the project itself or duplicates, not installed packages, and are skipped.
 * With the package.json beside the lock, packages reachable only from devDependencies are dev
 * (Trivy drops them from reports) and the manifest's own dependencies are direct.
 */
import type { LockPackage } from './package-lock.ts';

export class YarnLockError extends Error {}

interface Entry {
  name: string;
  version: string;
  patterns: string[];
  deps: [string, string][];
}

const SKIP_PROTOCOLS = ['workspace:', 'patch:', 'link:', 'portal:'];

const unquote = (s: string): string => {
  const t = s.trim();
  return t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0] ? t.slice(1, -1) : t;
};

/** 'name@range' → [name, range]; scoped names keep their leading '@'. */
export function splitPattern(pattern: string): [string, string] {
  const at = pattern.indexOf('@', pattern.startsWith('@') ? 1 : 0);
  return at < 0 ? [pattern, ''] : [pattern.slice(0, at), pattern.slice(at + 1)];
}

/** Header patterns: quotes removed, split at commas (Berry puts several patterns in one quoted string). */
function headerPatterns(line: string): string[] {
  return line
    .slice(0, -1)
    .replaceAll('"', '')
    .replaceAll("'", '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** `key value` (v1) or `key: value` (Berry) → [key, value]. */
function keyValue(line: string): [string, string] {
  const t = line.trim();
  let key: string;
  let rest: string;
  if (t[0] === '"') {
    const end = t.indexOf('"', 1);
    key = t.slice(1, end < 0 ? t.length : end);
    rest = end < 0 ? '' : t.slice(end + 1);
  } else {
    const m = /^[^\s:]+/.exec(t);
    key = m ? m[0] : '';
    rest = t.slice(key.length);
  }
  rest = rest.replace(/^:/, '').trim();
  return [key, unquote(rest)];
}

export function parseYarnEntries(text: string): Entry[] {
  const entries: Entry[] = [];
  let cur: Entry | undefined;
  let inDeps = false;
  let skip = false;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = (lines[n] ?? '').replace(/\r$/, '');
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const indent = raw.length - raw.trimStart().length;
    if (indent === 0) {
      if (!raw.endsWith(':')) throw new YarnLockError(`line ${n + 1}: expected an entry header`);
      inDeps = false;
      const patterns = headerPatterns(raw);
      skip = raw.startsWith('__metadata') || patterns.length === 0 || patterns.some((p) => SKIP_PROTOCOLS.some((s) => splitPattern(p)[1].startsWith(s)));
      const [name] = splitPattern(patterns[0] ?? '');
      cur = { name, version: '', patterns, deps: [] };
      if (!skip) entries.push(cur);
      continue;
    }
    if (!cur || skip) continue;
    const [key, value] = keyValue(raw);
    if (indent <= 2) {
      inDeps = (key === 'dependencies' || key === 'optionalDependencies') && value === '';
      if (key === 'version') cur.version = value;
      else if (key === 'resolution' && SKIP_PROTOCOLS.some((s) => value.includes(`@${s}`))) {
        entries.pop();
        skip = true;
      }
    } else if (inDeps && key) cur.deps.push([key, value]);
  }
  return entries.filter((e) => e.name && e.version);
}

/** Berry writes `name@npm:range` in patterns and plain ranges in dependency blocks. */
const normRange = (r: string): string => r.replace(/^npm:/, '');

export function parseYarnLock(text: string, manifest?: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> }): LockPackage[] {
  const entries = parseYarnEntries(text);
  const byPattern = new Map<string, Entry>();
  for (const e of entries) {
    for (const p of e.patterns) {
      const [name, range] = splitPattern(p);
      byPattern.set(`${name}@${normRange(range)}`, e);
    }
  }
  const resolve = (name: string, range: string): Entry | undefined => byPattern.get(`${name}@${normRange(range)}`);
  const reach = (roots: [string, string][]): Set<Entry> => {
    const seen = new Set<Entry>();
    const stack = roots.map(([n, r]) => resolve(n, r)).filter((e): e is Entry => e !== undefined);
    while (stack.length) {
      const e = stack.pop() as Entry;
      if (seen.has(e)) continue;
      seen.add(e);
      for (const [n, r] of e.deps) {
        const d = resolve(n, r);
        if (d && !seen.has(d)) stack.push(d);
      }
    }
    return seen;
  };
  const prodRoots = Object.entries(manifest?.dependencies ?? {});
  const devRoots = Object.entries(manifest?.devDependencies ?? {});
  const prod = manifest ? reach(prodRoots) : undefined;
  const direct = new Set([...prodRoots, ...devRoots].map(([n, r]) => resolve(n, r)).filter((e): e is Entry => e !== undefined));
  const out = new Map<string, LockPackage>();
  for (const e of entries) {
    const id = `${e.name}@${e.version}`;
    const p: LockPackage = { name: e.name, version: e.version, dev: prod ? !prod.has(e) : false, relationship: manifest ? (direct.has(e) ? 'direct' : 'indirect') : 'unknown' };
    const had = out.get(id);
    if (!had) out.set(id, p);
    else {
      had.dev = had.dev && p.dev;
      if (p.relationship === 'direct') had.relationship = 'direct';
    }
  }
  return [...out.values()];
}
