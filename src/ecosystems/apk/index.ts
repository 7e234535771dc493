/**
 * apk installed database (`lib/apk/db/installed`, or `usr/lib/apk/db/installed` on merged-/usr
 * images such as Wolfi and Chainguard when no `lib` symlink leads there): one stanza per package,
 * `X:value` lines, stanzas separated by blank lines. https://wiki.alpinelinux.org/wiki/Apk_spec
 */
import type { OsInfo, Package } from '../../domain/index.ts';
import type { Cataloger } from '../types.ts';
import { splitLicenses } from '../os/licenses.ts';
import { distroQualifier, makePurl, purlNamespace } from '../os/purl.ts';

export const APK_DB = 'lib/apk/db/installed';
/** Both places apk keeps its database; the first wins where the same package is in both. */
export const APK_DBS = [APK_DB, 'usr/lib/apk/db/installed'] as const;
const APK_DB_SET = new Set<string>(APK_DBS);

export interface ApkRecord {
  name: string;
  version: string;
  origin?: string;
  arch?: string;
  license?: string;
  maintainer?: string;
}

/**
 * Parse the database text. Stanzas without P: or V: are skipped (as apk and Trivy do); a package
 * listed twice is reported once, its first stanza (Trivy's uniquePkgs).
 */
export function parseApkInstalled(text: string): ApkRecord[] {
  const out: ApkRecord[] = [];
  let cur: Partial<ApkRecord> = {};
  const seen = new Set<string>();
  const flush = (): void => {
    if (cur.name && cur.version && !seen.has(cur.name)) {
      seen.add(cur.name);
      out.push(cur as ApkRecord);
    }
    cur = {};
  };
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') {
      flush();
      continue;
    }
    if (line[1] !== ':') continue;
    const value = line.slice(2);
    switch (line[0]) {
      case 'P':
        cur.name = value;
        break;
      case 'V':
        cur.version = value;
        break;
      case 'o':
        cur.origin = value;
        break;
      case 'A':
        cur.arch = value;
        break;
      case 'L':
        cur.license = value;
        break;
      case 'm':
        cur.maintainer = value;
        break;
      default:
    }
  }
  flush();
  return out;
}

export function toApkPackage(r: ApkRecord, os: OsInfo | undefined, layer: string | undefined, path: string = APK_DB): Package {
  const pkg: Package = {
    type: 'apk',
    name: r.name,
    version: r.version,
    purl: makePurl('apk', purlNamespace(os, 'alpine'), r.name, r.version, {
      arch: r.arch,
      distro: distroQualifier(os, 'apk'),
    }),
    locations: [layer ? { path, layer } : { path }],
  };
  if (r.origin) pkg.source = { name: r.origin, version: r.version };
  if (r.arch) pkg.arch = r.arch;
  const licenses = r.license ? splitLicenses(r.license) : [];
  if (licenses.length) pkg.licenses = licenses;
  if (r.maintainer) pkg.extra = { maintainer: r.maintainer };
  return pkg;
}

export const apkCataloger: Cataloger = {
  id: 'apk',
  version: 2, // 2: usr/lib/apk/db/installed, duplicate stanzas folded, 'MPL 2.0' licenses
  kind: 'os',
  types: ['apk'],
  wants: (f) => APK_DB_SET.has(f.path),
  maxFileSize: 64 * 1024 * 1024,
  catalog(fs, ctx) {
    const out: Package[] = [];
    const seen = new Set<string>();
    const done = new Set<Buffer>();
    for (const path of APK_DBS) {
      const f = fs.get(path);
      // the same file reached through the lib → usr/lib symlink is read once
      if (!f || done.has(f.content)) continue;
      done.add(f.content);
      for (const r of parseApkInstalled(f.content.toString('utf8'))) {
        if (seen.has(r.name)) continue;
        seen.add(r.name);
        out.push(toApkPackage(r, ctx.os, f.layer, f.path));
      }
    }
    return out;
  },
};
