/**
 * Maven version order (the algorithm the Maven "Version Order Specification" describes, as
 * ComparableVersion implements it): split at '.', '-' and digit/letter transitions (a transition
 * counts as '-'); qualifiers alpha(a) < beta(b) < milestone(m) < rc(cr) < snapshot < ""(ga, final,
 * release) < sp < unknown qualifiers (alphabetical) ; '.qualifier' < '-qualifier' < '-number' <
 * '.number'; trailing null values (0, "", final, ga) trimmed before each '-'. Case-insensitive.
 *
 * Two sources disagree on a qualifier after '.', and we follow both where they can agree:
 * - current Maven (ComparableVersionTest, MNG-7644/7714): '2.0.alpha' = '2-alpha', '1.0.0.X1' <
 *   '1.0.0-X2', '1.0.final-redhat' < '1.0-sp1-redhat';
 * - the osv-scanner order of real advisory versions ('1.5.9.RC1' < '1.5.9-RC0', '.qualifier' before
 *   '-qualifier').
 * So: a '.'-piece that is only a qualifier reads as '-qualifier'; null values are trimmed before a
 * '.qualifier' as before a '-' (so '1.0.0.RC1' and '1-RC2' line up); '.final'/'.ga'/'.release' in the
 * middle of a version is kept (equal to padding, but it still separates what follows). Every string
 * is a valid Maven version.
 */
import { compareDigits, sign, type Comparator } from './types.ts';

interface Token {
  prefix: string;
  value: string;
  isNull: boolean;
  /** '.final', '.ga' or '.release' (value ''): trimmed only at the very end. */
  release?: boolean;
}

const KEYWORDS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const NUM = /^\d+$/;

function keywordRank(k: string): number {
  const i = KEYWORDS.indexOf(k);
  return i < 0 ? KEYWORDS.length : i;
}

function prefixRank(t: Token): number {
  if (NUM.test(t.value)) return t.prefix === '-' ? 2 : 3;
  return t.prefix === '-' ? 1 : 0;
}

function tokenLess(v: Token, w: Token): boolean {
  if (v.prefix !== w.prefix) return prefixRank(v) < prefixRank(w);
  const vn = NUM.test(v.value);
  const wn = NUM.test(w.value);
  if (vn && wn) return compareDigits(v.value, w.value) < 0;
  if (vn && !v.isNull) return false;
  if (wn && !w.isNull) return true;
  const a = keywordRank(v.value);
  const b = keywordRank(w.value);
  if (a === KEYWORDS.length && b === KEYWORDS.length) return v.value < w.value;
  return a < b;
}

function nullToken(other: Token): Token {
  // '.sp' and a kept '.final' are measured against "" (the release), other '.' tokens against 0
  if (other.prefix === '.') return { prefix: '.', value: other.value === 'sp' || other.value === '' ? '' : '0', isNull: true };
  return { prefix: '-', value: '', isNull: true };
}

function normalise(raw: string, last: boolean): string {
  let cur = raw.toLowerCase();
  if (cur === '') cur = '0';
  if (cur === 'cr') cur = 'rc';
  if (cur === 'ga' || cur === 'final' || cur === 'release') cur = '';
  if (!last) {
    if (cur === 'a') cur = 'alpha';
    else if (cur === 'b') cur = 'beta';
    else if (cur === 'm') cur = 'milestone';
  }
  if (NUM.test(cur)) cur = cur.replace(/^0+(?=\d)/, '');
  return cur;
}

/** Where trimming restarts: a '-' token or a '.qualifier' (Maven treats '.X' as '-X'). */
function startsGroup(t: Token): boolean {
  return t.prefix === '-' || (t.prefix === '.' && !NUM.test(t.value));
}

export function parseMaven(str: string): Token[] {
  const tokens: Token[] = [];
  const parts = str.trim().split(/([-.])/);
  for (let i = 0; i < parts.length; i += 2) {
    let prefix = i === 0 ? '' : parts[i - 1]!;
    const piece = parts[i]!;
    const chunks = piece.match(/\d+|\D+/g) ?? [''];
    chunks.forEach((c, j) => {
      if (j > 0) prefix = '-';
      const value = normalise(c, j === chunks.length - 1);
      // '.qualifier' as a whole piece reads as '-qualifier' (Maven: '2.0.alpha' = '2-alpha')
      const p = prefix === '.' && chunks.length === 1 && value !== '' && !NUM.test(value) ? '-' : prefix;
      tokens.push({ prefix: p, value, isNull: false, release: p === '.' && value === '' && c !== '' });
    });
  }
  // trim trailing null values, then again before each remaining '-' or '.qualifier'
  let i = tokens.length - 1;
  while (i > 0) {
    const t = tokens[i]!;
    if ((t.value === '0' || t.value === '') && !(t.release === true && i < tokens.length - 1)) {
      tokens.splice(i, 1);
      i--;
      continue;
    }
    while (i >= 0 && !startsGroup(tokens[i]!)) i--;
    i--;
  }
  return tokens;
}

function sameQualifier(a: Token, b: Token): boolean {
  return a.value === b.value && a.value !== '' && !NUM.test(a.value) && a.prefix !== '' && b.prefix !== '';
}

function equalToken(a: Token, b: Token): boolean {
  return a.prefix === b.prefix && a.value === b.value;
}

export function compareMaven(a: string, b: string): -1 | 0 | 1 {
  const v = parseMaven(a);
  const w = parseMaven(b);
  const n = Math.max(v.length, w.length);
  // the same qualifier after '.' and after '-' ('1.0.0.RC2' vs '1.0.0-RC1'): what follows decides,
  // as in current Maven; the separator order ('.q' < '-q') only when nothing else does
  let tie: -1 | 0 | 1 = 0;
  for (let i = 0; i < n; i++) {
    const l = v[i] ?? nullToken(w[i]!);
    const r = w[i] ?? nullToken(v[i]!);
    if (equalToken(l, r)) continue;
    if (sameQualifier(l, r)) {
      if (tie === 0) tie = tokenLess(l, r) ? -1 : 1;
      continue;
    }
    return tokenLess(l, r) ? -1 : 1;
  }
  return tie;
}

export const maven: Comparator = { id: 'maven', isValid: (v) => v.trim() !== '', compare: (a, b) => sign(compareMaven(a, b)) };
