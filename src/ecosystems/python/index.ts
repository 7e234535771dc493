/**
 * Python packages. Installed distributions (`python-pkg`): `*.dist-info/METADATA`,
 * `*.egg-info/PKG-INFO`, `EGG-INFO/PKG-INFO`, `*.egg-info` files and zipped `*.egg` files (their
 * EGG-INFO/PKG-INFO, see egg.ts), except those an OS package
 * owns (see system-files.ts). Lock files, in project directories only (see mode.ts):
 * requirements.txt (`pip`), poetry.lock (`poetry`, with pyproject.toml for direct dependencies),
 * Pipfile.lock (`pipenv`).
 */
import type { FsFile, Package, PackageType, ReadonlyFs } from '../../domain/index.ts';
import { describeError } from '../../shared/errors.ts';
import type { Cataloger, CatalogContext } from '../types.ts';
import { makePurl } from '../os/purl.ts';
import { withoutAliases } from './aliases.ts';
import { eggMetadata, isEggFile } from './egg.ts';
import { condenseMetadata, parseMetadata } from './metadata.ts';
import { langMode } from './mode.ts';
import { isPythonMetadata, pythonLockKind, PYPROJECT } from './paths.ts';
import { parsePipfileLock } from './pipenv.ts';
import { parsePoetryLock, pep503, pyprojectDirectDeps } from './poetry.ts';
import { decodeRequirements, parseRequirements } from './requirements.ts';
import { condenseDpkgList, isDpkgListFile, systemFiles } from './system-files.ts';

export { pep503 };

const dirOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const join = (dir: string, name: string): string => (dir ? `${dir}/${name}` : name);

export function pypiPurl(name: string, version: string): string {
  return makePurl('pypi', undefined, pep503(name), version, {});
}

function pkg(type: PackageType, name: string, version: string, file: FsFile): Package {
  return {
    type,
    name,
    version,
    purl: pypiPurl(name, version),
    locations: [file.layer ? { path: file.path, layer: file.layer } : { path: file.path }],
    filePath: file.path,
  };
}

function installed(file: FsFile): Package | undefined {
  const content = isEggFile(file.path) ? eggMetadata(file.content) : file.content;
  if (!content) return undefined;
  const meta = parseMetadata(content.toString('utf8'));
  if (!meta) return undefined;
  const p = pkg('python-pkg', meta.name, meta.version, file);
  if (meta.licenses.length) p.licenses = meta.licenses;
  return p;
}

function poetry(fs: ReadonlyFs, file: FsFile): Package[] {
  const pkgs = parsePoetryLock(file.content.toString('utf8'));
  const pyproject = fs.get(join(dirOf(file.path), PYPROJECT));
  let direct: Set<string> | undefined;
  if (pyproject) {
    try {
      direct = pyprojectDirectDeps(pyproject.content.toString('utf8'));
    } catch {
      direct = undefined; // relationships stay unknown; the lock itself is fine
    }
  }
  return pkgs.map((x) => {
    const p = pkg('poetry', x.name, x.version, file);
    p.dev = x.dev;
    p.relationship = direct ? (direct.has(pep503(x.name)) ? 'direct' : 'indirect') : 'unknown';
    return p;
  });
}

function lockPackages(fs: ReadonlyFs, file: FsFile, kind: 'pip' | 'poetry' | 'pipenv'): Package[] {
  switch (kind) {
    case 'pip':
      return parseRequirements(decodeRequirements(file.content)).map((r) => pkg('pip', r.name, r.version, file));
    case 'pipenv':
      return parsePipfileLock(file.content.toString('utf8')).map((r) => {
        const p = pkg('pipenv', r.name, r.version, file);
        p.dev = r.dev;
        return p;
      });
    case 'poetry':
      return poetry(fs, file);
  }
}

export function catalogPython(fs: ReadonlyFs, ctx: CatalogContext): Package[] {
  const project = langMode(ctx) === 'project';
  const owned = systemFiles(fs);
  const out: Package[] = [];
  for (const f of withoutAliases(fs.files(), owned)) {
    if (isPythonMetadata(f.path) || isEggFile(f.path)) {
      const p = installed(f);
      if (p) out.push(p);
      continue;
    }
    const kind = pythonLockKind(f.path);
    if (!project || kind === undefined || kind === 'pyproject') continue;
    try {
      out.push(...lockPackages(fs, f, kind));
    } catch (err) {
      ctx.notes.push(`python: /${f.path} could not be read (${describeError(err)}); its packages are missing`);
    }
  }
  return out;
}

export const pythonCataloger: Cataloger = {
  id: 'python',
  version: 2, // 2: zipped eggs
  kind: 'lang',
  types: ['python-pkg', 'pip', 'poetry', 'pipenv'],
  wants: (f) => isPythonMetadata(f.path) || isEggFile(f.path) || pythonLockKind(f.path) !== undefined || isDpkgListFile(f.path),
  condense(path, content) {
    if (isDpkgListFile(path)) return condenseDpkgList(content);
    if (isPythonMetadata(path)) return condenseMetadata(content);
    if (isEggFile(path)) return eggMetadata(content);
    return content;
  },
  maxFileSize: 32 * 1024 * 1024,
  catalog: catalogPython,
};
