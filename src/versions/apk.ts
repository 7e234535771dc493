/**
 * Alpine apk version comparison (apk-tools semantics, apk-package(5)):
 * number{.number}{letter}{_suffix{number}}{~hash}{-rN}. Components compare numerically (after the
 * first, a leading zero makes a component compare as a string, as apk-tools does); a letter sorts
 * after none; suffixes `_alpha _beta _pre _rc` < (none) < `_cvs _svn _git _hg _p`; then the commit
 * hash, then the revision (`1-r1` = `1-r01`; no revision sorts below `-r0`, as apk-tools does). Trailing garbage makes a version invalid (`isValid` checks the apk-package(5) grammar); an invalid version sorts below the same valid prefix, and two
 * invalid versions compare as strings (the osv-scalibr convention).
 */
import { compareDigits, compareStrings, sign, type Comparator } from './types.ts';

interface ApkVersion {
  original: string;
  components: string[];
  letter: string;
  suffixes: { weight: number; n: string }[];
  hash: string;
  build: string;
  /** Whether '-rN' was written: apk-tools orders '1.0' before '1.0-r0'. */
  hasBuild: boolean;
  remainder: string;
  invalid: boolean;
}

const SUFFIX_WEIGHT: Readonly<Record<string, number>> = {
  alpha: 0, beta: 1, pre: 2, rc: 3, cvs: 5, svn: 6, git: 7, hg: 8, p: 9,
};
const NO_SUFFIX = { weight: 4, n: '0' };

/**
 * Structured parse: number{.number}{letter}{_suffix{number}}{~hash}{-rN}; anything after that is a
 * remainder that makes the version invalid.
 */
function parseApk(original: string): ApkVersion {
  let s = original.trim();
  const nums = /^(?:\d+\.?)*/.exec(s)![0];
  s = s.slice(nums.length);
  const components = nums === '' ? [] : nums.split('.');
  let letter = '';
  if (/^[a-z]/.test(s)) {
    letter = s[0]!;
    s = s.slice(1);
  }
  const suffixes: { weight: number; n: string }[] = [];
  for (;;) {
    const m = /^_(alpha|beta|pre|rc|cvs|svn|git|hg|p)(\d*)/.exec(s);
    if (!m) break;
    suffixes.push({ weight: SUFFIX_WEIGHT[m[1]!] ?? 4, n: m[2] || '0' });
    s = s.slice(m[0].length);
  }
  let hash = '';
  const h = /^~([0-9a-f]+)/.exec(s);
  if (h) {
    hash = h[1]!;
    s = s.slice(h[0].length);
  }
  let build = '0';
  let hasBuild = false;
  let invalid = false;
  if (s !== '') {
    const r = /^-r(\d*)/.exec(s);
    if (r) {
      build = r[1] || '0';
      hasBuild = true;
      s = s.slice(r[0].length);
    } else invalid = true;
  }
  return { original, components, letter, suffixes, hash, build, hasBuild, remainder: s, invalid };
}

function compareComponent(a: string, b: string, index: number): number {
  // Like apk-tools: after the first component, a leading zero makes it compare as a fraction (string order).
  if (index !== 0 && (a[0] === '0' || b[0] === '0')) return compareStrings(a, b);
  return compareDigits(a, b);
}

function compareParsed(v: ApkVersion, w: ApkVersion): number {
  if (v.invalid && w.invalid) return compareStrings(v.original, w.original);
  const n = Math.max(v.components.length, w.components.length);
  for (let i = 0; i < n; i++) {
    const d = compareComponent(v.components[i] ?? '0', w.components[i] ?? '0', i);
    if (d) return d;
  }
  if (v.letter !== w.letter) {
    if (!v.letter) return -1;
    if (!w.letter) return 1;
    return compareStrings(v.letter, w.letter);
  }
  const m = Math.max(v.suffixes.length, w.suffixes.length);
  for (let i = 0; i < m; i++) {
    const a = v.suffixes[i] ?? NO_SUFFIX;
    const b = w.suffixes[i] ?? NO_SUFFIX;
    if (a.weight !== b.weight) return a.weight - b.weight;
    const d = compareDigits(a.n, b.n);
    if (d) return d;
  }
  if (v.hash !== w.hash) return compareStrings(v.hash, w.hash);
  const b = compareDigits(v.build, w.build);
  if (b) return b;
  if (v.remainder === '' && w.remainder !== '') return 1;
  if (v.remainder !== '' && w.remainder === '') return -1;
  // apk-tools: a version that ends where the other goes on with '-rN' is the lower ('1.0' < '1.0-r0')
  if (v.remainder === '' && v.hasBuild !== w.hasBuild) return v.hasBuild ? 1 : -1;
  return 0;
}

export function compareApk(a: string, b: string): -1 | 0 | 1 {
  return sign(compareParsed(parseApk(a), parseApk(b)));
}

const VALID = /^\d+(?:\.\d+)*[a-z]?(?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*(?:~[0-9a-f]+)?(?:-r\d+)?$/;

/** apk-package(5) grammar: number{.number}{letter}{_suffix{number}}{~hash}{-rN}. */
export function isValidApk(v: string): boolean {
  return VALID.test(v.trim());
}

export const apk: Comparator = { id: 'apk', isValid: isValidApk, compare: compareApk };
