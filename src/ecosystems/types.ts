import type { ArtifactType, CondenseSink, FileHeader, OsInfo, Package, PackageType, ReadonlyFs } from '../domain/index.ts';

/**
 * One package format (apk, dpkg, rpm, npm, python, go binaries …). A cataloger declares which files
 * it needs; the image layer walker collects exactly those (size-capped) into a ReadonlyFs; then
 * `catalog` parses them. Catalogers never see layers, registries or vulnerabilities.
 */
export interface Cataloger {
  /** Stable id: 'apk', 'dpkg', 'rpm', 'npm', 'python', 'gobinary', 'jar' … */
  id: string;
  /** Bump when parsing changes, so cached layer analyses are invalidated. */
  version: number;
  /** 'os' packages come from the distro's package manager; 'lang' from language metadata. */
  kind: 'os' | 'lang';
  /** Which package types it emits. */
  types: readonly PackageType[];
  /** Does this cataloger need this file? Called for every regular file in every layer: keep it cheap. */
  wants(file: FileHeader): boolean;
  /**
   * Optional: shrink a wanted file as soon as it is read (e.g. a Go binary → its build info), so the
   * layer cache and memory hold only what `catalog` needs. Return undefined to drop the file.
   */
  condense?(path: string, content: Buffer): Buffer | undefined;
  /**
   * Optional, with `condense`: condense a wanted file while it streams, so it is never held whole
   * (a 50 MB executable → its build info). `header` is the file's real path, size and mode. Return
   * undefined to have this file read whole and passed to `condense` instead. The result must be
   * what `condense` makes of the whole file (the sink may ask for it with 'whole').
   */
  condenseStream?(path: string, header: FileHeader): CondenseSink | undefined;
  /**
   * False when the cataloger reports files at their real paths only, never under a symlink or
   * hard link (Go binaries: Trivy skips links): the walker then never reads a link's target just for
   * it. Default true (an OS release file behind a link must be followed).
   */
  followsLinks?: boolean;
  /** Largest file it wants in bytes (default: the walker's global cap). */
  maxFileSize?: number;
  catalog(fs: ReadonlyFs, ctx: CatalogContext): Promise<Package[]> | Package[];
}

export interface CatalogContext {
  os?: OsInfo;
  /**
   * What was scanned, when the caller knows. Language catalogers use it the way Trivy's `image` and
   * `fs` commands differ: a container image lists installed packages (node_modules, dist-info …),
   * a project directory its lock files. A rootfs without an OS release file counts as a project.
   */
  artifactType?: ArtifactType;
  /** Non-fatal problems go here (an unreadable database, a malformed file). */
  notes: string[];
}

/** OS release detection: one per family group, tried in table order. */
export interface OsDetector {
  id: string;
  /** Bump when the files it reads change, so cached layer analyses are invalidated (absent = 1). */
  version?: number;
  wants(file: FileHeader): boolean;
  detect(fs: ReadonlyFs): OsInfo | undefined;
}
