/**
 * Gradle: dependency lock files (`gradle`, purl pkg:maven/GROUP/ARTIFACT@VER), any file whose
 * name ends in `gradle.lockfile` (gradle.lockfile, buildscript-gradle.lockfile), in project
 * directories only — Trivy 0.44 reads them in `fs`/`repo` and not in `image`/`rootfs` (see
 * ../python/mode.ts). Trivy's rules, line by line: trimmed, `#` comments skipped, split at `:`
 * into exactly three parts `group:artifact:version[=configurations]`, the version cut at the
 * first `=` (it may end up empty; inner spaces are kept), one package per name@version. The lock
 * file says nothing about direct dependencies: relationship unknown.
 */
import type { FsFile, Package, ReadonlyFs } from '../../domain/index.ts';
import type { Cataloger, CatalogContext } from '../types.ts';
import { mavenPurl } from '../java/index.ts';
import { withoutAliases } from '../python/aliases.ts';
import { langMode } from '../python/mode.ts';

export interface GradleDep {
  name: string;
  version: string;
}

export function isGradleLockfile(path: string): boolean {
  return path.endsWith('gradle.lockfile');
}

export function parseGradleLockfile(text: string): GradleDep[] {
  const out = new Map<string, GradleDep>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    const parts = line.split(':');
    if (parts.length !== 3) continue;
    const name = `${parts[0]}:${parts[1]}`;
    const version = (parts[2] as string).split('=')[0] as string;
    out.set(`${name}@${version}`, { name, version });
  }
  return [...out.values()];
}

function toPackages(file: FsFile, deps: GradleDep[]): Package[] {
  return deps.map((d) => ({
    type: 'gradle',
    name: d.name,
    version: d.version,
    purl: mavenPurl(d.name, d.version),
    locations: [file.layer ? { path: file.path, layer: file.layer } : { path: file.path }],
    filePath: file.path,
    dev: false,
    relationship: 'unknown',
  }));
}

export function catalogGradle(fs: ReadonlyFs, ctx: CatalogContext): Package[] {
  if (langMode(ctx) !== 'project') return [];
  const out: Package[] = [];
  for (const f of withoutAliases(fs.files())) if (isGradleLockfile(f.path)) out.push(...toPackages(f, parseGradleLockfile(f.content.toString('utf8'))));
  return out;
}

export const gradleCataloger: Cataloger = {
  id: 'gradle',
  version: 1,
  kind: 'lang',
  types: ['gradle'],
  wants: (f) => isGradleLockfile(f.path),
  maxFileSize: 32 * 1024 * 1024,
  catalog: catalogGradle,
};
