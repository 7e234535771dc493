/**
 * package-lock.json, lockfile versions 1 (`dependencies` tree), 2 and 3 (`packages` keyed by
 * install path). Packages are folded by name@version the way Trivy folds them: dev only when every
 * copy is dev, direct when any copy is a root dependency. v1 carries no root information, so its
 * relationship is 'unknown'. Workspace links (`"link": true`) are resolved to their targets; a
 * workspace package is listed even without a version (as Trivy lists it, version '').
 */

export interface LockPackage {
  name: string;
  version: string;
  dev: boolean;
  relationship: 'direct' | 'indirect' | 'unknown';
}

export class LockfileError extends Error {}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const MAX_DEPTH = 256;

interface V2Entry {
  name: string;
  version: string;
  dev: boolean;
  link: boolean;
  resolved: string;
  deps: string[];
  workspaces?: string[];
  /** A workspace folder moved under its node_modules link path. */
  workspace?: boolean;
}

function v2Entry(v: unknown): V2Entry | undefined {
  if (!isObj(v)) return undefined;
  const deps: string[] = [];
  for (const k of ['dependencies', 'optionalDependencies', 'devDependencies', 'peerDependencies']) {
    const d = v[k];
    if (isObj(d)) deps.push(...Object.keys(d));
  }
  const e: V2Entry = { name: str(v['name']), version: str(v['version']), dev: v['dev'] === true, link: v['link'] === true, resolved: str(v['resolved']), deps };
  const ws = v['workspaces'];
  const list = Array.isArray(ws) ? ws : isObj(ws) && Array.isArray(ws['packages']) ? ws['packages'] : undefined;
  if (list) e.workspaces = list.filter((x): x is string => typeof x === 'string');
  return e;
}

/** Go's path.Match for the workspace globs npm writes ('packages/*'): '*' and '?' within one segment. */
function globMatch(glob: string, path: string): boolean {
  let re = '^';
  for (const c of glob) {
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`).test(path);
}

const nameFromPath = (p: string): string => {
  const i = p.lastIndexOf('node_modules/');
  return i < 0 ? p : p.slice(i + 'node_modules/'.length);
};

/** Move link targets (workspace folders) under their node_modules link path, as Trivy does. */
function resolveLinks(packages: Map<string, V2Entry>): void {
  const links = new Map<string, V2Entry>();
  for (const [p, e] of packages) {
    if (!e.link) continue;
    if (!e.resolved) packages.delete(p);
    else links.set(p, e);
  }
  if (!links.size) return;
  const root = packages.get('') ?? { name: '', version: '', dev: false, link: false, resolved: '', deps: [] };
  const workspaces = root.workspaces ?? [];
  for (const [p, e] of [...packages]) {
    for (const [linkPath, link] of links) {
      if (!p.startsWith(link.resolved)) continue;
      packages.delete(p);
      const moved: V2Entry = { ...e, resolved: e.resolved || link.resolved };
      if (p === link.resolved) moved.workspace = true;
      packages.set(p.replace(link.resolved, linkPath), moved);
      if (workspaces.some((w) => globMatch(w, p))) root.deps.push(nameFromPath(linkPath));
      break;
    }
  }
  packages.set('', root);
}

function fold(into: Map<string, LockPackage>, p: LockPackage): void {
  const id = `${p.name}@${p.version}`;
  const had = into.get(id);
  if (!had) {
    into.set(id, p);
    return;
  }
  had.dev = had.dev && p.dev;
  if (had.relationship === 'indirect' && p.relationship === 'direct') had.relationship = 'direct';
}

function parseV2(raw: Record<string, unknown>): LockPackage[] {
  const packages = new Map<string, V2Entry>();
  for (const [k, v] of Object.entries(raw)) {
    const e = v2Entry(v);
    if (e) packages.set(k, e);
  }
  resolveLinks(packages);
  const direct = new Set<string>();
  for (const name of packages.get('')?.deps ?? []) {
    const p = `node_modules/${name}`;
    if (packages.has(p)) direct.add(p);
  }
  const out = new Map<string, LockPackage>();
  for (const [p, e] of packages) {
    if (!p.startsWith('node_modules')) continue;
    const name = e.name || nameFromPath(p);
    // A workspace package without a version is still one (Trivy lists it with an empty version)
    if (!name || (!e.version && !e.workspace)) continue;
    fold(out, { name, version: e.version, dev: e.dev, relationship: direct.has(p) ? 'direct' : 'indirect' });
  }
  return [...out.values()];
}

function parseV1(deps: Record<string, unknown>, out: Map<string, LockPackage>, depth: number): void {
  if (depth > MAX_DEPTH) throw new LockfileError('dependencies nested too deeply');
  for (const [name, d] of Object.entries(deps)) {
    if (!isObj(d)) continue;
    const version = str(d['version']);
    if (version) fold(out, { name, version, dev: d['dev'] === true, relationship: 'unknown' });
    const nested = d['dependencies'];
    if (isObj(nested)) parseV1(nested, out, depth + 1);
  }
}

export function parsePackageLock(text: string): LockPackage[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new LockfileError(`not JSON (${(err as Error).message})`);
  }
  if (!isObj(doc)) throw new LockfileError('not a JSON object');
  const version = doc['lockfileVersion'];
  if (version === 1 || (version === undefined && isObj(doc['dependencies']) && !isObj(doc['packages']))) {
    const out = new Map<string, LockPackage>();
    if (isObj(doc['dependencies'])) parseV1(doc['dependencies'], out, 0);
    return [...out.values()];
  }
  if (typeof version !== 'number' || version < 1) throw new LockfileError(`unknown lockfileVersion ${JSON.stringify(version)}`);
  return parseV2(isObj(doc['packages']) ? doc['packages'] : {});
}

/**
 * Shrink a lock file when it is read: only what parsePackageLock uses (a big monorepo lock is
 * tens of MB of integrity hashes and URLs). Not JSON → kept as is, so the parse error is reported.
 */
export function condensePackageLock(content: Buffer): Buffer {
  let doc: unknown;
  try {
    doc = JSON.parse(content.toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    return content;
  }
  if (!isObj(doc)) return content;
  const keepEntry = (v: unknown): unknown => {
    if (!isObj(v)) return v;
    const o: Record<string, unknown> = {};
    for (const k of ['name', 'version', 'dev', 'link', 'resolved', 'workspaces']) if (v[k] !== undefined) o[k] = v[k];
    for (const k of ['dependencies', 'optionalDependencies', 'devDependencies', 'peerDependencies']) {
      const d = v[k];
      if (isObj(d)) o[k] = Object.fromEntries(Object.keys(d).map((n) => [n, '']));
    }
    return o;
  };
  const keepV1 = (deps: unknown, depth: number): unknown => {
    if (!isObj(deps) || depth > MAX_DEPTH) return deps;
    const o: Record<string, unknown> = {};
    for (const [name, d] of Object.entries(deps)) {
      if (!isObj(d)) continue;
      const e: Record<string, unknown> = {};
      if (d['version'] !== undefined) e['version'] = d['version'];
      if (d['dev'] !== undefined) e['dev'] = d['dev'];
      if (d['dependencies'] !== undefined) e['dependencies'] = keepV1(d['dependencies'], depth + 1);
      o[name] = e;
    }
    return o;
  };
  const out: Record<string, unknown> = { lockfileVersion: doc['lockfileVersion'] };
  if (isObj(doc['packages'])) out['packages'] = Object.fromEntries(Object.entries(doc['packages']).map(([k, v]) => [k, keepEntry(v)]));
  else if (doc['dependencies'] !== undefined) out['dependencies'] = keepV1(doc['dependencies'], 0);
  return Buffer.from(JSON.stringify(out));
}
