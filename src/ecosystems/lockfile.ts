/**
 * A cataloger for one lock-file format that needs nothing but the file itself (pubspec.lock,
 * mix.lock, conan.lock, Podfile.lock, Gemfile.lock, gradle.lockfile, NuGet's packages.lock.json and
 * packages.config). Trivy 0.44 reads most of these only when scanning a project directory (`fs`,
 * `repo`), never in an image or an OS root filesystem (see python/mode.ts); NuGet's everywhere
 * (`everywhere`). Each file is one result group (Trivy's Target = its path); a file that does not
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
  dev?: boolean;
}

export interface LockFileSpec {
  id: string;
  version: number;
  type: PackageType;
  /** The lock file's exact base name, or `matches` for another rule (a cheap test of the path). */
  basename?: string;
  matches?: (path: string) => boolean;
  /** Read in images and OS root filesystems too (default: project directories only). */
  everywhere?: boolean;
  maxFileSize: number;
  /** Throws on a file it cannot read. */
  parse(text: string, path: string): LockEntry[];
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
  if (e.dev !== undefined) p.dev = e.dev;
  if (e.relationship) p.relationship = e.relationship;
  return p;
}

export function lockFileCataloger(spec: LockFileSpec): Cataloger {
  const { basename } = spec;
  const matches = spec.matches ?? ((p: string): boolean => basename !== undefined && p.endsWith(basename) && baseName(p) === basename);
  const catalog = (fs: ReadonlyFs, ctx: CatalogContext): Package[] => {
    if (!spec.everywhere && langMode(ctx) !== 'project') return [];
    const out: Package[] = [];
    for (const f of withoutAliases(fs.files())) {
      if (!matches(f.path)) continue;
      let found: LockEntry[];
      try {
        found = spec.parse(f.content.toString('utf8'), f.path);
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
    wants: (f) => matches(f.path),
    maxFileSize: spec.maxFileSize,
    catalog,
  };
}
