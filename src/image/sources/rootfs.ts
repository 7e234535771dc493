/**
 * `rootfs:DIR`: an unpacked filesystem. The directory is walked without following any symlink on
 * the host (a symlinked directory is recorded, not entered), only wanted regular files are read
 * (opened with O_NOFOLLOW), and links are resolved inside the collected view as for layers, so
 * nothing outside DIR is ever read.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { ScannerError } from '../../shared/errors.ts';
import type { Artifact } from '../../domain/index.ts';
import { emptyAnalysis, oversizeNote, wantedPath, type FileSelector, type KeptFile, type LayerAnalysis } from '../layers.ts';

const S_IFREG = 0o100000;
const MAX_ENTRIES = 5_000_000;

/** Big wanted files are read into one reused buffer (allocated once at its cap; untouched pages cost nothing). */
const SCRATCH_MIN = 256 * 1024;
const SCRATCH_MAX = 64 * 1024 * 1024;
interface Scratch {
  buf?: Buffer;
}

function readRegular(abs: string, max: number, scratch: Scratch): { content: Buffer; size: number; mode: number } | 'oversize' | undefined {
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW | (constants.O_NONBLOCK ?? 0));
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    if (st.size > max) return 'oversize';
    let buf: Buffer;
    if (st.size >= SCRATCH_MIN && st.size <= SCRATCH_MAX) {
      scratch.buf ??= Buffer.allocUnsafeSlow(SCRATCH_MAX);
      buf = scratch.buf.subarray(0, st.size);
    } else buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return { content: off === st.size ? buf : buf.subarray(0, off), size: st.size, mode: st.mode };
  } finally {
    closeSync(fd);
  }
}

function keep(a: LayerAnalysis, sel: FileSelector, root: string, path: string, scratch: Scratch): void {
  const max = sel.maxFileSize(path);
  const r = readRegular(`${root}/${path}`, max, scratch);
  if (r === undefined) return;
  if (r === 'oversize') {
    const size = lstatSync(`${root}/${path}`).size;
    a.notes.push(oversizeNote(path, size, max, 'the root filesystem'));
    a.present?.push(path);
    return;
  }
  let content = sel.condense ? sel.condense(path, r.content) : r.content;
  if (content === undefined) {
    a.present?.push(path);
    return;
  }
  if (scratch.buf && content.buffer === scratch.buf.buffer) content = Buffer.from(content); // kept: copy out
  const f: KeptFile = { path, mode: S_IFREG | (r.mode & 0o7777), size: r.size, content };
  a.files.push(f);
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
      } else if (e.isFile() && wantedPath(sel, { path: p, size: 0, mode: S_IFREG | 0o644 })) keep(a, sel, root, p, scratch);
    }
  }
  if (unreadable) a.notes.push(`${unreadable} entr${unreadable === 1 ? 'y' : 'ies'} of ${input} could not be read`);
  return a;
}

/** Reads files a second pass needs (link targets) straight from DIR; paths are already link-free. */
export function readRootfsExtra(root: string, sel: FileSelector, paths: Iterable<string>): LayerAnalysis {
  const a = emptyAnalysis();
  const scratch: Scratch = {};
  for (const p of paths) keep(a, sel, root, p, scratch);
  return a;
}

export function rootfsArtifact(input: string): Artifact {
  return { name: input, type: 'rootfs', layers: [] };
}
