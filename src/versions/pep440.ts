/**
 * PEP 440 (PyPI), ordered like pypa `packaging.version.Version`: epoch, release (trailing zeros
 * ignored), pre (a < b < rc), post, dev, local (numeric segments > alphanumeric ones). Spelling
 * variants are normalised (alpha→a, c/pre/preview→rc, rev/r→post, '-1' → post1, '_'/'-' separators,
 * leading 'v', case). Versions packaging rejects (legacy 'french toast') are invalid; they sort
 * before every valid version and among themselves by old setuptools' LegacyVersion key, as
 * osv-scanner orders them.
 */
import { compareDigits, compareStrings, sign, type Comparator } from './types.ts';

const RE = new RegExp(
  '^\\s*v?' +
    '(?:(?<epoch>[0-9]+)!)?' +
    '(?<release>[0-9]+(?:\\.[0-9]+)*)' +
    '(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?' +
    '(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?' +
    '(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?' +
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?' +
    '\\s*$',
  'i',
);

export interface Pep440 {
  epoch: string;
  release: string[];
  pre?: [number, string];
  post?: string;
  dev?: string;
  local?: string[];
}

const PRE_RANK: Readonly<Record<string, number>> = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };

export function parsePep440(v: string): Pep440 | undefined {
  const m = RE.exec(v);
  const g = m?.groups;
  if (!g) return undefined;
  const out: Pep440 = { epoch: g['epoch'] ?? '0', release: g['release']!.split('.') };
  const preL = g['pre_l'];
  if (preL) out.pre = [PRE_RANK[preL.toLowerCase()] ?? 0, g['pre_n'] ?? '0'];
  if (g['post']) out.post = g['post_n1'] ?? g['post_n2'] ?? '0';
  if (g['dev']) out.dev = g['dev_n'] ?? '0';
  if (g['local']) out.local = g['local'].toLowerCase().split(/[-_.]/);
  return out;
}

function compareRelease(a: readonly string[], b: readonly string[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = compareDigits(a[i] ?? '0', b[i] ?? '0');
    if (d) return d;
  }
  return 0;
}

/** packaging's _cmpkey, expressed as comparisons. */
function preKey(v: Pep440): number {
  // dev-only releases (1.0.dev0) sort before pre-releases; no pre and no dev sorts after them
  if (!v.pre && !v.post && v.dev !== undefined) return -1;
  if (!v.pre) return 1;
  return 0;
}

function compareLocal(a: readonly string[] | undefined, b: readonly string[] | undefined): number {
  if (!a || !b) return a ? 1 : b ? -1 : 0;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) {
      const d = compareDigits(x, y);
      if (d) return d;
    } else if (xn !== yn) return xn ? 1 : -1;
    else if (x !== y) return compareStrings(x, y);
  }
  return 0;
}

export function comparePep440Parsed(a: Pep440, b: Pep440): number {
  return (
    compareDigits(a.epoch, b.epoch) ||
    compareRelease(a.release, b.release) ||
    comparePre(a, b) ||
    compareOpt(a.post, b.post, -1) ||
    compareOpt(a.dev, b.dev, 1) ||
    compareLocal(a.local, b.local)
  );
}

function comparePre(a: Pep440, b: Pep440): number {
  const ka = preKey(a);
  const kb = preKey(b);
  if (ka !== kb) return ka - kb;
  if (ka !== 0 || !a.pre || !b.pre) return 0;
  return a.pre[0] - b.pre[0] || compareDigits(a.pre[1], b.pre[1]);
}

/** Optional numeric part; `missing` is how an absent value sorts (-1: first, 1: last). */
function compareOpt(a: string | undefined, b: string | undefined, missing: number): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? missing : -missing;
  return compareDigits(a, b);
}

const LEGACY_REPLACE: Readonly<Record<string, string>> = { pre: 'c', preview: 'c', '-': 'final-', rc: 'c', dev: '@' };

/**
 * The legacy (pre-PEP 440) key old setuptools used and osv-scanner still applies to such versions:
 * numbers zero-padded to 8, words prefixed '*', '*final' appended, trailing zeros dropped.
 */
export function legacyKey(version: string): string[] {
  const parts: string[] = [];
  const raw = version.toLowerCase().split(/(\d+|[a-z]+|\.|-)/);
  const pieces: string[] = [];
  for (const r of raw) {
    const part = LEGACY_REPLACE[r] ?? r;
    if (!part || part === '.') continue;
    pieces.push(/^\d/.test(part) ? part.padStart(8, '0') : `*${part}`);
  }
  pieces.push('*final');
  for (const part of pieces) {
    if (part.startsWith('*')) {
      if (part < '*final') while (parts.length > 0 && parts[parts.length - 1] === '*final-') parts.pop();
      while (parts.length > 0 && parts[parts.length - 1] === '00000000') parts.pop();
    }
    parts.push(part);
  }
  return parts;
}

function compareKeys(a: readonly string[], b: readonly string[]): -1 | 0 | 1 {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return compareStrings(a[i]!, b[i]!);
  return sign(a.length - b.length);
}

export function comparePep440(a: string, b: string): -1 | 0 | 1 {
  const x = parsePep440(a);
  const y = parsePep440(b);
  if (x && y) return sign(comparePep440Parsed(x, y));
  // legacy versions sort before every PEP 440 version (setuptools LegacyVersion had epoch -1)
  if (!x && !y) return compareKeys(legacyKey(a), legacyKey(b));
  return x ? 1 : -1;
}

export const pep440: Comparator = {
  id: 'pep440',
  isValid: (v) => parsePep440(v) !== undefined,
  compare: comparePep440,
};
