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
/** A relative path without '', '.' or '..' components. */
function isPlain(p: string): boolean {
  if (p === '' || p.charCodeAt(0) === 0x2f || p.charCodeAt(p.length - 1) === 0x2f || p.includes('//')) return false;
  // no '.' or '..' component
  for (let i = p.indexOf('.'); i >= 0; i = p.indexOf('.', i + 1)) {
    if (i > 0 && p.charCodeAt(i - 1) !== 0x2f) continue;
    const end = p.charCodeAt(i + 1) === 0x2e ? i + 2 : i + 1;
    if (end === p.length || p.charCodeAt(end) === 0x2f) return false;
  }
  return true;
}
/** What a path component that is not in the tree resolves through (never written). */
const NOTHING: Node = Object.freeze({});
const MAX_ALIASES = 200_000;
const S_IFREG = 0o100000;

export class MergedTree {
  readonly root: Node = {};
  /** Every layer's own copy of each kept path, lowest first (for layer attribution). */
  readonly #copies = new Map<string, FsFile[]>();

  /** Derived from the tree, dropped by every apply: all nodes in walk order, resolutions, "holds a kept file". */
  #entries: [string, Node][] | undefined;
  readonly #resolved = new Map<string, [string, Node | undefined] | null>();
  #holds = new WeakMap<Node, boolean>();
  /** Link paths some layer's walker found wanted as links (LayerAnalysis.wantedLinks); null = not known for every layer. */
  #wantedLinks: Set<string> | null = new Set();
  /** Paths recorded as hard links by some layer. */
  readonly #hardPaths = new Set<string>();

  #node(path: string, create: boolean): Node | undefined {
    let n: Node = this.root;
    if (!path) return n;
    for (let start = 0; ; ) {
      const slash = path.indexOf('/', start);
      const name = slash < 0 ? path.slice(start) : path.slice(start, slash);
      let c: Node | undefined = n.children?.get(name);
      if (!c) {
        if (!create) return undefined;
        c = {};
        (n.children ??= new Map()).set(name, c);
      }
      n = c;
      if (slash < 0) return n;
      start = slash + 1;
    }
  }

  #delete(path: string): void {
    const i = path.lastIndexOf('/');
    const parent = this.#node(i >= 0 ? path.slice(0, i) : '', false);
    parent?.children?.delete(i >= 0 ? path.slice(i + 1) : path);
  }

  /** Applies one layer on top of what is there. `layer` is the digest recorded on its files. */
  apply(a: LayerAnalysis, layer: string | undefined): void {
    this.#entries = undefined;
    this.#resolved.clear();
    this.#holds = new WeakMap();
    if (a.symlinks.length) {
      if (!a.wantedLinks) this.#wantedLinks = null;
      else if (this.#wantedLinks) for (const l of a.wantedLinks) this.#wantedLinks.add(l);
    }
    for (const [path] of a.hardlinks) this.#hardPaths.add(path);
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
    if (!followLast || !isPlain(path)) return this.#resolve(path, followLast);
    return this.#resolvePlain(path, MAX_LINK_HOPS)?.[0];
  }

  /**
   * `resolve` for a path without '', '.' or '..' components: its parent directory first (memoised:
   * the hundreds of links of one directory resolve it once), then the last component. Returns the
   * real path and its node (undefined when it is not in the tree), or undefined on a loop.
   */
  #resolvePlain(path: string, budget: number): [string, Node | undefined] | undefined {
    const known = this.#resolved.get(path);
    if (known !== undefined) return known ?? undefined;
    const slash = path.lastIndexOf('/');
    let parent: [string, Node | undefined] | undefined = ['', this.root];
    if (slash >= 0) parent = this.#resolvePlain(path.slice(0, slash), budget);
    if (!parent) return undefined;
    const name = slash >= 0 ? path.slice(slash + 1) : path;
    const [dir, dirNode] = parent;
    const n = dirNode?.children?.get(name);
    let out: [string, Node | undefined] | undefined;
    if (n?.link === undefined) out = [dir ? `${dir}/${name}` : name, n];
    else if (budget <= 0) out = undefined;
    else {
      const t = n.link;
      const joined = t.startsWith('/') ? t.replace(/^\/+/, '') : dir ? `${dir}/${t}` : t;
      if (isPlain(joined)) out = this.#resolvePlain(joined, budget - 1);
      else {
        const real = this.#resolve(joined, true);
        out = real === undefined ? undefined : [real, this.#node(real, false)];
      }
    }
    // a failure found with a smaller budget is not the path's answer: keep only full-budget ones
    if (out || budget === MAX_LINK_HOPS) this.#resolved.set(path, out ?? null);
    return out;
  }

  #nodeOf(real: string | undefined): [string, Node | undefined] | undefined {
    return real === undefined ? undefined : [real, this.#node(real, false)];
  }

  #resolve(path: string, followLast: boolean): string | undefined {
    // components still to walk, the next one last
    const pending = path.split('/').reverse();
    const cur: string[] = [];
    const stack: Node[] = [this.root];
    let hops = 0;
    while (pending.length) {
      const name = pending.pop() ?? '';
      if (name === '' || name === '.') continue;
      if (name === '..') {
        if (cur.length) {
          cur.pop();
          stack.pop();
        }
        continue;
      }
      const n = stack[stack.length - 1]?.children?.get(name);
      if (n?.link !== undefined && (pending.length > 0 || followLast)) {
        if (++hops > MAX_LINK_HOPS) return undefined;
        const target = n.link;
        if (target.startsWith('/')) {
          cur.length = 0;
          stack.length = 1;
        }
        const parts = target.split('/');
        for (let k = parts.length - 1; k >= 0; k--) pending.push(parts[k] ?? '');
        continue;
      }
      cur.push(name);
      stack.push(n ?? NOTHING);
    }
    return cur.join('/');
  }

  get(path: string): Node | undefined {
    return this.#node(path, false);
  }

  /** Every (path, node) of the tree, in walk order, collected once per state of the tree. */
  #all(): [string, Node][] {
    if (this.#entries) return this.#entries;
    const out: [string, Node][] = [];
    const visit = (node: Node, prefix: string): void => {
      if (!node.children) return;
      for (const [name, child] of node.children) {
        const p = prefix ? `${prefix}/${name}` : name;
        out.push([p, child]);
        if (child.children) visit(child, p);
      }
    };
    visit(this.root, '');
    return (this.#entries = out);
  }

  /** Does this subtree hold a kept file? */
  #holdsFiles(n: Node): boolean {
    if (n.file) return true;
    if (!n.children) return false;
    let r = this.#holds.get(n);
    if (r === undefined) {
      r = false;
      for (const c of n.children.values()) {
        if (this.#holdsFiles(c)) {
          r = true;
          break;
        }
      }
      this.#holds.set(n, r);
    }
    return r;
  }

  /** The kept files under `t` (relative paths, walk order), skipping subtrees that hold none. */
  #filesUnder(t: Node, prefix: string, out: [string, Node][]): [string, Node][] {
    for (const [name, c] of t.children ?? []) {
      if (!this.#holdsFiles(c)) continue;
      const p = prefix ? `${prefix}/${name}` : name;
      if (c.file) out.push([p, c]);
      else this.#filesUnder(c, p, out);
    }
    return out;
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
    for (const path of [...this.#hardPaths].sort()) {
      const n = this.get(path);
      if (n?.hard !== undefined) add(n.hard, path);
    }
    // links wanted as links: as every layer's walker recorded them, else ask for each link
    const wanted = this.#wantedLinks ? [...this.#wantedLinks].sort() : this.#all().filter(([, n]) => n.link !== undefined).map(([p]) => p);
    const probe = !this.#wantedLinks;
    for (const path of wanted) {
      const n = this.get(path);
      if (n?.link === undefined) continue;
      if (probe && !(sel.wantsLinked ?? sel.wants).call(sel, { path, size: 0, mode: S_IFREG | 0o644 })) continue;
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
    for (const [path, n] of this.#all()) {
      if (n.file) fs.set(n.file.path === path ? n.file : { ...n.file, path });
      else if (n.link !== undefined) links.push([path, n]);
    }
    let aliases = 0;
    for (const [path] of links) {
      const r = isPlain(path) ? this.#resolvePlain(path, MAX_LINK_HOPS) : this.#nodeOf(this.#resolve(path, true));
      if (r === undefined) {
        notes.push(`symlink /${path} could not be resolved (loop or more than ${MAX_LINK_HOPS} links)`);
        continue;
      }
      const [real, t] = r;
      if (real === path || !t) continue;
      if (t.file) {
        if (!fs.get(path) && sel.wants({ path, size: t.file.size, mode: t.file.mode })) {
          fs.set({ ...t.file, path, linkOf: realPath(t.file) });
          aliases++;
        }
        continue;
      }
      if (!t.children) continue;
      // a directory symlink: expose wanted files under the link's path too
      for (const [sub, c] of this.#filesUnder(t, '', [])) {
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
