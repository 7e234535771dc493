/**
 * Go. Binaries (`gobinary`): the build info of every executable regular file that is a Go
 * program (ELF, PE, Mach-O; Go 1.18+ inline and older pointer layouts), condensed to that build
 * info while the file streams (buildinfo-stream.ts), so a 50 MB binary is never held in memory and
 * never reaches the layer cache.
 * Reported: the main module when it has a real version, and every dependency (`=>` replacements
 * honoured), versions as Trivy 0.44 prints them for binaries (with the leading 'v'). Binaries an
 * OS package owns are skipped, as Trivy does. go.mod / go.sum (`gomod`): see gomod.ts; versions
 * without the 'v', as Trivy prints them for go.mod. The purl always has the 'v'.
 */
import type { FileHeader, FsFile, Package, PackageType, ReadonlyFs } from '../../domain/index.ts';
import { describeError } from '../../shared/errors.ts';
import type { Cataloger, CatalogContext } from '../types.ts';
import { makePurl } from '../os/purl.ts';
import { withoutAliases } from '../python/aliases.ts';
import { condenseDpkgList, isDpkgListFile, systemFiles } from '../python/system-files.ts';
import { buildInfoOf, condenseGoBinary, type GoModule } from './buildinfo.ts';
import { GoBuildInfoSink } from './buildinfo-stream.ts';
import { mergeGoSum, parseGoMod, parseGoSum } from './gomod.ts';
import { GO_BINARY_MAX, GO_BINARY_MIN, mayBeGoBinary } from './paths.ts';

/** `pkg:golang/github.com/x/y@v1.2.3` (namespace = path up to the last '/'). */
export function golangPurl(path: string, version: string): string {
  const v = version === '' || version.startsWith('v') ? version : `v${version}`;
  const slash = path.lastIndexOf('/');
  return slash > 0 ? makePurl('golang', path.slice(0, slash), path.slice(slash + 1), v, {}) : makePurl('golang', undefined, path, v, {});
}

const loc = (f: FsFile): Package['locations'] => [f.layer ? { path: f.path, layer: f.layer } : { path: f.path }];

function goPackage(type: PackageType, path: string, version: string, file: FsFile, relationship: Package['relationship']): Package {
  const p: Package = { type, name: path, version, purl: golangPurl(path, version), locations: loc(file), filePath: file.path };
  if (relationship) p.relationship = relationship;
  return p;
}

/** A version worth reporting: not empty (local replacement) and not '(devel)' (an unversioned build). */
const versioned = (m: GoModule): boolean => m.version !== '' && m.version !== '(devel)';

const isExecutable = (mode: number): boolean => (mode & 0o111) !== 0;

export function catalogGoBinaries(fs: ReadonlyFs): Package[] {
  const owned = systemFiles(fs);
  const out: Package[] = [];
  for (const f of withoutAliases(fs.files(), owned)) {
    if (!mayBeGoBinary(f.path) || !isExecutable(f.mode)) continue;
    const info = buildInfoOf(f.content);
    if (!info) continue;
    const extra = { goVersion: info.goVersion };
    if (info.main && versioned(info.main)) out.push({ ...goPackage('gobinary', info.main.path, info.main.version, f, 'root'), extra });
    for (const d of info.deps) {
      const m = d.replace ?? d;
      if (!m.path || !versioned(m)) continue;
      out.push({ ...goPackage('gobinary', m.path, m.version, f, 'unknown'), extra: { ...extra } });
    }
  }
  return out;
}

export const gobinaryCataloger: Cataloger = {
  id: 'gobinary',
  // 2: executables from 128 bytes (was 64 KiB), link targets never read for it
  version: 2,
  kind: 'lang',
  types: ['gobinary'],
  /**
   * Executable regular files of plausible size whose name may be a program. A header with size 0
   * is a path-only probe (the rootfs walker, maxFileSize, condense do not know the header): the
   * catalog step then checks the real mode.
   */
  wants(f: FileHeader) {
    if (isDpkgListFile(f.path)) return true;
    if (!mayBeGoBinary(f.path)) return false;
    if (f.size === 0) return true;
    return isExecutable(f.mode) && f.size >= GO_BINARY_MIN;
  },
  condense: (path, content) => (isDpkgListFile(path) ? condenseDpkgList(content) : condenseGoBinary(content)),
  // Executables stream through a sink that keeps only their headers and build info (non-executables
  // are dropped after 64 bytes): no binary is ever held whole, unless a pre-1.18 one needs it.
  condenseStream: (path, header) => (isDpkgListFile(path) ? undefined : new GoBuildInfoSink(header.size)),
  // reported at their real paths only (Trivy skips links): never read a link target for this
  followsLinks: false,
  maxFileSize: GO_BINARY_MAX,
  catalog: (fs) => catalogGoBinaries(fs),
};

const base = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
const dirOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

export function catalogGoMod(fs: ReadonlyFs, ctx: CatalogContext): Package[] {
  const out: Package[] = [];
  for (const f of withoutAliases(fs.files())) {
    if (base(f.path) !== 'go.mod') continue;
    try {
      const mod = parseGoMod(f.content.toString('utf8'));
      const dir = dirOf(f.path);
      const sumFile = fs.get(dir ? `${dir}/go.sum` : 'go.sum');
      const reqs = mergeGoSum(mod, sumFile ? parseGoSum(sumFile.content.toString('utf8')) : undefined);
      for (const r of reqs) out.push(goPackage('gomod', r.path, r.version, f, r.indirect ? 'indirect' : 'direct'));
    } catch (err) {
      ctx.notes.push(`gomod: /${f.path} could not be read (${describeError(err)}); its packages are missing`);
    }
  }
  return out;
}

export const gomodCataloger: Cataloger = {
  id: 'gomod',
  version: 1,
  kind: 'lang',
  types: ['gomod'],
  wants: (f) => {
    const b = base(f.path);
    return b === 'go.mod' || b === 'go.sum';
  },
  maxFileSize: 16 * 1024 * 1024,
  catalog: catalogGoMod,
};
