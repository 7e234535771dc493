/**
 * Gradle: dependency lock files (`gradle`, purl pkg:maven/GROUP/ARTIFACT@VER), any file whose
 * name ends in `gradle.lockfile` (gradle.lockfile, buildscript-gradle.lockfile), in project
 * directories only — Trivy 0.44 reads them in `fs`/`repo` and not in `image`/`rootfs` (see
 * ../python/mode.ts). Trivy's rules, line by line: trimmed, `#` comments skipped, split at `:`
 * into exactly three parts `group:artifact:version[=configurations]`, the version cut at the
 * first `=` (it may end up empty; inner spaces are kept), one package per name@version. The lock
 * file says nothing about direct dependencies: relationship unknown.
 */
import type { Cataloger } from '../types.ts';
import { mavenPurl } from '../java/index.ts';
import { lockFileCataloger } from '../lockfile.ts';

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

export const gradleCataloger: Cataloger = lockFileCataloger({
  id: 'gradle',
  version: 1,
  type: 'gradle',
  matches: isGradleLockfile,
  maxFileSize: 32 * 1024 * 1024,
  parse: (text) => parseGradleLockfile(text).map((d) => ({ name: d.name, version: d.version, dev: false, relationship: 'unknown' })),
  purl: mavenPurl,
});
