/**
 * Files owned by rpm packages, from the rpmdb's header blobs (sqlite, Berkeley DB hash or NDB,
 * read by the rpm cataloger's readers): BASENAMES (1117) joined with DIRNAMES (1118) through
 * DIRINDEXES (1116), or the legacy OLDFILENAMES (1027). Trivy's rpm analyzer reports these as
 * system-installed files, which is why RHEL's python3-* metadata is not listed as python-pkg —
 * for packages of the distributions' own vendors only (Trivy's list), so a third-party rpm that
 * drops a dist-info into site-packages is still listed. Only the paths `keep` accepts are returned.
 */
import type { ReadonlyFs } from '../../domain/index.ts';
import { isBdbHash, readBdbHashValues } from '../rpm/bdb.ts';
import { RPMDB_PATHS } from '../rpm/index.ts';
import { isNdb, readNdbBlobs } from '../rpm/ndb.ts';
import { isSqlite, readSqliteBlobs } from '../rpm/sqlite.ts';

const DIRINDEXES = 1116;
const BASENAMES = 1117;
const DIRNAMES = 1118;
const OLDFILENAMES = 1027;
const VENDOR = 1011;
const TYPE_STRING = 6;

/** Trivy's osVendors: packages whose Vendor starts with one of these are the distribution's. */
const OS_VENDORS = ['Amazon Linux', 'Amazon.com', 'CentOS', 'Fedora Project', 'Oracle America', 'Red Hat', 'AlmaLinux', 'CloudLinux', 'VMware', 'SUSE', 'openSUSE', 'Microsoft Corporation', 'Rocky'];
const TYPE_INT32 = 4;
const TYPE_STRING_ARRAY = 8;

interface Entry {
  type: number;
  offset: number;
  count: number;
}

/** The file paths of one header blob (no leading slash) when its vendor is a distribution's; malformed blobs give none. */
export function headerFiles(blob: Uint8Array): string[] {
  if (blob.length < 8) return [];
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const il = view.getInt32(0);
  const dl = view.getInt32(4);
  if (il < 1 || il > 0xffff || dl < 0) return [];
  const data = 8 + il * 16;
  if (data + dl > blob.length) return [];
  const tags = new Map<number, Entry>();
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const tag = view.getInt32(at);
    if (tag === DIRINDEXES || tag === BASENAMES || tag === DIRNAMES || tag === OLDFILENAMES || tag === VENDOR) {
      tags.set(tag, { type: view.getUint32(at + 4), offset: view.getInt32(at + 8), count: view.getUint32(at + 12) });
    }
  }
  const strings = (e: Entry | undefined): string[] | undefined => {
    if (!e || e.type !== TYPE_STRING_ARRAY || e.offset < 0 || e.offset >= dl || e.count > 10_000_000) return undefined;
    const out: string[] = [];
    let p = data + e.offset;
    const end = data + dl;
    for (let i = 0; i < e.count; i++) {
      const nul = blob.indexOf(0, p);
      if (nul < 0 || nul >= end) return undefined;
      out.push(Buffer.from(blob.buffer, blob.byteOffset + p, nul - p).toString('utf8'));
      p = nul + 1;
    }
    return out;
  };
  const v = tags.get(VENDOR);
  const vendor = v && (v.type === TYPE_STRING || v.type === TYPE_STRING_ARRAY) ? (strings({ ...v, type: TYPE_STRING_ARRAY, count: 1 })?.[0] ?? '') : '';
  if (!OS_VENDORS.some((o) => vendor.startsWith(o))) return [];
  const old = strings(tags.get(OLDFILENAMES));
  const bases = strings(tags.get(BASENAMES));
  const dirs = strings(tags.get(DIRNAMES));
  const idx = tags.get(DIRINDEXES);
  const strip = (p: string): string => p.replace(/^\/+/, '');
  if (bases && dirs && idx && idx.type === TYPE_INT32 && idx.count === bases.length && idx.offset >= 0 && idx.offset + 4 * idx.count <= dl) {
    return bases.map((b, i) => strip(`${dirs[view.getInt32(data + idx.offset + 4 * i)] ?? ''}${b}`));
  }
  return old ? old.map(strip) : [];
}

function blobsOf(content: Uint8Array, wal: Uint8Array | undefined): Uint8Array[] {
  if (isSqlite(content)) return readSqliteBlobs(content, wal).map((b) => b.blob);
  if (isNdb(content)) return readNdbBlobs(content).blobs.map((b) => b.blob);
  if (isBdbHash(content)) return readBdbHashValues(content).filter((v) => v.length >= 24);
  return [];
}

/** Paths owned by rpm packages that `keep` accepts; none when there is no readable rpmdb. */
export function rpmOwnedFiles(fs: ReadonlyFs, keep: (path: string) => boolean): string[] {
  for (const p of RPMDB_PATHS) {
    const f = fs.get(p);
    if (!f || f.size > f.content.length) continue;
    let blobs: Uint8Array[];
    try {
      blobs = blobsOf(f.content, fs.get(`${p}-wal`)?.content);
    } catch {
      return []; // the rpm cataloger reports the broken database
    }
    const out: string[] = [];
    for (const b of blobs) for (const path of headerFiles(b)) if (keep(path)) out.push(path);
    return out;
  }
  return [];
}
