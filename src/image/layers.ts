/**
 * One layer's analysis: stream the (decompressed) tar, keep the files the selector wants (size-capped,
 * condensed), and record whiteouts, opaque directories, symlinks and hard links so layers can be
 * merged later, in order, by merge.ts. Nothing is written to disk.
 */
import type { CondenseSink, FileHeader } from '../domain/fs.ts';
import { readTar, type TarEntry } from './tar.ts';

/** What the layer walker needs from the catalogers (structurally the same as ecosystems' FileSelector). */
export interface FileSelector {
  /** Changes whenever a cataloger changes: part of the layer-cache key. */
  key: string;
  wants(f: FileHeader): boolean;
  /** Does anyone want this path when it is a (sym or hard) link, i.e. want its target read? Default: wants. */
  wantsLinked?(f: FileHeader): boolean;
  /** Shrink a file right after reading it; undefined drops it. */
  condense?(path: string, content: Buffer): Buffer | undefined;
  /** Shrink a file while it streams, never holding it whole; undefined = read it whole for `condense`. */
  condenseStream?(path: string, header: FileHeader): CondenseSink | undefined;
  /** Largest size to read for this path (bytes). */
  maxFileSize(path: string): number;
}

export interface KeptFile {
  path: string;
  mode: number;
  /** Size in the layer (content may be condensed). */
  size: number;
  content: Buffer;
}

export interface LayerAnalysis {
  files: KeptFile[];
  /** Paths deleted from lower layers (`.wh.NAME`). */
  whiteouts: string[];
  /** Directories whose lower-layer contents are hidden (`.wh..wh..opq`). */
  opaqueDirs: string[];
  /** [path, target as written] for every symlink in the layer. */
  symlinks: [string, string][];
  /** [path, target path] for hard links whose own path is wanted. */
  hardlinks: [string, string][];
  /** Skipped oversize files, refused paths … */
  notes: string[];
  /**
   * Wanted regular files that were read but not kept (condensed to nothing, or over the size cap):
   * they exist, so a link to one needs no second pass. Optional in cache entries of older versions.
   */
  present?: string[];
  /** Directories that links of this layer point to (so they exist even with nothing kept inside). */
  presentDirs?: string[];
  /**
   * Symlinks of this layer the selector wants as links, judged by path alone (the probe
   * MergedTree.missingTargets makes), so a merge need not ask again for every link. Absent in cache
   * entries of older versions.
   */
  wantedLinks?: string[];
  /**
   * Wanted files whose streaming condenser needs them whole (a pre-1.18 Go binary): the caller reads
   * the layer again for exactly these (`wholeSelector`) before the analysis is used or cached.
   */
  reread?: string[];
}

const S_IFREG = 0o100000;
/** Wanted files from this size up are read into a reused scratch buffer (up to SCRATCH_MAX). */
const SCRATCH_MIN = 256 * 1024;
const SCRATCH_MAX = 64 * 1024 * 1024;
const WH = '.wh.';
const WH_OPQ = '.wh..wh..opq';
const WH_META = '.wh..wh.';
/** usr-merged images keep /lib, /bin … as symlinks into /usr: a file under usr/ is also wanted by its short path. */
const USR_MERGED = ['usr/lib/', 'usr/bin/', 'usr/sbin/', 'usr/lib64/', 'usr/lib32/'];

/**
 * Normalises a tar entry name: strips './' and leading '/', resolves '.' and '..' inside the path.
 * Returns undefined for names that escape the root or contain NUL. '' is the root.
 */
/** A name that is already normal: no empty, '.' or '..' segment, no leading slash, no NUL. */
const NORMAL_NAME = /^(?!\.\.?(?:\/|$))(?:[^/\0]+\/(?!\.\.?(?:\/|$)))*[^/\0]+$/;

export function normalizeEntryPath(name: string): string | undefined {
  if (NORMAL_NAME.test(name)) return name; // most names: one regex test, no split and join
  if (name.includes('\0')) return undefined;
  const out: string[] = [];
  for (const seg of name.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      continue;
    }
    out.push(seg);
  }
  return out.join('/');
}

export function emptyAnalysis(): LayerAnalysis {
  return { files: [], whiteouts: [], opaqueDirs: [], symlinks: [], hardlinks: [], notes: [], present: [] };
}

/**
 * Does the selector want this path, directly or through the usr-merge alias? `asLink`: the path is
 * a link, and the question is whether its target must be read for it (Cataloger.followsLinks).
 */
export function wantedPath(sel: FileSelector, h: FileHeader, asLink = false): boolean {
  const wants = asLink && sel.wantsLinked ? sel.wantsLinked.bind(sel) : sel.wants.bind(sel);
  if (wants(h)) return true;
  const p = h.path;
  if (p.startsWith('usr/')) {
    for (const pre of USR_MERGED) if (p.startsWith(pre)) return wants({ ...h, path: p.slice(4) });
  }
  return false;
}

function fmtSize(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

export function oversizeNote(path: string, size: number, max: number, layer: string): string {
  return `skipped /${path} (${fmtSize(size)}, over the ${fmtSize(max)} limit for this file) in ${layer}`;
}

/** Reads one layer's tar chunks (already decompressed). `layer` names it in notes. */
export async function analyzeLayerTar(chunks: AsyncIterable<Buffer>, sel: FileSelector, layer: string): Promise<LayerAnalysis> {
  const a = emptyAnalysis();
  let refused = 0;
  let firstRefused = '';
  const pending = new Map<TarEntry, string>();
  /** Files condensed as they stream: their sink, and whether it still takes bytes. */
  const streams = new Map<TarEntry, { path: string; sink: CondenseSink; pos: number; skipTo: number }>();
  /** Regular files of this layer that were not kept: [size, mode] (for resolving symlinks in the layer). */
  const unkept = new Map<string, [number, number]>();
  const dirs = new Set<string>();
  // Big wanted files (executables a cataloger condenses to a few bytes) are read into one reused
  // buffer instead of a new one each: the walker's memory is its largest such file, not their sum.
  let scratch: Buffer | undefined;
  await readTar(chunks, {
    alloc(size) {
      if (size < SCRATCH_MIN || size > SCRATCH_MAX) return Buffer.allocUnsafe(size);
      // one allocation of the maximum: pages never written cost no memory, and there is no trail of
      // outgrown buffers waiting for the collector
      scratch ??= Buffer.allocUnsafeSlow(SCRATCH_MAX);
      return scratch.subarray(0, size);
    },
    onEntry(e) {
      const path = normalizeEntryPath(e.name);
      if (path === undefined) {
        if (refused++ === 0) firstRefused = e.name.slice(0, 200);
        return 'skip';
      }
      if (path === '') return 'skip';
      const slash = path.lastIndexOf('/');
      const base = slash >= 0 ? path.slice(slash + 1) : path;
      if (base.startsWith(WH)) {
        const dir = slash >= 0 ? path.slice(0, slash) : '';
        if (base === WH_OPQ) a.opaqueDirs.push(dir);
        else if (!base.startsWith(WH_META)) {
          const name = base.slice(WH.length);
          if (name && name !== '.' && name !== '..') a.whiteouts.push(dir ? `${dir}/${name}` : name);
        }
        return 'skip';
      }
      switch (e.type) {
        case 'file': {
          const h: FileHeader = { path, size: e.size, mode: S_IFREG | (e.mode & 0o7777) };
          if (!wantedPath(sel, h)) {
            unkept.set(path, [h.size, h.mode]);
            return 'skip';
          }
          const max = sel.maxFileSize(path);
          if (e.size > max) {
            a.notes.push(oversizeNote(path, e.size, max, layer));
            a.present?.push(path);
            return 'skip';
          }
          const sink = sel.condenseStream?.(path, h);
          if (sink) {
            streams.set(e, { path, sink, pos: 0, skipTo: 0 });
            return 'stream';
          }
          pending.set(e, path);
          return 'read';
        }
        case 'symlink':
          if (e.linkname && !e.linkname.includes('\0')) a.symlinks.push([path, e.linkname]);
          return 'skip';
        case 'hardlink': {
          const target = normalizeEntryPath(e.linkname);
          if (!target || !wantedPath(sel, { path, size: 0, mode: S_IFREG | (e.mode & 0o7777) }, true)) return 'skip';
          // the target came earlier in this layer: if it was skipped and the link would be too, skip it
          const h = unkept.get(target);
          if (h && !wantedPath(sel, { path, size: h[0], mode: h[1] }, true)) {
            unkept.set(path, h);
            return 'skip';
          }
          a.hardlinks.push([path, target]);
          return 'skip';
        }
        case 'directory':
          dirs.add(path);
          return 'skip';
        default:
          return 'skip';
      }
    },
    onContent(e, content) {
      const path = pending.get(e);
      if (path === undefined) return;
      pending.delete(e);
      let c = sel.condense ? sel.condense(path, content) : content;
      if (c === undefined) {
        a.present?.push(path);
        return;
      }
      if (scratch && c.buffer === scratch.buffer) c = Buffer.from(c); // kept: must not live in the scratch buffer
      a.files.push({ path, mode: S_IFREG | (e.mode & 0o7777), size: e.size, content: c });
    },
    onData(e, piece) {
      const s = streams.get(e);
      if (!s) return 'stop';
      const at = s.pos;
      s.pos += piece.length;
      if (s.pos <= s.skipTo) return undefined; // the sink needs nothing here
      const r = s.sink.push(s.skipTo > at ? piece.subarray(s.skipTo - at) : piece);
      if (r === undefined) return undefined;
      if (typeof r === 'number') {
        s.skipTo = r;
        return r >= e.size ? 'stop' : undefined; // nothing more to push: its end still comes
      }
      if (r !== 'done') {
        streams.delete(e);
        if (r === 'drop') a.present?.push(s.path);
        else (a.reread ??= []).push(s.path);
      }
      return 'stop';
    },
    onDataEnd(e) {
      const s = streams.get(e);
      if (!s) return;
      streams.delete(e);
      const c = s.sink.end();
      if (c === 'whole') (a.reread ??= []).push(s.path);
      else if (c === undefined) a.present?.push(s.path);
      else a.files.push({ path: s.path, mode: S_IFREG | (e.mode & 0o7777), size: e.size, content: c });
    },
  });
  settleLayerLinks(a, sel, unkept, dirs);
  if (refused) a.notes.push(`ignored ${refused} tar entr${refused === 1 ? 'y' : 'ies'} whose path escapes the root (e.g. "${firstRefused}") in ${layer}`);
  return a;
}

const MAX_LAYER_HOPS = 16;

/** Resolves `path` through the symlinks of one layer (any component); undefined on a loop or escape. */
function resolveInLayer(path: string, links: Map<string, string>): string | undefined {
  let parts = path.split('/');
  const out: string[] = [];
  let hops = 0;
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i] ?? '';
    if (name === '' || name === '.') continue;
    if (name === '..') {
      out.pop();
      continue;
    }
    const cur = out.length ? `${out.join('/')}/${name}` : name;
    const t = links.get(cur);
    if (t === undefined) {
      out.push(name);
      continue;
    }
    if (++hops > MAX_LAYER_HOPS) return undefined;
    if (t.startsWith('/')) out.length = 0;
    parts = [...t.split('/'), ...parts.slice(i + 1)];
    i = -1;
  }
  return out.join('/');
}

/**
 * Links whose target is a regular file or directory of the same layer that nobody kept
 * (usr/bin/awk → /etc/alternatives/awk → /usr/bin/mawk, var/lock → /run/lock): ask the selector
 * whether it wants that file under the link's path with its real header. If not, the target is
 * recorded as present, so the merge knows there is nothing to fetch, and no second pass over the
 * layers is needed for it.
 */
function settleLayerLinks(a: LayerAnalysis, sel: FileSelector, unkept: Map<string, [number, number]>, dirs: Set<string>): void {
  a.wantedLinks = [];
  if (!a.symlinks.length) return;
  const links = new Map(a.symlinks);
  const present = new Set(a.present);
  for (const [path] of a.symlinks) {
    const direct = linkProbe(sel, path);
    if (direct) a.wantedLinks.push(path);
    if (!direct && !wantedPath(sel, { path, size: 0, mode: S_IFREG | 0o644 }, true)) continue;
    const real = resolveInLayer(path, links);
    if (real === undefined || real === path || present.has(real)) continue;
    if (dirs.has(real)) {
      (a.presentDirs ??= []).push(real);
      present.add(real);
      continue;
    }
    const h = unkept.get(real);
    if (h && !wantedPath(sel, { path, size: h[0], mode: h[1] }, true)) {
      present.add(real);
      a.present?.push(real);
    }
  }
}

/** Is a link at `path` wanted (its target worth reading), by path alone? MergedTree.missingTargets asks the same. */
export function linkProbe(sel: FileSelector, path: string): boolean {
  return (sel.wantsLinked ?? sel.wants).call(sel, { path, size: 0, mode: S_IFREG | 0o644 });
}

/** Records `wantedLinks` for an analysis made without settleLayerLinks (rootfs). */
export function recordWantedLinks(a: LayerAnalysis, sel: FileSelector): void {
  a.wantedLinks = a.symlinks.filter(([path]) => linkProbe(sel, path)).map(([path]) => path);
}

/**
 * The selector for reading a layer again for files a streaming condenser needs whole: exactly those
 * paths, read whole and given to the buffered `condense`.
 */
export function wholeSelector(sel: FileSelector, paths: ReadonlySet<string>): FileSelector {
  const whole: FileSelector = {
    key: `${sel.key}+whole`,
    wants: (f) => paths.has(f.path),
    maxFileSize: (p) => sel.maxFileSize(p),
  };
  if (sel.condense) whole.condense = sel.condense.bind(sel);
  return whole;
}

/** A first read with `reread` paths, completed by the read of exactly those paths (`wholeSelector`). */
export function completeReread(a: LayerAnalysis, again: LayerAnalysis): LayerAnalysis {
  const paths = new Set(a.reread ?? []);
  const out: LayerAnalysis = {
    ...a,
    files: [...a.files, ...again.files.filter((f) => paths.has(f.path))],
    present: [...(a.present ?? []), ...(again.present ?? []).filter((p) => paths.has(p))],
    notes: [...a.notes, ...again.notes.filter((n) => !a.notes.includes(n))],
  };
  delete out.reread;
  return out;
}

/** Union of a first-pass analysis and a second pass that collected extra files. */
export function combineAnalyses(a: LayerAnalysis, extra: LayerAnalysis): LayerAnalysis {
  const have = new Set(a.files.map((f) => f.path));
  return {
    ...a,
    files: [...a.files, ...extra.files.filter((f) => !have.has(f.path))],
    notes: [...a.notes, ...extra.notes.filter((n) => !a.notes.includes(n))],
    present: [...(a.present ?? []), ...(extra.present ?? [])],
    presentDirs: [...(a.presentDirs ?? []), ...(extra.presentDirs ?? [])],
  };
}
