/**
 * Swift / Objective-C CocoaPods: Podfile.lock (`cocoapods`), as Trivy 0.44 reads it: each entry of
 * the `PODS:` list, `Name (version)` — subspecs (`AppCenter/Core (4.2.0)`) are packages of their
 * own, the indented lines under an entry are its dependencies, not packages. One package per name.
 * The purl puts a subspec in the subpath (`pkg:cocoapods/AppCenter@4.2.0#Core`), as the purl spec
 * and Trivy do. Trivy 0.44 lists these packages but matches no advisories for them. Project
 * directories only (see ../lockfile.ts).
 */
import { parse } from 'yaml';
import { makePurl } from '../os/purl.ts';
import { lockFileCataloger, type LockEntry } from '../lockfile.ts';

export const PODFILE_LOCK = 'Podfile.lock';

export function cocoapodsPurl(name: string, version: string): string {
  const slash = name.indexOf('/');
  const base = slash < 0 ? name : name.slice(0, slash);
  const subpath = slash < 0 ? undefined : name.slice(slash + 1);
  const purl = makePurl('cocoapods', undefined, base, version, {});
  return subpath ? `${purl}#${subpath.split('/').map(encodeURIComponent).join('/')}` : purl;
}

/** `AppCenter (4.2.0)` → name and version; anything else (no ` (`, or more than one) is skipped. */
function parsePod(s: string): LockEntry | undefined {
  const parts = s.split(' (');
  if (parts.length !== 2) return undefined;
  return { name: parts[0] as string, version: (parts[1] as string).trim().replace(/^[()]+|[()]+$/g, '') };
}

export function parsePodfileLock(text: string): LockEntry[] {
  const doc: unknown = parse(text, { schema: 'failsafe' });
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    if (doc === null || doc === undefined || doc === '') return [];
    throw new Error('not a YAML mapping');
  }
  const pods = (doc as Record<string, unknown>)['PODS'];
  if (pods === undefined || pods === null || pods === '') return [];
  if (!Array.isArray(pods)) throw new Error('PODS: is not a list');
  const byName = new Map<string, LockEntry>();
  const add = (s: string): void => {
    const e = parsePod(s);
    if (e) byName.set(e.name, e);
  };
  for (const pod of pods as unknown[]) {
    if (typeof pod === 'string') add(pod);
    else if (typeof pod === 'object' && pod !== null && !Array.isArray(pod)) {
      for (const [dep, children] of Object.entries(pod as Record<string, unknown>)) {
        add(dep);
        if (!Array.isArray(children) || !children.every((c) => typeof c === 'string')) {
          throw new Error(`PODS: the dependencies of ${JSON.stringify(dep)} are not a list of strings`);
        }
      }
    }
  }
  return [...byName.values()];
}

export const cocoapodsCataloger = lockFileCataloger({
  id: 'cocoapods',
  version: 1,
  type: 'cocoapods',
  basename: PODFILE_LOCK,
  maxFileSize: 16 * 1024 * 1024,
  parse: parsePodfileLock,
  purl: cocoapodsPurl,
});
