/**
 * The merged filesystem exposes a wanted file under every path that reaches it through a symlink
 * (usr-merged `bin/` → `usr/bin/`, a venv's `lib64/` → `lib/`, pnpm's `node_modules/x` →
 * `node_modules/.pnpm/x@1/node_modules/x`) or a hard link; such entries share one content buffer.
 * Trivy reads regular files only, so a package is reported once, at its real path: the entry
 * without `linkOf` when the layer applier marks aliases, else by the usual layouts' rules — the
 * `usr/` twin of a usr-merge alias, `lib/` over `lib64/`, pnpm's store path, else the longest path
 * (links usually point from a short convenient name into a deeper real location).
 */
import type { FsFile } from '../../domain/index.ts';

function rank(a: FsFile, b: FsFile): FsFile {
  if ((a.linkOf === undefined) !== (b.linkOf === undefined)) return a.linkOf === undefined ? a : b;
  if (a.path === `usr/${b.path}`) return a;
  if (b.path === `usr/${a.path}`) return b;
  if (a.path.replace('/lib64/', '/lib/') === b.path && a.path !== b.path) return b;
  if (b.path.replace('/lib64/', '/lib/') === a.path && a.path !== b.path) return a;
  if (a.path.includes('/.pnpm/') !== b.path.includes('/.pnpm/')) return a.path.includes('/.pnpm/') ? a : b;
  if (a.path.length !== b.path.length) return a.path.length > b.path.length ? a : b;
  return a.path < b.path ? a : b;
}

/** Files grouped by shared content (aliases of one file), each group's real entry first; input order kept. */
export function aliasGroups(files: Iterable<FsFile>): FsFile[][] {
  const groups = new Map<Buffer, FsFile[]>();
  for (const f of files) {
    const g = groups.get(f.content);
    if (g) g.push(f);
    else groups.set(f.content, [f]);
  }
  const out: FsFile[][] = [];
  for (const g of groups.values()) {
    if (g.length > 1) {
      const real = g.reduce(rank);
      g.splice(g.indexOf(real), 1);
      g.unshift(real);
    }
    out.push(g);
  }
  return out;
}

/**
 * One entry per file: the real one. With `owned`, files an OS package owns under any of their
 * paths are left out (dpkg lists `/usr/share/nodejs/x`, the image also reaches it as
 * `usr/share/node_modules/x`).
 */
export function withoutAliases(files: Iterable<FsFile>, owned?: { owns(path: string): boolean }): FsFile[] {
  const out: FsFile[] = [];
  for (const g of aliasGroups(files)) if (!owned || !g.some((f) => owned.owns(f.path))) out.push(g[0] as FsFile);
  return out;
}
