/**
 * go.mod and go.sum, read as Trivy 0.44 reads them:
 *  - `require` lines (single and blocks) give the modules, versions without the leading 'v';
 *    `// indirect` marks indirect ones, which are dropped when the `go` directive is older than
 *    1.17 (or missing), because before 1.17 go.mod did not list the full graph;
 *  - `replace old [v] => new v` swaps a required module for another module version; a replacement
 *    by a local directory (no version) removes the module (nothing versioned is left);
 *  - when no requirement is marked indirect (go.mod written before 1.17), every module of the
 *    go.sum beside it that go.mod does not name is added as indirect (go.sum's last version of it).
 */

export interface GoModRequire {
  path: string;
  /** Without the leading 'v'. */
  version: string;
  indirect: boolean;
}

export interface GoMod {
  module?: string;
  goVersion?: string;
  requires: GoModRequire[];
}

export class GoModError extends Error {}

interface Line {
  tokens: string[];
  comment: string;
  no: number;
}

/** Tokens of one line: bare words, "interpreted" and `raw` strings; the // comment apart. */
function tokenize(line: string, no: number): Line {
  const tokens: string[] = [];
  let comment = '';
  let i = 0;
  while (i < line.length) {
    const c = line[i] ?? '';
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (line.startsWith('//', i)) {
      comment = line.slice(i + 2).trim();
      break;
    }
    if (c === '"' || c === '`') {
      let j = i + 1;
      let s = '';
      while (j < line.length && line[j] !== c) {
        if (c === '"' && line[j] === '\\' && j + 1 < line.length) j++;
        s += line[j];
        j++;
      }
      if (j >= line.length) throw new GoModError(`line ${no}: unterminated string`);
      tokens.push(s);
      i = j + 1;
      continue;
    }
    if (c === '(' || c === ')') {
      tokens.push(c);
      i++;
      continue;
    }
    let j = i;
    while (j < line.length && !' \t\r()"`'.includes(line[j] ?? ' ') && !line.startsWith('//', j)) j++;
    if (line.startsWith('=>', i) && j === i) j = i + 2;
    tokens.push(line.slice(i, j));
    i = j;
  }
  return { tokens, comment, no };
}

const stripV = (v: string): string => (v.startsWith('v') ? v.slice(1) : v);

/** '1.16' < '1.17'? Missing → true (old go.mod files have no go directive). */
function before117(v: string | undefined): boolean {
  if (!v) return true;
  const [maj, min] = v.split('.').map((x) => Number.parseInt(x, 10));
  if (maj === undefined || Number.isNaN(maj)) return true;
  return maj < 1 || (maj === 1 && (min ?? 0) < 17);
}

interface Replace {
  oldPath: string;
  oldVersion?: string;
  newPath: string;
  newVersion?: string;
}

export function parseGoMod(text: string): GoMod {
  const lines = text.split('\n');
  const reqs: (GoModRequire & { raw: string })[] = [];
  const replaces: Replace[] = [];
  const out: GoMod = { requires: [] };
  let block: string | undefined;
  const handle = (verb: string, args: string[], l: Line): void => {
    switch (verb) {
      case 'module':
        if (args[0]) out.module = args[0];
        break;
      case 'go':
        if (args[0]) out.goVersion = args[0];
        break;
      case 'require': {
        const [path, version] = args;
        if (!path || !version) throw new GoModError(`line ${l.no}: usage: require module/path v1.2.3`);
        reqs.push({ path, version: stripV(version), raw: version, indirect: l.comment === 'indirect' || l.comment.startsWith('indirect;') });
        break;
      }
      case 'replace': {
        const arrow = args.indexOf('=>');
        if (arrow < 1 || arrow > 2 || args.length < arrow + 2) throw new GoModError(`line ${l.no}: usage: replace old [v] => new [v]`);
        const r: Replace = { oldPath: args[0] ?? '', newPath: args[arrow + 1] ?? '' };
        if (arrow === 2 && args[1]) r.oldVersion = args[1];
        const nv = args[arrow + 2];
        if (nv) r.newVersion = nv;
        replaces.push(r);
        break;
      }
      default:
      // exclude, retract, toolchain, godebug, tool, ignore: nothing installed
    }
  };
  for (let n = 0; n < lines.length; n++) {
    const l = tokenize(lines[n] ?? '', n + 1);
    if (!l.tokens.length) continue;
    if (block !== undefined) {
      if (l.tokens[0] === ')') {
        block = undefined;
        continue;
      }
      handle(block, l.tokens, l);
      continue;
    }
    const [verb, ...args] = l.tokens;
    if (!verb) continue;
    if (args[0] === '(') {
      if (args.length > 1 && args[args.length - 1] === ')') {
        handle(verb, args.slice(1, -1), l); // `require ( a v1 )` on one line
        continue;
      }
      block = verb;
      continue;
    }
    handle(verb, args, l);
  }
  if (block !== undefined) throw new GoModError(`unterminated ${block} ( block`);
  const skipIndirect = before117(out.goVersion);
  const libs = new Map<string, GoModRequire>();
  for (const r of reqs) {
    if (skipIndirect && r.indirect) continue;
    libs.set(r.path, { path: r.path, version: r.version, indirect: r.indirect });
  }
  for (const r of replaces) {
    const old = libs.get(r.oldPath);
    if (!old) continue;
    if (r.oldVersion !== undefined && old.version !== stripV(r.oldVersion)) continue;
    libs.delete(r.oldPath);
    if (r.newVersion === undefined) continue; // a local directory
    libs.set(r.newPath, { path: r.newPath, version: stripV(r.newVersion), indirect: old.indirect });
  }
  out.requires = [...libs.values()];
  return out;
}

/** go.sum: module → its last listed version (go.sum lists versions in order), without 'v' and '/go.mod'. */
export function parseGoSum(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const f = raw.trim().split(/\s+/);
    if (f.length < 2 || !f[0] || !f[1]) continue;
    out.set(f[0], stripV(f[1]).replace(/\/go\.mod$/, ''));
  }
  return out;
}

/** Trivy's rule: go.sum completes go.mod when no requirement is marked indirect. */
export function mergeGoSum(mod: GoMod, sum: Map<string, string> | undefined): GoModRequire[] {
  if (!sum || mod.requires.some((r) => r.indirect)) return mod.requires;
  const out = new Map(mod.requires.map((r) => [r.path, r]));
  for (const [path, version] of sum) if (!out.has(path)) out.set(path, { path, version, indirect: true });
  return [...out.values()];
}
