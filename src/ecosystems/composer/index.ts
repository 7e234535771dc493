/**
 * PHP packages from composer.lock (`composer`), as Trivy 0.44.1 lists them, in images and project
 * directories alike (Trivy 0.44 reads composer.lock in `image`, `rootfs` and `fs`). Only
 * `packages`: `packages-dev` is never listed (Trivy does not read it). One package per name (the
 * last entry wins); a package without a version is listed with version ''. Licenses: the `license`
 * array, split and normalised as Trivy 0.44 does. With a composer.json beside the lock, packages its
 * `require` names are 'direct' and the others 'indirect'; without one, 'unknown'.
 * vendor/composer/installed.json is not read: Trivy 0.44 has no analyzer for it.
 */
import type { FsFile, Package, ReadonlyFs } from '../../domain/index.ts';
import { describeError } from '../../shared/errors.ts';
import type { Cataloger, CatalogContext } from '../types.ts';
import { makePurl } from '../os/purl.ts';
import { withoutAliases } from '../python/aliases.ts';
import { splitLicenseField } from '../python/licenses.ts';

const base = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
const dirOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const join = (dir: string, name: string): string => (dir ? `${dir}/${name}` : name);

export const COMPOSER_LOCK = 'composer.lock';
export const COMPOSER_JSON = 'composer.json';

/** `pkg:composer/vendor/name@1.0.0` (a name without a vendor has no namespace). */
export function composerPurl(name: string, version: string): string {
  const slash = name.lastIndexOf('/');
  return slash > 0
    ? makePurl('composer', name.slice(0, slash), name.slice(slash + 1), version, {})
    : makePurl('composer', undefined, name, version, {});
}

/** Trivy 0.44's licensing.Normalize table (before its SPDX '-only'/'-or-later' renaming). */
const NORMALIZE: Readonly<Record<string, string>> = (() => {
  const m: Record<string, string> = {};
  const add = (target: string, ...names: string[]): void => {
    for (const n of names) m[n] = target;
  };
  add('GPL-1.0', 'GPL-1', 'GPL-1+', 'GPL 1.0', 'GPL 1', 'GPL-1.0-ONLY', 'GPL-1.0-OR-LATER', 'GPL-1.0+');
  add('GPL-2.0', 'GPL2', 'GPL 2.0', 'GPL 2', 'GPL-2', 'GPL-2.0-ONLY', 'GPL-2.0-OR-LATER', 'GPL2+', 'GPLV2', 'GPLV2+', 'GPL-2+', 'GPL-2.0+');
  add('GPL-3.0', 'GPL3', 'GPL 3.0', 'GPL 3', 'GPL-3', 'GPL-3.0-ONLY', 'GPL-3.0-OR-LATER', 'GPL3+', 'GPLV3', 'GPLV3+', 'GPL-3+', 'GPL-3.0+');
  add('LGPL-2.0', 'LGPL2', 'LGPL 2', 'LGPL 2.0', 'LGPL-2', 'LGPL2+', 'LGPL-2+', 'LGPL-2.0+');
  add('LGPL-2.1', 'LGPL 2.1', 'LGPL-2.1+', 'LGPLV2.1+');
  add('LGPL-3.0', 'LGPL 3', 'LGPL-3', 'LGPL-3+', 'LGPL-3.0+');
  add('MPL-1.0', 'MPL1.0', 'MPL1', 'MPL 1.0', 'MPL 1');
  add('MPL-2.0', 'MPL2.0', 'MPL 2.0', 'MPL2', 'MPL 2');
  add('BSD-3-Clause', 'BSD', 'BSD-3-CLAUSE');
  add('BSD-2-Clause', 'BSD-2-CLAUSE');
  add('BSD-4-Clause', 'BSD-4-CLAUSE');
  add('Apache-2.0', 'APACHE', 'APACHE 2.0', 'APACHE2', 'APACHE-2');
  add('Ruby', 'RUBY');
  add('Zlib', 'ZLIB');
  add('Unlicense', 'PUBLIC DOMAIN');
  return m;
})();

export function composerLicenses(names: readonly string[]): string[] {
  return splitLicenseField(names.join(', ')).map((n) => NORMALIZE[n.toUpperCase()] ?? n);
}

export interface ComposerPackage {
  name: string;
  version: string;
  licenses: string[];
}

export class ComposerLockError extends Error {}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(text: string, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new ComposerLockError(`not JSON (${(err as Error).message})`);
  }
  if (!isObj(doc)) throw new ComposerLockError(`${what} is not a JSON object`);
  return doc;
}

/** The `packages` of a composer.lock, one per name (the last). */
export function parseComposerLock(text: string): ComposerPackage[] {
  const doc = parseJson(text, 'composer.lock');
  const list = doc['packages'];
  if (list !== undefined && list !== null && !Array.isArray(list)) throw new ComposerLockError('"packages" is not an array');
  const out = new Map<string, ComposerPackage>();
  for (const p of list ?? []) {
    if (!isObj(p) || typeof p['name'] !== 'string' || p['name'] === '') continue;
    const version = typeof p['version'] === 'string' ? p['version'] : '';
    const lic = Array.isArray(p['license']) ? p['license'].filter((l): l is string => typeof l === 'string') : typeof p['license'] === 'string' ? [p['license']] : [];
    out.delete(p['name']);
    out.set(p['name'], { name: p['name'], version, licenses: composerLicenses(lic) });
  }
  return [...out.values()];
}

/** Names in a composer.json's `require` (not `require-dev`, as Trivy). */
export function composerJsonRequire(text: string): Set<string> {
  const req = parseJson(text, 'composer.json')['require'];
  return new Set(isObj(req) ? Object.keys(req) : []);
}

/** Keep only the `require` names of a composer.json (vendor/ holds one per package); not JSON → as is. */
export function condenseComposerJson(content: Buffer): Buffer {
  try {
    const req = parseJson(content.toString('utf8'), 'composer.json')['require'];
    return Buffer.from(JSON.stringify(isObj(req) ? { require: Object.fromEntries(Object.keys(req).map((k) => [k, ''])) } : {}));
  } catch {
    return content;
  }
}

function lockPackages(fs: ReadonlyFs, file: FsFile, ctx: CatalogContext): Package[] {
  const pkgs = parseComposerLock(file.content.toString('utf8'));
  let direct: Set<string> | undefined;
  const manifest = fs.get(join(dirOf(file.path), COMPOSER_JSON));
  if (manifest) {
    try {
      direct = composerJsonRequire(manifest.content.toString('utf8'));
    } catch (err) {
      ctx.notes.push(`composer: /${manifest.path} could not be read (${describeError(err)}); direct and indirect dependencies of /${file.path} are not told apart`);
    }
  }
  return pkgs.map((c) => {
    const p: Package = {
      type: 'composer',
      name: c.name,
      version: c.version,
      purl: composerPurl(c.name, c.version),
      locations: [file.layer ? { path: file.path, layer: file.layer } : { path: file.path }],
      filePath: file.path,
      relationship: direct ? (direct.has(c.name) ? 'direct' : 'indirect') : 'unknown',
    };
    if (c.licenses.length) p.licenses = c.licenses;
    return p;
  });
}

export function catalogComposer(fs: ReadonlyFs, ctx: CatalogContext): Package[] {
  const out: Package[] = [];
  for (const f of withoutAliases(fs.files())) {
    if (base(f.path) !== COMPOSER_LOCK) continue;
    try {
      out.push(...lockPackages(fs, f, ctx));
    } catch (err) {
      ctx.notes.push(`composer: /${f.path} could not be read (${describeError(err)}); its packages are missing`);
    }
  }
  return out;
}

export const composerCataloger: Cataloger = {
  id: 'composer',
  version: 1,
  kind: 'lang',
  types: ['composer'],
  wants: (f) => {
    const b = base(f.path);
    return b === COMPOSER_LOCK || b === COMPOSER_JSON;
  },
  condense: (path, content) => (base(path) === COMPOSER_JSON ? condenseComposerJson(content) : content),
  maxFileSize: 32 * 1024 * 1024,
  catalog: catalogComposer,
};
