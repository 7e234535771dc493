/**
 * The merged, read-only view of an artifact's filesystem that catalogers see. It holds only the
 * files some cataloger asked for (see `FileRequest`), after layers were applied in order with
 * whiteouts and links resolved. Paths are POSIX, relative, without a leading slash or `./`:
 * 'etc/os-release', 'var/lib/dpkg/status'.
 */
export interface FsFile {
  path: string;
  /** File content, or the cataloger's condensed form of it (see Cataloger.condense). */
  content: Buffer;
  /** Unix mode bits (permission + type) as the tar header or stat gave them. */
  mode: number;
  /** Size of the original file in bytes (content may be condensed). */
  size: number;
  /** Digest of the layer that last wrote the file, when the source has layers. */
  layer?: string;
  /**
   * Set on an entry that reaches another file through a symlink or hard link (usr-merged `bin/x`
   * → `usr/bin/x`, a venv's `lib64/` → `lib/`): the path the file really lives at. Such an entry
   * shares its `content` with the real one. Language catalogers report the file once, at its
   * real path, as Trivy (which reads regular files only) does.
   */
  linkOf?: string;
}

export interface ReadonlyFs {
  get(path: string): FsFile | undefined;
  /** Every collected file, in path order. */
  files(): Iterable<FsFile>;
  /** Collected files whose path starts with `prefix` (a directory, no trailing slash needed). */
  under(prefix: string): Iterable<FsFile>;
  /**
   * Sources with layers: `path` as each layer that wrote it had it, lowest layer first (each with its
   * `layer`), for a path more than one layer wrote; undefined otherwise. Layer attribution uses it.
   */
  layerCopies?(path: string): readonly FsFile[] | undefined;
}

/** What a layer walker passes to `wants`: the path plus the header facts, before reading the content. */
export interface FileHeader {
  path: string;
  size: number;
  mode: number;
}

/**
 * A cataloger's streaming condenser for one file (see Cataloger.condenseStream): the walker pushes
 * the file's bytes in order and never holds the whole file. `push` returns 'drop' when the file is
 * not wanted after all (no more pushes, no `end`), 'done' when it has all it needs (no more pushes;
 * `end` follows), 'whole' when it cannot work in one forward pass and needs the whole file in one
 * buffer (the walker reads it again and calls the buffered `condense`), or a file offset N beyond
 * the bytes pushed so far: it needs nothing before N, and the next bytes pushed start exactly at N
 * (the walker skips the rest; a file on disk is not even read there). A pushed chunk is valid only
 * during the call: copy what you keep.
 */
export interface CondenseSink {
  push(chunk: Buffer): void | 'drop' | 'done' | 'whole' | number;
  /** The condensed content; undefined drops the file; 'whole' as from push. */
  end(): Buffer | undefined | 'whole';
}

/** A simple in-memory ReadonlyFs, used by sources and tests. */
export class MemoryFs implements ReadonlyFs {
  readonly #files = new Map<string, FsFile>();
  #sorted: FsFile[] | undefined;
  #copies: Map<string, readonly FsFile[]> | undefined;

  constructor(files: Iterable<FsFile> = []) {
    for (const f of files) this.#files.set(f.path, f);
  }

  set(file: FsFile): void {
    this.#files.set(file.path, file);
    this.#sorted = undefined;
  }

  delete(path: string): void {
    if (this.#files.delete(path)) this.#sorted = undefined;
  }

  get(path: string): FsFile | undefined {
    return this.#files.get(path);
  }

  files(): Iterable<FsFile> {
    this.#sorted ??= [...this.#files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return this.#sorted;
  }

  *under(prefix: string): Iterable<FsFile> {
    const p = prefix.endsWith('/') ? prefix : `${prefix}/`;
    for (const f of this.files()) if (f.path.startsWith(p)) yield f;
  }

  get size(): number {
    return this.#files.size;
  }

  /** Records the per-layer copies of a path (see ReadonlyFs.layerCopies); two or more. */
  setLayerCopies(path: string, copies: readonly FsFile[]): void {
    if (copies.length > 1) (this.#copies ??= new Map()).set(path, copies);
  }

  layerCopies(path: string): readonly FsFile[] | undefined {
    return this.#copies?.get(path);
  }
}
