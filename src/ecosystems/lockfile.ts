/**
 * A cataloger for one lock-file format that needs nothing but the file itself (pubspec.lock,
 * mix.lock, conan.lock, Podfile.lock). Trivy 0.44 counts these as lock files: it reads them when
 * scanning a project directory (`fs`, `repo`) and never in an image or an OS root filesystem (see
 * python/mode.ts). Each file is one result group (Trivy's Target = its path); a file that does not
 * parse becomes a note and the other files still count.
 */
import type { FsFile, Package, PackageType, ReadonlyFs } from '../domain/index.ts';
import { describeError } from '../shared/errors.ts';
import type { Cataloger, CatalogContext } from './types.ts';
import { withoutAliases } from './python/aliases.ts';
import { langMode } from './python/mode.ts';

/** What a parser finds: one entry per package Trivy reports. */
export interface LockEntry {
  name: string;
  version: string;
  relationship?: Package['relationship'];
}

export interface LockFileSpec {
  id: string;
  version: number;
  type: PackageType;
  /** The lock file's exact base name. */
  basename: string;
  maxFileSize: number;
  /** Throws on a file it cannot read. */
  parse(text: string): LockEntry[];
  purl(name: string, version: string): string;
}

const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

function toPackage(spec: LockFileSpec, file: FsFile, e: LockEntry): Package {
  const p: Package = {
    type: spec.type,
    name: e.name,
    version: e.version,
    purl: spec.purl(e.name, e.version),
    locations: [file.layer ? { path: file.path, layer: file.layer } : { path: file.path }],
    filePath: file.path,
  };
  if (e.relationship) p.relationship = e.relationship;
  return p;
}

export function lockFileCataloger(spec: LockFileSpec): Cataloger {
  const catalog = (fs: ReadonlyFs, ctx: CatalogContext): Package[] => {
    if (langMode(ctx) !== 'project') return [];
    const out: Package[] = [];
    for (const f of withoutAliases(fs.files())) {
      if (baseName(f.path) !== spec.basename) continue;
      let found: LockEntry[];
      try {
        found = spec.parse(f.content.toString('utf8'));
      } catch (err) {
        ctx.notes.push(`${spec.id}: /${f.path} could not be read (${describeError(err)}); its packages are missing`);
        continue;
      }
      for (const e of found) out.push(toPackage(spec, f, e));
    }
    return out;
  };
  return {
    id: spec.id,
    version: spec.version,
    kind: 'lang',
    types: [spec.type],
    wants: (f) => f.path.endsWith(spec.basename) && baseName(f.path) === spec.basename,
    maxFileSize: spec.maxFileSize,
    catalog,
  };
}
