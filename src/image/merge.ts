/**
 * The layer applier: merges per-layer analyses in order into one tree (OCI whiteouts and opaque
 * directories hide lower layers), resolves symlinks inside that merged tree (never on the host,
 * bounded depth, '..' clamped at the root) and materialises wanted paths that live behind a link:
 * etc/os-release → ../usr/lib/os-release, lib → usr/lib, hard links. Such a copy shares its
 * content with the real file and carries `linkOf` (the real path), so language catalogers report a
 * package once, at the path Trivy (which reads regular files only) reports it.
 */
import { MemoryFs, type FsFile } from '../domain/fs.ts';
import type { FileSelector, LayerAnalysis } from './layers.ts';

interface Node {
  children?: Map<string, Node>;
  file?: FsFile;
  /** Symlink target as written. */
  link?: string;
  /** Hard link target path not yet resolved (its file was not kept in the first pass). */
  hard?: string;
  /** A regular file that exists but whose content nobody keeps. */
  present?: boolean;
  /** A directory known to exist (a link target), whatever is kept inside. */
  dir?: boolean;
}

/** Where a file really lives: a link copy's real path, else its own. */
const realPath = (f: FsFile): string => f.linkOf ?? f.path;

const MAX_LINK_HOPS = 40;
const MAX_ALIASES = 200_000;
const S_IFREG = 0o100000;

export class MergedTree {
  readonly root: Node = {};
  /** Every layer's own copy of each kept path, lowest first (for layer attribution). */
  readonly #copies = new Map<string, FsFile[]>();

  #node(path: string, create: boolean): Node | undefined {
    let n: Node = this.root;
    if (!path) return n;
    for (const name of path.split('/')) {
      let c: Node | undefined = n.children?.get(name);
      if (!c) {
        if (!create) return undefined;
        c = {};
        (n.children ??= new Map()).set(name, c);
      }
      n = c;
    }
    return n;
  }

  #delete(path: string): void {
    const i = path.lastIndexOf('/');
    const parent = this.#node(i >= 0 ? path.slice(0, i) : '', false);
    parent?.children?.delete(i >= 0 ? path.slice(i + 1) : path);
  }

  /** Applies one layer on top of what is there. `layer` is the digest recorded on its files. */
  apply(a: LayerAnalysis, layer: string | undefined): void {
    for (const d of a.opaqueDirs) {
      const n = this.#node(d, false);
      if (n) delete n.children;
    }
    for (const w of a.whiteouts) this.#delete(w);
    for (const [path, target] of a.symlinks) {
      const n = this.#node(path, true);
      if (!n) continue;
      n.link = target;
      delete n.file;
      delete n.hard;
      delete n.present;
      delete n.children;
    }
    for (const d of a.presentDirs ?? []) {
      const n = this.#node(d, true);
      if (!n || n.link !== undefined || n.file) continue;
      n.dir = true;
    }
    for (const p of a.present ?? []) {
      const n = this.#node(p, true);
      if (!n) continue;
      n.present = true;
      delete n.file;
      delete n.link;
      delete n.hard;
      delete n.children;
    }
    for (const f of a.files) {
      const n = this.#node(f.path, true);
      if (!n) continue;
      const file: FsFile = { path: f.path, content: f.content, mode: f.mode, size: f.size };
      if (layer !== undefined) {
        file.layer = layer;
        const c = this.#copies.get(f.path);
        if (c) c.push(file);
        else this.#copies.set(f.path, [file]);
      }
      n.file = file;
      delete n.link;
      delete n.hard;
      delete n.present;
      delete n.children;
    }
    for (const [path, target] of a.hardlinks) {
      const n = this.#node(path, true);
      if (!n) continue;
      const t = this.#node(target, false);
      delete n.link;
      delete n.children;
      if (t?.file) {
        n.file = { ...t.file, path, linkOf: realPath(t.file) };
        delete n.hard;
      } else if (t?.present) {
        delete n.file;
        delete n.hard;
        n.present = true;
      } else {
        delete n.file;
        n.hard = target;
      }
    }
  }

  /** Resolves every symlink on `path` (the last component too unless `followLast` is false). */
  resolve(path: string, followLast = true): string | undefined {
    let parts = path.split('/');
    let i = 0;
    const cur: string[] = [];
    const stack: Node[] = [this.root];
    let hops = 0;
    while (i < parts.length) {
      const name = parts[i] ?? '';
      if (name === '' || name === '.') {
        i++;
        continue;
      }
      if (name === '..') {
        if (cur.length) {
          cur.pop();
          stack.pop();
        }
        i++;
        continue;
      }
      const parent = stack[stack.length - 1];
      const n = parent?.children?.get(name);
      const last = i === parts.length - 1;
      if (n?.link !== undefined && (!last || followLast)) {
        if (++hops > MAX_LINK_HOPS) return undefined;
        const target = n.link;
        parts = [...target.split('/'), ...parts.slice(i + 1)];
        i = 0;
        if (target.startsWith('/')) {
          cur.length = 0;
          stack.length = 1;
        }
        continue;
      }
      cur.push(name);
      stack.push(n ?? {});
      i++;
    }
    return cur.join('/');
  }

  get(path: string): Node | undefined {
    return this.#node(path, false);
  }

  /** Every (path, node) in the tree, depth first. */
  *walk(node: Node = this.root, prefix = ''): Generator<[string, Node]> {
    if (!node.children) return;
    for (const [name, child] of node.children) {
      const p = prefix ? `${prefix}/${name}` : name;
      yield [p, child];
      if (child.children) yield* this.walk(child, p);
    }
  }

  /**
   * Real paths the selector needs but no pass has read yet, each with the link paths it is wanted
   * under: targets of wanted file symlinks and of hard links whose target was not kept. A second
   * pass over the layers collects them.
   */
  missingTargets(sel: FileSelector): Map<string, string[]> {
    const need = new Map<string, string[]>();
    const add = (real: string, via: string): void => {
      const v = need.get(real);
      if (v) v.push(via);
      else need.set(real, [via]);
    };
    for (const [path, n] of this.walk()) {
      if (n.hard !== undefined) add(n.hard, path);
      if (n.link === undefined) continue;
      if (!(sel.wantsLinked ?? sel.wants).call(sel, { path, size: 0, mode: S_IFREG | 0o644 })) continue;
      const real = this.resolve(path);
      if (!real || real === path) continue;
      const t = this.get(real);
      if (!t || (!t.file && !t.children && t.link === undefined && !t.present && !t.dir)) add(real, path);
    }
    return need;
  }

  /** The merged view: every kept file, plus wanted paths reachable only through a link. */
  toFs(sel: FileSelector, notes: string[]): MemoryFs {
    const fs = new MemoryFs();
    // what each layer had at a path several layers wrote (deleted in between or not, as Trivy's applier sees it)
    for (const [path, copies] of this.#copies) if (copies.length > 1) fs.setLayerCopies(path, copies);
    const links: [string, Node][] = [];
    for (const [path, n] of this.walk()) {
      if (n.file) fs.set(n.file.path === path ? n.file : { ...n.file, path });
      else if (n.link !== undefined) links.push([path, n]);
    }
    let aliases = 0;
    for (const [path] of links) {
      const real = this.resolve(path);
      if (real === undefined) {
        notes.push(`symlink /${path} could not be resolved (loop or more than ${MAX_LINK_HOPS} links)`);
        continue;
      }
      if (real === path) continue;
      const t = this.get(real);
      if (!t) continue;
      if (t.file) {
        if (!fs.get(path) && sel.wants({ path, size: t.file.size, mode: t.file.mode })) {
          fs.set({ ...t.file, path, linkOf: realPath(t.file) });
          aliases++;
        }
        continue;
      }
      if (!t.children) continue;
      // a directory symlink: expose wanted files under the link's path too
      for (const [sub, c] of this.walk(t, '')) {
        if (!c.file) continue;
        const alias = `${path}/${sub}`;
        if (fs.get(alias) || !sel.wants({ path: alias, size: c.file.size, mode: c.file.mode })) continue;
        // the alias must really resolve to this file (a deeper symlink may point elsewhere)
        if (this.resolve(alias) !== `${real}/${sub}`) continue;
        fs.set({ ...c.file, path: alias, linkOf: realPath(c.file) });
        if (++aliases > MAX_ALIASES) {
          notes.push('too many symlinked paths; stopped following directory symlinks');
          return fs;
        }
      }
    }
    return fs;
  }
}
