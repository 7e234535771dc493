/**
 * package.json of an installed package (or a project manifest). Licenses from `license` (a string,
 * the legacy `{type}` object, or an array of them) and the legacy `licenses` array (strings or
 * `{type}` objects), normalised as Trivy normalises them ('BSD' → 'BSD-3-Clause'). A name npm
 * would refuse ('@scope/pkg/', 'a@b') is not a package (Trivy refuses the file).
 */
import { normalizeLicense } from '../os/licenses.ts';
import { inNodeModules } from './paths.ts';

export interface PackageJson {
  name?: string;
  version?: string;
  licenses: string[];
  /** Runtime dependencies (dependencies, optionalDependencies, peerDependencies): name → range. Kept for project manifests only. */
  dependencies?: Record<string, string>;
  /** devDependencies: name → range. Kept for project manifests only. */
  devDependencies?: Record<string, string>;
  workspaces?: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function licenseName(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (isObj(v) && typeof v['type'] === 'string') return v['type'].trim() || undefined;
  return undefined;
}

/** A string, a `{type}` object, or an array of either (empty and unknown entries skipped). */
function licenseNames(v: unknown): string[] {
  if (!Array.isArray(v)) {
    const n = licenseName(v);
    return n ? [n] : [];
  }
  const out: string[] = [];
  for (const l of v) {
    const n = licenseName(l);
    if (n) out.push(n);
  }
  return out;
}

function licensesOf(doc: Record<string, unknown>): string[] {
  // `license` is sometimes written as the legacy array too (`"license": [{"type": "MIT"}, …]`)
  const out = [...licenseNames(doc['license']), ...licenseNames(doc['licenses'])];
  return [...new Set(out.map(normalizeLicense))];
}

/** npm's rule for names (Trivy's packagejson.IsValidName): URL-friendly, one optional @scope/. */
const NAME_RE = /^(@[A-Za-z0-9._-]+\/)?[A-Za-z0-9._-]+$/;

export function isValidPackageName(name: string): boolean {
  return NAME_RE.test(name);
}

function workspacesOf(v: unknown): string[] | undefined {
  const list = Array.isArray(v) ? v : isObj(v) && Array.isArray(v['packages']) ? v['packages'] : undefined;
  const out = list?.filter((x): x is string => typeof x === 'string');
  return out?.length ? out : undefined;
}

/** Undefined when the text is not a JSON object. */
export function parsePackageJson(text: string): PackageJson | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return undefined;
  }
  if (!isObj(doc)) return undefined;
  const out: PackageJson = { licenses: licensesOf(doc) };
  if (typeof doc['name'] === 'string' && doc['name'] !== '' && isValidPackageName(doc['name'])) out.name = doc['name'];
  if (typeof doc['version'] === 'string' && doc['version'] !== '') out.version = doc['version'];
  const ranges = (keys: string[]): Record<string, string> | undefined => {
    const o: Record<string, string> = {};
    for (const k of keys) {
      const d = doc[k];
      if (isObj(d)) for (const [name, range] of Object.entries(d)) if (!(name in o)) o[name] = typeof range === 'string' ? range : '';
    }
    return Object.keys(o).length ? o : undefined;
  };
  const deps = ranges(['dependencies', 'optionalDependencies', 'peerDependencies']);
  if (deps) out.dependencies = deps;
  const dev = ranges(['devDependencies']);
  if (dev) out.devDependencies = dev;
  const ws = workspacesOf(doc['workspaces']);
  if (ws) out.workspaces = ws;
  return out;
}

/**
 * Shrink a package.json right after it is read: an installed package keeps name, version and
 * licenses; a project manifest also its dependency ranges. Files that are not JSON objects, or
 * installed ones without name and version, are dropped.
 */
export function condensePackageJson(path: string, content: Buffer): Buffer | undefined {
  const p = parsePackageJson(content.toString('utf8'));
  if (!p) return undefined;
  const installed = inNodeModules(path);
  if (installed && (!p.name || !p.version)) return undefined;
  const keep: Record<string, unknown> = {};
  if (p.name) keep['name'] = p.name;
  if (p.version) keep['version'] = p.version;
  if (p.licenses.length) keep['licenses'] = p.licenses;
  if (!installed) {
    if (p.dependencies) keep['dependencies'] = p.dependencies;
    if (p.devDependencies) keep['devDependencies'] = p.devDependencies;
    if (p.workspaces) keep['workspaces'] = p.workspaces;
  }
  return Buffer.from(JSON.stringify(keep));
}
