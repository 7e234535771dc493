/**
 * The merged filesystem exposes a wanted file under every path that reaches it through a symlink
 * (usr-merged `bin/` → `usr/bin/`, pnpm's `node_modules/x` → `node_modules/.pnpm/x@1/node_modules/x`)
 * and a hard link. Such aliases share one content buffer. Trivy only reads regular files, so a
 * package is reported once, at its real path: the `usr/` twin of a usr-merge alias, else the
 * longest path (links usually point from a short convenient name into a deeper real location).
 */
import type { FsFile } from '../../domain/index.ts';

function better(a: FsFile, b: FsFile): FsFile {
  if (a.path === `usr/${b.path}`) return a;
  if (b.path === `usr/${a.path}`) return b;
  if (a.path.length !== b.path.length) return a.path.length > b.path.length ? a : b;
  return a.path < b.path ? a : b;
}

/** One file per content buffer, in the input order of the kept files. */
export function withoutAliases(files: Iterable<FsFile>): FsFile[] {
  const byContent = new Map<Buffer, FsFile>();
  const all: FsFile[] = [];
  for (const f of files) {
    all.push(f);
    const had = byContent.get(f.content);
    byContent.set(f.content, had ? better(had, f) : f);
  }
  return all.filter((f) => byContent.get(f.content) === f);
}
