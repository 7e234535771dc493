/**
 * Debian version comparison, a transcription of dpkg's lib/dpkg/version.c (verrevcmp + dpkg_version_compare):
 * [epoch:]upstream[-revision]; '~' sorts before everything (even the end), letters before non-letters.
 * Invalid strings (no leading digit in upstream, bad epoch, illegal characters) are still ordered
 * by the same algorithm; `isValid` follows dpkg's parseversion checks.
 */
import { sign, type Comparator } from './types.ts';

interface DebVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

export function parseDebVersion(v: string): DebVersion {
  const s = v.trim();
  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const e = s.slice(0, colon);
    epoch = /^\d+$/.test(e) ? Number(e) : 0;
    rest = s.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash >= 0) return { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
  return { epoch, upstream: rest, revision: '' };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** dpkg's order(): '~' < end < letters < other characters. */
function order(c: number): number {
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 126) return -1; // '~'
  if (c) return c + 256;
  return 0;
}

export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = i < a.length ? order(a.charCodeAt(i)) : 0;
      const bc = j < b.length ? order(b.charCodeAt(j)) : 0;
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (i < a.length && a.charCodeAt(i) === 48) i++;
    while (j < b.length && b.charCodeAt(j) === 48) j++;
    while (i < a.length && isDigit(a.charCodeAt(i)) && j < b.length && isDigit(b.charCodeAt(j))) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a.charCodeAt(i))) return 1;
    if (j < b.length && isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

export function compareDeb(a: string, b: string): -1 | 0 | 1 {
  const x = parseDebVersion(a);
  const y = parseDebVersion(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  const r = verrevcmp(x.upstream, y.upstream);
  if (r) return sign(r);
  return sign(verrevcmp(x.revision, y.revision));
}

const UPSTREAM = /^[0-9][A-Za-z0-9.+~:-]*$/;
const REVISION = /^[A-Za-z0-9.+~]*$/;

export function isValidDeb(v: string): boolean {
  const s = v.trim();
  if (!s || /\s/.test(s)) return false;
  const colon = s.indexOf(':');
  if (colon >= 0 && !/^\d+$/.test(s.slice(0, colon))) return false;
  const p = parseDebVersion(s);
  if (!UPSTREAM.test(p.upstream)) return false;
  if (s.includes('-') && (p.revision === '' || !REVISION.test(p.revision))) return false;
  return true;
}

export const dpkg: Comparator = { id: 'dpkg', isValid: isValidDeb, compare: compareDeb };
