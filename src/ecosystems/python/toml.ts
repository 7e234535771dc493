/**
 * A small TOML reader for lock and project files (poetry.lock, pyproject.toml): tables, arrays of
 * tables, dotted and quoted keys, basic/literal/multi-line strings, arrays and inline tables.
 * Numbers, booleans and dates are kept as their source text. Not a validating parser: it reads
 * what well-formed files contain and throws TomlError (with a line number) on what it cannot.
 */

export type TomlValue = string | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

export class TomlError extends Error {
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'TomlError';
  }
}

const MAX_DEPTH = 64;

class Reader {
  i = 0;
  line = 1;
  readonly s: string;
  constructor(s: string) {
    this.s = s;
  }

  fail(msg: string): never {
    throw new TomlError(msg, this.line);
  }

  peek(): string {
    return this.s[this.i] ?? '';
  }

  /** Skip spaces/tabs; with `newlines` also newlines and comments. */
  ws(newlines: boolean): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === ' ' || c === '\t' || c === '\r') this.i++;
      else if (c === '#') {
        const nl = this.s.indexOf('\n', this.i);
        this.i = nl < 0 ? this.s.length : nl;
      } else if (c === '\n' && newlines) {
        this.i++;
        this.line++;
      } else return;
    }
  }

  key(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.ws(false);
      const c = this.peek();
      if (c === '"' || c === "'") parts.push(this.string());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(this.s.slice(this.i, this.i + 256));
        if (!m) this.fail('expected a key');
        parts.push(m[0]);
        this.i += m[0].length;
      }
      this.ws(false);
      if (this.peek() !== '.') return parts;
      this.i++;
    }
  }

  string(): string {
    const q = this.peek();
    const multi = this.s.startsWith(q.repeat(3), this.i);
    if (multi) {
      this.i += 3;
      if (this.s[this.i] === '\n') {
        this.i++;
        this.line++;
      } else if (this.s.startsWith('\r\n', this.i)) {
        this.i += 2;
        this.line++;
      }
    } else this.i++;
    let out = '';
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) this.fail('unterminated string');
      if (!multi && c === q) {
        this.i++;
        return out;
      }
      if (multi && this.s.startsWith(q.repeat(3), this.i)) {
        // up to two quotes may precede the closing delimiter: 3 to 5 quotes in a row close it
        let n = 3;
        while (this.s[this.i + n] === q && n < 5) n++;
        out += q.repeat(n - 3);
        this.i += n;
        return out;
      }
      if (c === '\n') {
        if (!multi) this.fail('newline in string');
        this.line++;
      }
      if (c === '\\' && q === '"') {
        const e = this.s[this.i + 1] ?? '';
        this.i += 2;
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case 'u':
          case 'U': {
            const n = e === 'u' ? 4 : 8;
            const hex = this.s.slice(this.i, this.i + n);
            if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== n) this.fail('bad unicode escape');
            const cp = Number.parseInt(hex, 16);
            out += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
            this.i += n;
            break;
          }
          default:
            if (multi && (e === '\n' || e === ' ' || e === '\t' || e === '\r')) {
              // line-ending backslash: trim whitespace up to the next non-blank
              this.i--;
              while (/[\s]/.test(this.s[this.i] ?? '')) {
                if (this.s[this.i] === '\n') this.line++;
                this.i++;
              }
            } else this.fail(`bad escape \\${e}`);
        }
        continue;
      }
      out += c;
      this.i++;
    }
  }

  value(depth: number): TomlValue {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    const c = this.peek();
    if (c === '"' || c === "'") return this.string();
    if (c === '[') {
      this.i++;
      const arr: TomlValue[] = [];
      for (;;) {
        this.ws(true);
        if (this.peek() === ']') {
          this.i++;
          return arr;
        }
        arr.push(this.value(depth + 1));
        this.ws(true);
        if (this.peek() === ',') this.i++;
        else if (this.peek() !== ']') this.fail('expected , or ] in array');
      }
    }
    if (c === '{') {
      this.i++;
      const t: TomlTable = {};
      this.ws(false);
      if (this.peek() === '}') {
        this.i++;
        return t;
      }
      for (;;) {
        const k = this.key();
        this.ws(false);
        if (this.peek() !== '=') this.fail('expected = in inline table');
        this.i++;
        this.ws(false);
        setPath(t, k, this.value(depth + 1), this);
        this.ws(false);
        if (this.peek() === ',') {
          this.i++;
          continue;
        }
        if (this.peek() === '}') {
          this.i++;
          return t;
        }
        this.fail('expected , or } in inline table');
      }
    }
    const m = /^[^\s,\]}#]+/.exec(this.s.slice(this.i, this.i + 128));
    if (!m) this.fail('expected a value');
    this.i += m[0].length;
    return m[0];
  }
}

function isTable(v: TomlValue | undefined): v is TomlTable {
  return typeof v === 'object' && !Array.isArray(v);
}

function setPath(root: TomlTable, path: string[], v: TomlValue, r: Reader): void {
  let t = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i] ?? '';
    const next = t[k];
    if (next === undefined) t = t[k] = {};
    else if (isTable(next)) t = next;
    else r.fail(`key ${path.join('.')} redefines a value`);
  }
  t[path[path.length - 1] ?? ''] = v;
}

/** Walk to (creating) the table a `[a.b]` or `[[a.b]]` header names. */
function openTable(root: TomlTable, path: string[], array: boolean, r: Reader): TomlTable {
  let t = root;
  for (let i = 0; i < path.length; i++) {
    const k = path[i] ?? '';
    const last = i === path.length - 1;
    let next = t[k];
    if (last && array) {
      if (next === undefined) next = t[k] = [];
      if (!Array.isArray(next)) r.fail(`[[${path.join('.')}]] is not an array of tables`);
      const fresh: TomlTable = {};
      next.push(fresh);
      return fresh;
    }
    if (next === undefined) next = t[k] = {};
    if (Array.isArray(next)) {
      const tail = next[next.length - 1];
      if (!isTable(tail)) r.fail(`${path.join('.')} is not a table`);
      t = tail;
    } else if (isTable(next)) t = next;
    else r.fail(`${path.join('.')} is not a table`);
  }
  return t;
}

export function parseToml(text: string): TomlTable {
  const r = new Reader(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  const root: TomlTable = {};
  let cur = root;
  for (;;) {
    r.ws(true);
    if (r.i >= r.s.length) return root;
    if (r.peek() === '[') {
      const array = r.s[r.i + 1] === '[';
      r.i += array ? 2 : 1;
      const path = r.key();
      if (!r.s.startsWith(array ? ']]' : ']', r.i)) r.fail('unterminated table header');
      r.i += array ? 2 : 1;
      cur = openTable(root, path, array, r);
    } else {
      const k = r.key();
      r.ws(false);
      if (r.peek() !== '=') r.fail('expected =');
      r.i++;
      r.ws(false);
      setPath(cur, k, r.value(0), r);
    }
    r.ws(false);
    const c = r.peek();
    if (c !== '\n' && c !== '') r.fail('expected end of line');
  }
}

export const tomlString = (v: TomlValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
export const tomlTable = (v: TomlValue | undefined): TomlTable | undefined => (isTable(v) ? v : undefined);
export const tomlArray = (v: TomlValue | undefined): TomlValue[] => (Array.isArray(v) ? v : []);
