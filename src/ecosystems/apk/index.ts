/**
 * apk installed database (`lib/apk/db/installed`): one stanza per package, `X:value` lines,
 * stanzas separated by blank lines. https://wiki.alpinelinux.org/wiki/Apk_spec
 */
import type { OsInfo, Package } from '../../domain/index.ts';
import type { Cataloger } from '../types.ts';
import { splitLicenses } from '../os/licenses.ts';
import { distroQualifier, makePurl, purlNamespace } from '../os/purl.ts';

export const APK_DB = 'lib/apk/db/installed';

export interface ApkRecord {
  name: string;
  version: string;
  origin?: string;
  arch?: string;
  license?: string;
  maintainer?: string;
}

/** Parse the database text. Stanzas without P: or V: are skipped (as apk and Trivy do). */
export function parseApkInstalled(text: string): ApkRecord[] {
  const out: ApkRecord[] = [];
  let cur: Partial<ApkRecord> = {};
  const flush = (): void => {
    if (cur.name && cur.version) out.push(cur as ApkRecord);
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

export function toApkPackage(r: ApkRecord, os: OsInfo | undefined, layer: string | undefined): Package {
  const pkg: Package = {
    type: 'apk',
    name: r.name,
    version: r.version,
    purl: makePurl('apk', purlNamespace(os, 'alpine'), r.name, r.version, {
      arch: r.arch,
      distro: distroQualifier(os, 'apk'),
    }),
    locations: [layer ? { path: APK_DB, layer } : { path: APK_DB }],
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
  version: 1,
  kind: 'os',
  types: ['apk'],
  wants: (f) => f.path === APK_DB,
  maxFileSize: 64 * 1024 * 1024,
  catalog(fs, ctx) {
    const f = fs.get(APK_DB);
    if (!f) return [];
    return parseApkInstalled(f.content.toString('utf8')).map((r) => toApkPackage(r, ctx.os, f.layer));
  },
};
