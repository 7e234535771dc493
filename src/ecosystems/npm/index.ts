/**
 * npm packages. Installed (`node-pkg`): every package.json with a name and a version, as Trivy
 * reads them in images — node_modules at any depth, scoped packages, global installs — except
 * those an OS package owns (Debian's node-* under usr/share/nodejs). Lock files (`npm`:
 * package-lock.json v1–v3): in a project directory always (node_modules below it then only gives
 * licenses); in an image only where the directory holds no node_modules, because what a later
 * layer deleted or replaced is still in the lock. See ../python/mode.ts. yarn.lock (`yarn`, v1 and
 * Berry) and pnpm-lock.yaml (`pnpm`, v5, v6, v9) follow the same rules.
 */
import type { FsFile, Package, ReadonlyFs } from '../../domain/index.ts';
import { describeError } from '../../shared/errors.ts';
import type { Cataloger, CatalogContext } from '../types.ts';
import { makePurl } from '../os/purl.ts';
import { withoutAliases } from '../python/aliases.ts';
import { langMode } from '../python/mode.ts';
import { condenseDpkgList, isDpkgListFile, systemFiles } from '../python/system-files.ts';
import { parsePackageLock, condensePackageLock, type LockPackage } from './package-lock.ts';
import { condensePackageJson, parsePackageJson, type PackageJson } from './package-json.ts';
import { parsePnpmLock } from './pnpm.ts';
import { parseYarnLock } from './yarn.ts';
import { dirOf, inNodeModules, isPackageJson, jsLockKind, type JsLockKind } from './paths.ts';

const join = (dir: string, name: string): string => (dir ? `${dir}/${name}` : name);

/** `pkg:npm/%40scope/name@1.0.0` */
export function npmPurl(name: string, version: string): string {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  return slash > 0
    ? makePurl('npm', name.slice(0, slash), name.slice(slash + 1), version, {})
    : makePurl('npm', undefined, name, version, {});
}

const loc = (f: FsFile): Package['locations'] => [f.layer ? { path: f.path, layer: f.layer } : { path: f.path }];

interface Installed {
  file: FsFile;
  name: string;
  version: string;
  licenses: string[];
}

/** package.json files with a name and a version; those an OS package owns are left out. */
function readInstalled(fs: ReadonlyFs): Installed[] {
  const out: Installed[] = [];
  for (const f of withoutAliases(fs.files(), systemFiles(fs))) {
    if (!isPackageJson(f.path)) continue;
    const p = parsePackageJson(f.content.toString('utf8'));
    if (p?.name && p.version) out.push({ file: f, name: p.name, version: p.version, licenses: p.licenses });
  }
  return out;
}

function hasNodeModules(fs: ReadonlyFs, dir: string): boolean {
  for (const _ of fs.under(join(dir, 'node_modules'))) return true;
  return false;
}

type LockParser = (text: string, manifest: PackageJson | undefined) => LockPackage[];
const LOCK_PARSERS: Record<JsLockKind, LockParser> = {
  npm: (text) => parsePackageLock(text),
  yarn: (text, manifest) => parseYarnLock(text, manifest),
  pnpm: (text) => parsePnpmLock(text),
};

function lockToPackages(kind: JsLockKind, file: FsFile, found: LockPackage[], licenses: Map<string, string[]>): Package[] {
  return found.map((l) => {
    const p: Package = { type: kind, name: l.name, version: l.version, purl: npmPurl(l.name, l.version), locations: loc(file), filePath: file.path, dev: l.dev, relationship: l.relationship };
    const lic = licenses.get(`${l.name}@${l.version}`);
    if (lic?.length) p.licenses = lic;
    return p;
  });
}

export function catalogNpm(fs: ReadonlyFs, ctx: CatalogContext): Package[] {
  const project = langMode(ctx) === 'project';
  const installed = readInstalled(fs);
  const out: Package[] = [];
  /** Directories whose node_modules a lock file stands for. */
  const lockDirs: string[] = [];
  for (const f of withoutAliases(fs.files())) {
    const kind = jsLockKind(f.path);
    if (!kind) continue;
    const dir = dirOf(f.path);
    if (!project && hasNodeModules(fs, dir)) continue;
    const manifestFile = fs.get(join(dir, 'package.json'));
    const manifest = manifestFile ? parsePackageJson(manifestFile.content.toString('utf8')) : undefined;
    let found: LockPackage[];
    try {
      found = LOCK_PARSERS[kind](f.content.toString('utf8'), manifest);
    } catch (err) {
      ctx.notes.push(`npm: /${f.path} could not be read (${describeError(err)}); its packages are missing`);
      continue;
    }
    lockDirs.push(dir);
    const nm = `${join(dir, 'node_modules')}/`;
    const licenses = new Map<string, string[]>();
    for (const i of installed) if (i.file.path.startsWith(nm) && i.licenses.length) licenses.set(`${i.name}@${i.version}`, i.licenses);
    out.push(...lockToPackages(kind, f, found, licenses));
  }
  for (const i of installed) {
    if (project) {
      // the project's own manifest is not a dependency; a lock stands for node_modules below it
      if (!inNodeModules(i.file.path)) continue;
      if (lockDirs.some((d) => i.file.path.startsWith(`${join(d, 'node_modules')}/`))) continue;
    }
    const p: Package = { type: 'node-pkg', name: i.name, version: i.version, purl: npmPurl(i.name, i.version), locations: loc(i.file), filePath: i.file.path };
    if (i.licenses.length) p.licenses = i.licenses;
    out.push(p);
  }
  return out;
}

export const npmCataloger: Cataloger = {
  id: 'npm',
  version: 1,
  kind: 'lang',
  types: ['node-pkg', 'npm', 'yarn', 'pnpm'],
  wants: (f) => isPackageJson(f.path) || jsLockKind(f.path) !== undefined || isDpkgListFile(f.path),
  condense(path, content) {
    if (isPackageJson(path)) return condensePackageJson(path, content);
    if (jsLockKind(path) === 'npm') return condensePackageLock(content);
    if (isDpkgListFile(path)) return condenseDpkgList(content);
    return content;
  },
  maxFileSize: 64 * 1024 * 1024,
  catalog: catalogNpm,
};
