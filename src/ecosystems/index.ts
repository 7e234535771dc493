/**
 * The cataloger and OS detector tables (one line per module), the combined file selector the layer
 * walker uses, and `catalogFs`, which runs everything over a collected filesystem.
 */
import type { ArtifactType, CondenseSink, FileHeader, OsInfo, Package, ReadonlyFs } from '../domain/index.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { Cataloger, CatalogContext, OsDetector } from './types.ts';
import { attributeLayers } from './attribute.ts';
import { apkCataloger } from './apk/index.ts';
import { dpkgCataloger } from './dpkg/index.ts';
import { rpmCataloger } from './rpm/index.ts';
import { npmCataloger } from './npm/index.ts';
import { pythonCataloger } from './python/index.ts';
import { gobinaryCataloger, gomodCataloger } from './gobinary/index.ts';
import { javaCataloger } from './java/index.ts';
import { pubCataloger } from './pub/index.ts';
import { hexCataloger } from './hex/index.ts';
import { conanCataloger } from './conan/index.ts';
import { cocoapodsCataloger } from './cocoapods/index.ts';
import { bundlerCataloger } from './bundler/index.ts';
import { nugetCataloger } from './nuget/index.ts';
import { gradleCataloger } from './gradle/index.ts';
import { cargoCataloger } from './cargo/index.ts';
import { composerCataloger } from './composer/index.ts';
import {
  alpineDetector,
  amazonDetector,
  debianDetector,
  osReleaseDetector,
  redhatDetector,
  ubuntuDetector,
} from './os/detectors.ts';
import { RELEASE_FILE_MAX } from './os/release.ts';

export const catalogers: readonly Cataloger[] = [
  apkCataloger,
  dpkgCataloger,
  rpmCataloger,
  npmCataloger,
  pythonCataloger,
  gobinaryCataloger,
  gomodCataloger,
  javaCataloger,
  pubCataloger,
  hexCataloger,
  conanCataloger,
  cocoapodsCataloger,
  bundlerCataloger,
  nugetCataloger,
  gradleCataloger,
  cargoCataloger,
  composerCataloger,
];

/** Tried in order; the first that recognises the filesystem wins (specific before generic). */
export const osDetectors: readonly OsDetector[] = [
  osReleaseDetector,
  alpineDetector,
  ubuntuDetector,
  debianDetector,
  amazonDetector,
  redhatDetector,
];

/** Files no cataloger declares a limit for are capped here. */
export const DEFAULT_MAX_FILE_SIZE = 256 * 1024 * 1024;

export interface FileSelector {
  /** Changes whenever a cataloger or detector changes: part of the layer cache key. */
  key: string;
  wants(f: FileHeader): boolean;
  /** Does anyone want this path when it is a link (see Cataloger.followsLinks)? */
  wantsLinked?(f: FileHeader): boolean;
  /** Shrink a file right after reading it (see Cataloger.condense); undefined drops it. */
  condense?(path: string, content: Buffer): Buffer | undefined;
  /** Condense while the file streams (see Cataloger.condenseStream); undefined = read it whole for `condense`. */
  condenseStream?(path: string, header: FileHeader): CondenseSink | undefined;
  /** Largest size to read for this path (bytes). */
  maxFileSize(path: string): number;
}

/** The union of every cataloger's and detector's `wants`, for the layer walker. */
export function fileSelector(
  cats: readonly Cataloger[] = catalogers,
  detectors: readonly OsDetector[] = osDetectors,
): FileSelector {
  const key = [...cats.map((c) => `${c.id}@${c.version}`), ...detectors.map((d) => `os:${d.id}${d.version ? `@${d.version}` : ''}`)].join(',');
  const condensers = cats.filter((c) => c.condense);
  const linkers = cats.filter((c) => c.followsLinks !== false);
  const sel: FileSelector = {
    key,
    wants(f) {
      for (const d of detectors) if (d.wants(f)) return true;
      for (const c of cats) if (c.wants(f)) return true;
      return false;
    },
    wantsLinked(f) {
      for (const d of detectors) if (d.wants(f)) return true;
      for (const c of linkers) if (c.wants(f)) return true;
      return false;
    },
    maxFileSize(path) {
      const h: FileHeader = { path, size: 0, mode: 0o100644 };
      let max = 0;
      for (const c of cats) if (c.wants(h)) max = Math.max(max, c.maxFileSize ?? DEFAULT_MAX_FILE_SIZE);
      if (max === 0) for (const d of detectors) if (d.wants(h)) max = RELEASE_FILE_MAX;
      return max || DEFAULT_MAX_FILE_SIZE;
    },
  };
  if (condensers.length) {
    sel.condense = (path, content) => {
      // A path-only probe (size 0 = "header not known"), as maxFileSize uses: condense has no header.
      const h: FileHeader = { path, size: 0, mode: 0o100644 };
      // Whoever needs the whole file (a detector, a cataloger without condense) gets it whole.
      for (const d of detectors) if (d.wants(h)) return content;
      let first: Cataloger | undefined;
      for (const c of cats) {
        if (!c.wants(h)) continue;
        if (!c.condense) return content;
        first ??= c;
      }
      return first?.condense ? first.condense(path, content) : content;
    };
    // The same choice as condense: a streaming condenser only where `condense` would be the first's.
    if (cats.some((c) => c.condenseStream)) sel.condenseStream = (path, header) => {
      const h: FileHeader = { path, size: 0, mode: 0o100644 };
      for (const d of detectors) if (d.wants(h)) return undefined;
      let first: Cataloger | undefined;
      for (const c of cats) {
        if (!c.wants(h)) continue;
        if (!c.condense) return undefined;
        first ??= c;
      }
      return first?.condenseStream?.(path, header);
    };
  }
  return sel;
}

export interface CatalogResult {
  os?: OsInfo;
  packages: Package[];
  /** Things a reader must know: failed catalogers, unreadable databases, unknown OS … */
  notes: string[];
  /** False when a cataloger failed or reported missing data: the package list is not the whole truth. */
  complete: boolean;
}

/** Detect the OS, then run every cataloger; a failing cataloger becomes a note, never a crash. */
export async function catalogFs(
  fs: ReadonlyFs,
  opts: { logger?: Logger; catalogers?: readonly Cataloger[]; detectors?: readonly OsDetector[]; artifactType?: ArtifactType } = {},
): Promise<CatalogResult> {
  const log = opts.logger;
  const notes: string[] = [];
  let complete = true;
  let os: OsInfo | undefined;
  for (const d of opts.detectors ?? osDetectors) {
    try {
      os = d.detect(fs);
    } catch (err) {
      notes.push(`OS detection (${d.id}) failed: ${describeError(err)}`);
      log?.warn({ detector: d.id, err: describeError(err) }, 'OS detection failed');
    }
    if (os) break;
  }
  const packages: Package[] = [];
  for (const c of opts.catalogers ?? catalogers) {
    const ctx: CatalogContext = os ? { os, notes: [] } : { notes: [] };
    if (opts.artifactType) ctx.artifactType = opts.artifactType;
    try {
      const found = await c.catalog(fs, ctx);
      await attributeLayers(fs, c, found, ctx); // the first layer that had each package, as Trivy
      for (const p of found) packages.push(p);
      log?.debug({ cataloger: c.id, packages: found.length }, 'cataloged');
    } catch (err) {
      complete = false;
      ctx.notes.push(`${c.id}: ${describeError(err)}; its packages are missing from this result`);
      log?.warn({ cataloger: c.id, err: describeError(err) }, 'cataloger failed');
    }
    if (ctx.notes.length) complete = false;
    notes.push(...ctx.notes);
  }
  if (!os && packages.some((p) => p.type === 'apk' || p.type === 'deb' || p.type === 'rpm')) {
    notes.push('OS packages found but no OS release file: OS vulnerabilities cannot be matched');
  }
  return os ? { os, packages, notes, complete } : { packages, notes, complete };
}
