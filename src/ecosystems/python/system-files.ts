/**
 * Files the OS package manager installed. Trivy drops a language package whose metadata file (or Go
 * binary) an OS package owns — Debian's python3-yaml ships
 * `usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA`; its version is the distro's and the
 * distro already reports it as a deb with the distro's own fixes. Sources, as Trivy reads them:
 *  - dpkg: `var/lib/dpkg/info/<pkg>.list` (one absolute path per line);
 *  - apk: the `F:` (directory) and `R:` (file) lines of `lib/apk/db/installed`;
 *  - rpm: the file lists of the rpmdb's package headers (rpm-files.ts);
 *  - the three python2.7 egg-info files Debian's distroless images carry without any .list file.
 * `.list` files are big (tens of thousands of lines): `condenseDpkgList` keeps only the lines a
 * language cataloger could ever ask about, right when the file is read.
 */
import type { ReadonlyFs } from '../../domain/index.ts';
import { mayBeGoBinary } from '../gobinary/paths.ts';
import { isPackageJson } from '../npm/paths.ts';
import { isEggFile, isPythonMetadata } from './paths.ts';
import { rpmOwnedFiles } from './rpm-files.ts';

export const DPKG_INFO_DIR = 'var/lib/dpkg/info';
const DPKG_INFO = `${DPKG_INFO_DIR}/`;
const APK_DBS = ['lib/apk/db/installed', 'usr/lib/apk/db/installed'] as const;

/** Trivy's hard-coded system files (distroless removes dpkg's .list files). */
const DEFAULT_SYSTEM_FILES = [
  'usr/lib/python2.7/argparse.egg-info',
  'usr/lib/python2.7/lib-dynload/Python-2.7.egg-info',
  'usr/lib/python2.7/wsgiref.egg-info',
];

export function isDpkgListFile(path: string): boolean {
  return path.startsWith(DPKG_INFO) && path.endsWith('.list') && path.indexOf('/', DPKG_INFO.length) < 0;
}

/** Would any language cataloger ask whether this (slash-less) path is OS-owned? */
function relevant(path: string): boolean {
  return isPythonMetadata(path) || isEggFile(path) || isPackageJson(path) || mayBeGoBinary(path);
}

/** Keep the lines of a dpkg .list file that name a file some language cataloger may report. */
export function condenseDpkgList(content: Buffer): Buffer {
  const keep: string[] = [];
  for (const raw of content.toString('utf8').split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length < 2 || line[0] !== '/') continue;
    if (relevant(line.slice(1))) keep.push(line);
  }
  return Buffer.from(keep.join('\n'));
}

/** usr-merged systems list /bin/x while the file sits at usr/bin/x (and the other way round). */
function usrAlias(path: string): string | undefined {
  if (path.startsWith('usr/')) {
    for (const d of ['bin/', 'sbin/', 'lib/', 'lib64/', 'lib32/']) if (path.startsWith(d, 4)) return path.slice(4);
    return undefined;
  }
  for (const d of ['bin/', 'sbin/', 'lib/', 'lib64/', 'lib32/']) if (path.startsWith(d)) return `usr/${path}`;
  return undefined;
}

export interface SystemFiles {
  /** Number of paths known to belong to OS packages. */
  readonly size: number;
  /** Does an OS package own this path (no leading slash)? */
  owns(path: string): boolean;
}

const cache = new WeakMap<ReadonlyFs, SystemFiles>();

function collect(fs: ReadonlyFs): SystemFiles {
  const owned = new Set<string>(DEFAULT_SYSTEM_FILES);
  for (const f of fs.under(DPKG_INFO_DIR)) {
    if (!isDpkgListFile(f.path)) continue;
    for (const raw of f.content.toString('utf8').split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.length > 1 && line[0] === '/') owned.add(line.slice(1));
    }
  }
  for (const apk of APK_DBS.map((p) => fs.get(p))) {
    if (!apk) continue;
    let dir = '';
    for (const line of apk.content.toString('utf8').split('\n')) {
      if (line.startsWith('F:')) dir = line.slice(2).replace(/^\/+|\/+$/g, '');
      else if (line.startsWith('R:')) owned.add(dir ? `${dir}/${line.slice(2)}` : line.slice(2));
      else if (line === '') dir = '';
    }
  }
  for (const p of rpmOwnedFiles(fs, relevant)) owned.add(p);
  return {
    size: owned.size,
    owns(path: string): boolean {
      if (owned.has(path)) return true;
      const alias = usrAlias(path);
      return alias !== undefined && owned.has(alias);
    },
  };
}

/** The OS-owned files of this filesystem (computed once per fs, shared by the language catalogers). */
export function systemFiles(fs: ReadonlyFs): SystemFiles {
  let s = cache.get(fs);
  if (!s) {
    s = collect(fs);
    cache.set(fs, s);
  }
  return s;
}
