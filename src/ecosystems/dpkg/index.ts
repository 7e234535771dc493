/**
 * dpkg status databases: `var/lib/dpkg/status` (full Debian/Ubuntu) and `var/lib/dpkg/status.d/<pkg>`
 * (distroless, one stanza file per package, no Status field). deb822 stanzas, `Key: value` fields,
 * continuation lines start with a space or tab.
 */
import type { FileHeader, FsFile, OsInfo, Package } from '../../domain/index.ts';
import type { Cataloger } from '../types.ts';
import { distroQualifier, makePurl, purlNamespace } from '../os/purl.ts';
import { condenseCopyright, copyrightPath, isCopyrightFile, parseCopyright } from './copyright.ts';

export const DPKG_STATUS = 'var/lib/dpkg/status';
export const DPKG_STATUS_D = 'var/lib/dpkg/status.d/';

/** Non-stanza files dpkg and distroless keep beside the stanza files in status.d. */
const INFO_SUFFIXES = [
  '.md5sums', '.conffiles', '.list', '.preinst', '.postinst', '.prerm', '.postrm', '.config',
  '.templates', '.triggers', '.shlibs', '.symbols', '.clilibs', '.sha256sums',
] as const;

export function isStatusFile(path: string): boolean {
  if (path === DPKG_STATUS) return true;
  if (!path.startsWith(DPKG_STATUS_D)) return false;
  const base = path.slice(DPKG_STATUS_D.length);
  if (!base || base.includes('/') || base.startsWith('.')) return false;
  for (const s of INFO_SUFFIXES) if (base.endsWith(s)) return false;
  return true;
}

export interface DpkgRecord {
  name: string;
  version: string;
  sourceName: string;
  sourceVersion: string;
  arch?: string;
  maintainer?: string;
  status?: string;
}

/** Only the fields we use are kept; the rest of a stanza is skipped without allocation. */
const FIELDS = new Set(['package', 'status', 'version', 'source', 'architecture', 'maintainer']);

/** Stanzas as lower-cased field → value maps (continuation lines of kept fields are appended). */
export function parseStanzas(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  let cur = new Map<string, string>();
  let last: string | undefined;
  let start = 0;
  const n = text.length;
  while (start <= n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') {
      if (cur.size) out.push(cur);
      cur = new Map();
      last = undefined;
      if (end === n) break;
      continue;
    }
    const c = line.charCodeAt(0);
    if (c === 32 || c === 9) {
      if (last) cur.set(last, `${cur.get(last) ?? ''}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      last = undefined;
      continue;
    }
    const key = line.slice(0, colon).toLowerCase();
    if (!FIELDS.has(key)) {
      last = undefined;
      continue;
    }
    cur.set(key, line.slice(colon + 1).trim());
    last = key;
    if (end === n) break;
  }
  if (cur.size) out.push(cur);
  return out;
}

/** `Status: want flag status`: installed when the third word is `installed`. */
export function isInstalled(status: string | undefined, inStatusD: boolean): boolean {
  if (status === undefined) return inStatusD;
  const words = status.trim().split(/\s+/);
  return words[2] === 'installed';
}

/** `Source: name (version)` → [name, version]; the binary's name/version when absent. */
export function parseSource(source: string | undefined, name: string, version: string): [string, string] {
  if (!source) return [name, version];
  const m = /^(\S+)(?:\s*\(([^)]*)\))?/.exec(source.trim());
  if (!m?.[1]) return [name, version];
  return [m[1], m[2]?.trim() || version];
}

export function parseDpkgStatus(text: string, inStatusD: boolean): DpkgRecord[] {
  const out: DpkgRecord[] = [];
  for (const st of parseStanzas(text)) {
    const name = st.get('package');
    const version = st.get('version');
    if (!name || !version) continue;
    const status = st.get('status');
    if (!isInstalled(status, inStatusD)) continue;
    const [sourceName, sourceVersion] = parseSource(st.get('source'), name, version);
    const r: DpkgRecord = { name, version, sourceName, sourceVersion };
    const arch = st.get('architecture');
    if (arch) r.arch = arch;
    const maintainer = st.get('maintainer');
    if (maintainer) r.maintainer = maintainer;
    if (status !== undefined) r.status = status;
    out.push(r);
  }
  return out;
}

/** '1:2.36-8' → [1, '2.36-8']; no epoch → [0, version]. */
export function splitEpoch(version: string): [number, string] {
  const m = /^(\d+):(.+)$/.exec(version);
  return m?.[1] && m[2] ? [Number(m[1]), m[2]] : [0, version];
}

export function toDpkgPackage(r: DpkgRecord, os: OsInfo | undefined, file: FsFile): Package {
  const [epoch, bare] = splitEpoch(r.version);
  const pkg: Package = {
    type: 'deb',
    name: r.name,
    version: r.version,
    source: { name: r.sourceName, version: r.sourceVersion },
    purl: makePurl('deb', purlNamespace(os, 'debian'), r.name, bare, {
      arch: r.arch,
      distro: distroQualifier(os, 'deb'),
      epoch: epoch ? String(epoch) : undefined,
    }),
    locations: [file.layer ? { path: file.path, layer: file.layer } : { path: file.path }],
  };
  if (r.arch) pkg.arch = r.arch;
  if (r.maintainer) pkg.extra = { maintainer: r.maintainer };
  return pkg;
}

export const dpkgCataloger: Cataloger = {
  id: 'dpkg',
  version: 2,
  kind: 'os',
  types: ['deb'],
  wants: (f: FileHeader) => isStatusFile(f.path) || isCopyrightFile(f.path),
  condense: (path, content) => (isCopyrightFile(path) ? condenseCopyright(content) : content),
  maxFileSize: 128 * 1024 * 1024,
  catalog(fs, ctx) {
    const files: FsFile[] = [];
    const status = fs.get(DPKG_STATUS);
    if (status) files.push(status);
    for (const f of fs.under('var/lib/dpkg/status.d')) if (isStatusFile(f.path)) files.push(f);
    const seen = new Set<string>();
    const out: Package[] = [];
    for (const f of files) {
      for (const r of parseDpkgStatus(f.content.toString('utf8'), f.path !== DPKG_STATUS)) {
        const key = `${r.name}\0${r.version}\0${r.arch ?? ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const pkg = toDpkgPackage(r, ctx.os, f);
        const copyright = fs.get(copyrightPath(r.name));
        const licenses = copyright ? parseCopyright(copyright.content.toString('utf8')) : [];
        if (licenses.length) pkg.licenses = licenses;
        out.push(pkg);
      }
    }
    return out;
  },
};
