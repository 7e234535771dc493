/**
 * `rootfs:DIR`: an unpacked filesystem. The directory is walked without following any symlink on
 * the host (a symlinked directory is recorded, not entered), only wanted regular files are read
 * (opened with O_NOFOLLOW), and links are resolved inside the collected view as for layers, so
 * nothing outside DIR is ever read.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { ScannerError } from '../../shared/errors.ts';
import type { Artifact, CondenseSink, FileHeader } from '../../domain/index.ts';
import { emptyAnalysis, oversizeNote, recordWantedLinks, wantedPath, type FileSelector, type KeptFile, type LayerAnalysis } from '../layers.ts';

const S_IFREG = 0o100000;
const MAX_ENTRIES = 5_000_000;

/** Big wanted files are read into one reused buffer (allocated once at its cap; untouched pages cost nothing). */
const SCRATCH_MIN = 256 * 1024;
const SCRATCH_MAX = 64 * 1024 * 1024;
/**
 * Streamed files are read into one reused buffer: first FIRST_BLOCK bytes (enough to tell an
 * executable and read its headers; most files are dropped there), then BLOCK at a time where the
 * condenser asks.
 */
const FIRST_BLOCK = 64 * 1024;
const BLOCK = 256 * 1024;
interface Scratch {
  buf?: Buffer;
  block?: Buffer;
}

function readWhole(fd: number, size: number, scratch: Scratch): Buffer {
  let buf: Buffer;
  if (size >= SCRATCH_MIN && size <= SCRATCH_MAX) {
    scratch.buf ??= Buffer.allocUnsafeSlow(SCRATCH_MAX);
    buf = scratch.buf.subarray(0, size);
  } else buf = Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  return off === size ? buf : buf.subarray(0, off);
}

/**
 * Pushes the file through a streaming condenser, one block at a time: no more is read than it takes
 * (where it needs nothing, as in an executable's code, nothing is read at all).
 */
function readStreaming(fd: number, size: number, sink: CondenseSink, scratch: Scratch): Buffer | undefined | 'whole' {
  const block = (scratch.block ??= Buffer.allocUnsafeSlow(BLOCK));
  for (let off = 0; off < size; ) {
    const n = readSync(fd, block, 0, Math.min(off === 0 ? FIRST_BLOCK : BLOCK, size - off), off);
    if (n === 0) break;
    off += n;
    const r = sink.push(block.subarray(0, n));
    if (r === 'drop') return undefined;
    if (r === 'whole') return 'whole';
    if (r === 'done') break;
    if (typeof r === 'number') off = r;
  }
  return sink.end();
}

/** Reads (or streams) one wanted regular file; `h` is its lstat header. */
function keep(a: LayerAnalysis, sel: FileSelector, root: string, h: FileHeader, scratch: Scratch): void {
  const path = h.path;
  const max = sel.maxFileSize(path);
  if (h.size > max) {
    a.notes.push(oversizeNote(path, h.size, max, 'the root filesystem'));
    a.present?.push(path);
    return;
  }
  let fd: number;
  try {
    fd = openSync(`${root}/${path}`, constants.O_RDONLY | constants.O_NOFOLLOW | (constants.O_NONBLOCK ?? 0));
  } catch {
    return;
  }
  let content: Buffer | undefined;
  let size: number;
  let mode: number;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return;
    ({ size, mode } = st);
    if (size > max) {
      a.notes.push(oversizeNote(path, size, max, 'the root filesystem'));
      a.present?.push(path);
      return;
    }
    const sink = sel.condenseStream?.(path, { path, size, mode: S_IFREG | (mode & 0o7777) });
    const streamed = sink ? readStreaming(fd, size, sink, scratch) : 'whole';
    if (streamed !== 'whole') content = streamed;
    else {
      const whole = readWhole(fd, size, scratch);
      content = sel.condense ? sel.condense(path, whole) : whole;
    }
  } finally {
    closeSync(fd);
  }
  if (content === undefined) {
    a.present?.push(path);
    return;
  }
  if (scratch.buf && content.buffer === scratch.buf.buffer) content = Buffer.from(content); // kept: copy out
  const f: KeptFile = { path, mode: S_IFREG | (mode & 0o7777), size, content };
  a.files.push(f);
}

/** The lstat header of a regular file under DIR, or undefined (gone, not a regular file). */
function header(root: string, path: string): FileHeader | undefined {
  const st = lstatSync(`${root}/${path}`, { throwIfNoEntry: false });
  return st?.isFile() ? { path, size: st.size, mode: S_IFREG | (st.mode & 0o7777) } : undefined;
}

/** Walks DIR into a single "layer" analysis. */
export function walkRootfs(root: string, sel: FileSelector, input: string): LayerAnalysis {
  let st;
  try {
    st = statSync(root);
  } catch (err) {
    throw new ScannerError('ROOTFS_NOT_FOUND', `${input}: cannot read ${root} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!st.isDirectory()) throw new ScannerError('ROOTFS_INVALID', `${input}: ${root} is not a directory`);
  const a = emptyAnalysis();
  const scratch: Scratch = {};
  const stack: string[] = [''];
  let n = 0;
  let unreadable = 0;
  while (stack.length) {
    const rel = stack.pop() ?? '';
    let ents;
    try {
      ents = readdirSync(rel ? `${root}/${rel}` : root, { withFileTypes: true });
    } catch {
      unreadable++;
      continue;
    }
    for (const e of ents) {
      if (++n > MAX_ENTRIES) throw new ScannerError('ROOTFS_TOO_LARGE', `${input}: more than ${MAX_ENTRIES} entries`);
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) stack.push(p);
      else if (e.isSymbolicLink()) {
        try {
          a.symlinks.push([p, readlinkSync(`${root}/${p}`)]);
        } catch {
          unreadable++;
        }
      } else if (e.isFile() && wantedPath(sel, { path: p, size: 0, mode: S_IFREG | 0o755 })) {
        // wanted by its path (a size-0 probe is "header unknown"): ask again with the real size and
        // mode, so an executable-only cataloger never reads a data file
        let h: FileHeader | undefined;
        try {
          h = header(root, p);
        } catch {
          unreadable++;
        }
        if (h && wantedPath(sel, h)) keep(a, sel, root, h, scratch);
      }
    }
  }
  if (unreadable) a.notes.push(`${unreadable} entr${unreadable === 1 ? 'y' : 'ies'} of ${input} could not be read`);
  recordWantedLinks(a, sel);
  return a;
}

/** Reads files a second pass needs (link targets) straight from DIR; paths are already link-free. */
export function readRootfsExtra(root: string, sel: FileSelector, paths: Iterable<string>): LayerAnalysis {
  const a = emptyAnalysis();
  const scratch: Scratch = {};
  for (const p of paths) {
    let h: FileHeader | undefined;
    try {
      h = header(root, p);
    } catch {
      continue;
    }
    if (h) keep(a, sel, root, h, scratch);
  }
  return a;
}

export function rootfsArtifact(input: string): Artifact {
  return { name: input, type: 'rootfs', layers: [] };
}
