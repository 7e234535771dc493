/**
 * NuGet: packages.lock.json and packages.config (`nuget`, purl pkg:nuget/NAME@VER), in project
 * directories AND in images and root filesystems — Trivy 0.44's nuget analyzer is not one of the
 * lock-file analyzers its `image`/`rootfs` commands turn off. packages.lock.json: every package
 * of every target framework except `"type": "Project"` (the solution's own projects), version
 * `resolved` (empty when missing, as Trivy keeps it), one package per name@version; `Direct` is
 * direct, every other type (Transitive, CentralTransitive) indirect — when targets disagree Trivy
 * keeps whichever its map walk met first, here direct wins. packages.config: each `<package>`
 * with an `id`, except `developmentDependency="true"`; relationship unknown.
 */
import type { Cataloger } from '../types.ts';
import { lockFileCataloger } from '../lockfile.ts';
import { makePurl } from '../os/purl.ts';

export interface NugetPackage {
  name: string;
  version: string;
  relationship: 'direct' | 'indirect' | 'unknown';
}

export class NugetLockError extends Error {}

const base = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

export function nugetFileKind(path: string): 'lock' | 'config' | undefined {
  switch (base(path)) {
    case 'packages.lock.json':
      return 'lock';
    case 'packages.config':
      return 'config';
    default:
      return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseNugetLock(text: string): NugetPackage[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new NugetLockError(`not JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) throw new NugetLockError('not a JSON object');
  const targets = doc['dependencies'];
  if (targets === undefined || targets === null) return [];
  if (!isObject(targets)) throw new NugetLockError('"dependencies" is not an object');
  const found = new Map<string, NugetPackage>();
  for (const [target, deps] of Object.entries(targets)) {
    if (deps === null) continue;
    if (!isObject(deps)) throw new NugetLockError(`target ${JSON.stringify(target)} is not an object`);
    for (const [name, d] of Object.entries(deps)) {
      if (d === null) continue;
      if (!isObject(d)) throw new NugetLockError(`package ${JSON.stringify(name)} is not an object`);
      const type = d['type'];
      const resolved = d['resolved'];
      if ((type !== undefined && type !== null && typeof type !== 'string') || (resolved !== undefined && resolved !== null && typeof resolved !== 'string')) {
        throw new NugetLockError(`package ${JSON.stringify(name)}: "type" and "resolved" must be strings`);
      }
      if (type === 'Project') continue;
      const version = resolved ?? '';
      const key = `${name}@${version}`;
      const relationship = type === 'Direct' ? 'direct' : 'indirect';
      const seen = found.get(key);
      if (!seen) found.set(key, { name, version, relationship });
      else if (relationship === 'direct') seen.relationship = 'direct';
    }
  }
  return [...found.values()];
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescapeXml = (s: string): string =>
  s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(parseInt(e.slice(1), 10)) : (XML_ENTITIES[e] ?? m),
  );

/** Go's strconv.ParseBool, which Trivy's XML decoder applies to developmentDependency. */
function goBool(v: string, name: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new NugetLockError(`package ${JSON.stringify(name)}: developmentDependency=${JSON.stringify(v)} is not a boolean`);
}

export function parsePackagesConfig(text: string): NugetPackage[] {
  const body = text.replace(/<!--[\s\S]*?-->/g, '');
  if (!/<packages[\s>/]/.test(body)) throw new NugetLockError('no <packages> element');
  const out = new Map<string, NugetPackage>();
  for (const m of body.matchAll(/<package\s([^>]*?)\/?>/g)) {
    const attrs = new Map<string, string>();
    for (const a of (m[1] as string).matchAll(/([A-Za-z_:][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs.set(a[1] as string, unescapeXml(a[2] ?? a[3] ?? ''));
    const id = attrs.get('id') ?? '';
    if (!id) continue;
    const dev = attrs.get('developmentDependency');
    if (dev !== undefined && goBool(dev.trim(), id)) continue;
    const version = attrs.get('version') ?? '';
    out.set(`${id}@${version}`, { name: id, version, relationship: 'unknown' });
  }
  return [...out.values()];
}

export const nugetPurl = (name: string, version: string): string => makePurl('nuget', undefined, name, version, {});

export const nugetCataloger: Cataloger = lockFileCataloger({
  id: 'nuget',
  version: 1,
  type: 'nuget',
  matches: (path) => nugetFileKind(path) !== undefined,
  everywhere: true,
  maxFileSize: 32 * 1024 * 1024,
  parse: (text, path) => (nugetFileKind(path) === 'lock' ? parseNugetLock(text) : parsePackagesConfig(text)).map((n) => ({ ...n, dev: false })),
  purl: nugetPurl,
});
