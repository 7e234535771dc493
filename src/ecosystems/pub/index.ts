/**
 * Dart / Flutter pub: pubspec.lock (`pub`), as Trivy 0.44 reads it: every entry of `packages:`,
 * whatever its source (hosted, git, path, sdk — an sdk package keeps the lock's "0.0.0"; one
 * without a version is kept with an empty version), named by its key. `dependency: transitive`
 * is indirect, `direct main` / `direct dev` / `direct overridden` direct. Trivy does not flag dev
 * dependencies (a transitive one cannot be told apart), and neither does this. Project
 * directories only (see ../lockfile.ts).
 */
import { parse } from 'yaml';
import { makePurl } from '../os/purl.ts';
import { lockFileCataloger, type LockEntry } from '../lockfile.ts';

export const PUBSPEC_LOCK = 'pubspec.lock';

export function pubPurl(name: string, version: string): string {
  return makePurl('pub', undefined, name, version, {});
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Scalars only, as Go's yaml decoding into a string field: a mapping or list there fails the file. */
function scalar(v: unknown, what: string): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string') throw new Error(`${what} is not a string`);
  return v;
}

export function parsePubspecLock(text: string): LockEntry[] {
  // failsafe: every scalar stays the string it was written as ("1.10" is not the number 1.1)
  const doc: unknown = parse(text, { schema: 'failsafe' });
  if (doc === null || doc === undefined || doc === '') return [];
  if (!isMap(doc)) throw new Error('not a YAML mapping');
  const pkgs = doc['packages'];
  if (pkgs === undefined || pkgs === null || pkgs === '') return [];
  if (!isMap(pkgs)) throw new Error('packages: is not a mapping');
  const out: LockEntry[] = [];
  for (const [name, dep] of Object.entries(pkgs)) {
    if (dep !== '' && dep !== null && !isMap(dep)) throw new Error(`packages.${name} is not a mapping`);
    const d = isMap(dep) ? dep : {};
    const dependency = scalar(d['dependency'], `packages.${name}.dependency`);
    const version = scalar(d['version'], `packages.${name}.version`);
    const e: LockEntry = { name, version };
    if (dependency === 'transitive') e.relationship = 'indirect';
    else if (dependency.startsWith('direct')) e.relationship = 'direct';
    out.push(e);
  }
  return out;
}

export const pubCataloger = lockFileCataloger({
  id: 'pub',
  version: 1,
  type: 'pub',
  basename: PUBSPEC_LOCK,
  maxFileSize: 16 * 1024 * 1024,
  parse: parsePubspecLock,
  purl: pubPurl,
});
