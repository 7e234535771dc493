/**
 * rpm databases in all three backends (sqlite, Berkeley DB hash, NDB) plus the CBL-Mariner
 * distroless manifest. The backend is chosen by the file's magic, not its name.
 */
import type { FsFile, OsInfo, Package, ReadonlyFs } from '../../domain/index.ts';
import type { Cataloger, CatalogContext } from '../types.ts';
import { distroQualifier, makePurl, purlNamespace } from '../os/purl.ts';
import { RpmDbError, isBdbHash, readBdbHashValues } from './bdb.ts';
import { RpmHeaderError, parseRpmHeader, splitSourceRpm, type RpmHeaderInfo } from './header.ts';
import { parseContainerManifest } from './manifest.ts';
import { isNdb, readNdbBlobs } from './ndb.ts';
import { isSqlite, readSqliteBlobs } from './sqlite.ts';

/** In priority order: where the same database is reachable under two paths, the first wins. */
export const RPMDB_PATHS = [
  'usr/lib/sysimage/rpm/rpmdb.sqlite',
  'var/lib/rpm/rpmdb.sqlite',
  'usr/lib/sysimage/rpm/Packages.db',
  'var/lib/rpm/Packages.db',
  'usr/lib/sysimage/rpm/Packages',
  'var/lib/rpm/Packages',
] as const;
export const RPM_MANIFEST = 'var/lib/rpmmanifest/container-manifest-2';

const WANTED = new Set<string>([
  ...RPMDB_PATHS,
  ...RPMDB_PATHS.filter((p) => p.endsWith('.sqlite')).map((p) => `${p}-wal`),
  RPM_MANIFEST,
]);

/** Decode every package header of an rpmdb file; unreadable headers are counted, not fatal. */
export function readRpmDb(content: Uint8Array, wal?: Uint8Array): { headers: RpmHeaderInfo[]; bad: number; format: string } {
  let blobs: Uint8Array[];
  let format: string;
  let bad = 0;
  if (isSqlite(content)) {
    format = 'sqlite';
    blobs = readSqliteBlobs(content, wal).map((b) => b.blob);
  } else if (isNdb(content)) {
    format = 'ndb';
    const ndb = readNdbBlobs(content);
    blobs = ndb.blobs.map((b) => b.blob);
    bad += ndb.problems.length;
  } else if (isBdbHash(content)) {
    format = 'bdb';
    // Small values are BDB/rpm bookkeeping records (e.g. key 0 = next instance number), not headers.
    blobs = readBdbHashValues(content).filter((v) => v.length >= 24);
  } else {
    throw new RpmDbError('unknown rpm database format (not sqlite, Berkeley DB hash or NDB)');
  }
  const headers: RpmHeaderInfo[] = [];
  for (const blob of blobs) {
    try {
      headers.push(parseRpmHeader(blob));
    } catch (err) {
      if (!(err instanceof RpmHeaderError)) throw err;
      bad++;
    }
  }
  return { headers, bad, format };
}

/** Trivy's InstalledVersion: `[epoch:]version-release` (epoch only when non-zero). */
export function rpmEvr(h: Pick<RpmHeaderInfo, 'epoch' | 'version' | 'release'>): string {
  const vr = h.release ? `${h.version}-${h.release}` : h.version;
  return h.epoch ? `${h.epoch}:${vr}` : vr;
}

export function toRpmPackage(h: RpmHeaderInfo, os: OsInfo | undefined, file: FsFile): Package {
  const version = rpmEvr(h);
  const pkg: Package = {
    type: 'rpm',
    name: h.name,
    version,
    release: h.release,
    purl: makePurl('rpm', purlNamespace(os, 'redhat'), h.name, h.release ? `${h.version}-${h.release}` : h.version, {
      arch: h.arch,
      distro: distroQualifier(os, 'rpm'),
      epoch: h.epoch ? String(h.epoch) : undefined,
    }),
    locations: [file.layer ? { path: file.path, layer: file.layer } : { path: file.path }],
  };
  // An explicit EPOCH 0 is no epoch (rpm compares them equal; Trivy and go-rpmdb's EpochNum read 0)
  if (h.epoch) pkg.epoch = h.epoch;
  if (h.arch) pkg.arch = h.arch;
  const src = h.sourceRpm ? splitSourceRpm(h.sourceRpm) : undefined;
  if (src) {
    pkg.source = { name: src.name, version: `${src.version}-${src.release}`, release: src.release };
    if (h.epoch) pkg.source.epoch = h.epoch;
  }
  if (h.license) pkg.licenses = [h.license];
  const extra: Record<string, string> = {};
  if (h.vendor) extra['vendor'] = h.vendor;
  if (h.sourceRpm) extra['sourceRpm'] = h.sourceRpm;
  if (h.modularityLabel) extra['modularityLabel'] = h.modularityLabel;
  // Imported signing keys are rpmdb entries too. rpm -qa, go-rpmdb and Trivy list them, so we do,
  // marked so that matchers and reports can tell them from software.
  if (h.name === 'gpg-pubkey') extra['pseudo'] = 'gpg-pubkey';
  if (Object.keys(extra).length) pkg.extra = extra;
  return pkg;
}

function catalogFile(fs: ReadonlyFs, f: FsFile, ctx: CatalogContext): RpmHeaderInfo[] {
  if (f.path === RPM_MANIFEST) {
    const { rows, bad } = parseContainerManifest(f.content.toString('utf8'));
    if (bad) ctx.notes.push(`rpm: ${bad} malformed line(s) skipped in ${f.path}; the package list may be incomplete`);
    return rows;
  }
  if (f.size > f.content.length) {
    throw new RpmDbError(`${f.path} was cut at ${f.content.length} of ${f.size} bytes (size limit)`);
  }
  const wal = fs.get(`${f.path}-wal`);
  if (wal && wal.size > wal.content.length) {
    throw new RpmDbError(`${wal.path} was cut at ${wal.content.length} of ${wal.size} bytes (size limit)`);
  }
  const { headers, bad, format } = readRpmDb(f.content, wal?.content);
  if (bad) {
    ctx.notes.push(`rpm: ${bad} unreadable package header(s) in ${f.path} (${format}); the package list is incomplete`);
  }
  return headers;
}

export const rpmCataloger: Cataloger = {
  id: 'rpm',
  version: 1,
  kind: 'os',
  types: ['rpm'],
  wants: (f) => WANTED.has(f.path),
  maxFileSize: 512 * 1024 * 1024,
  catalog(fs, ctx) {
    const out: Package[] = [];
    const seen = new Set<string>();
    const files = [...RPMDB_PATHS, RPM_MANIFEST].map((p) => fs.get(p)).filter((f): f is FsFile => f !== undefined);
    // A manifest is only a fallback for images without a real database.
    const dbs = files.some((f) => f.path !== RPM_MANIFEST) ? files.filter((f) => f.path !== RPM_MANIFEST) : files;
    const done = new Set<Buffer>();
    for (const f of dbs) {
      if (done.has(f.content)) continue;
      done.add(f.content);
      let headers: RpmHeaderInfo[];
      try {
        headers = catalogFile(fs, f, ctx);
      } catch (err) {
        if (!(err instanceof RpmDbError)) throw err;
        throw new RpmDbError(`cannot read rpm database ${f.path}: ${err.message}`);
      }
      for (const h of headers) {
        const key = `${h.name}\0${rpmEvr(h)}\0${h.arch ?? ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(toRpmPackage(h, ctx.os, f));
      }
    }
    return out;
  },
};
