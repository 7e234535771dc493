/**
 * RPM version comparison: rpmvercmp (rpm's lib/rpmvercmp.c, incl. '~' and '^') applied to
 * epoch, version and release. A missing epoch is 0. When one side has no release (a dependency
 * range bound like '1.2'), it sorts before any release ('1' < '1-0'), as osv-scalibr orders Red Hat
 * versions. A string with more than one '-' is not an EVR and is compared whole with rpmvercmp.
 */
import type { Comparator } from './types.ts';

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
function isAlpha(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
function isAlnum(c: string): boolean {
  return isDigit(c) || isAlpha(c);
}

export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !isAlnum(a[i]!) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]!) && b[j] !== '~' && b[j] !== '^') j++;
    const ca = a[i];
    const cb = b[j];
    if (ca === '~' || cb === '~') {
      if (ca !== '~') return 1;
      if (cb !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === '^' || cb === '^') {
      if (ca === undefined) return -1;
      if (cb === undefined) return 1;
      if (ca !== '^') return 1;
      if (cb !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === undefined || cb === undefined) break;
    let si = i;
    let sj = j;
    const numeric = isDigit(ca);
    const test = numeric ? isDigit : isAlpha;
    while (i < a.length && test(a[i]!)) i++;
    while (j < b.length && test(b[j]!)) j++;
    let x = a.slice(si, i);
    let y = b.slice(sj, j);
    if (y === '') return numeric ? 1 : -1;
    if (numeric) {
      x = x.replace(/^0+/, '');
      y = y.replace(/^0+/, '');
      if (x.length !== y.length) return x.length > y.length ? 1 : -1;
    }
    if (x !== y) return x < y ? -1 : 1;
    si = i;
    sj = j;
  }
  const ea = i >= a.length;
  const eb = j >= b.length;
  if (ea && eb) return 0;
  return ea ? -1 : 1;
}

export interface Evr {
  epoch: string;
  version: string;
  release: string | undefined;
}

export function parseEvr(v: string): Evr {
  const s = v.trim();
  let epoch = '0';
  let rest = s;
  const m = /^(\d*):(.*)$/.exec(s);
  if (m) {
    epoch = m[1] || '0';
    rest = m[2]!;
  }
  const dash = rest.lastIndexOf('-');
  if (dash >= 0) return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
  return { epoch, version: rest, release: undefined };
}

function dashes(s: string): number {
  let n = 0;
  for (const c of s) if (c === '-') n++;
  return n;
}

export function compareRpm(a: string, b: string): -1 | 0 | 1 {
  // More than one '-' is not an EVR (version and release cannot hold '-'): compare as one string.
  if (dashes(a) > 1 || dashes(b) > 1) {
    const x = parseEvr(a.replace(/-/g, '.'));
    const y = parseEvr(b.replace(/-/g, '.'));
    return rpmvercmp(x.epoch, y.epoch) || rpmvercmp(x.version, y.version);
  }
  const x = parseEvr(a);
  const y = parseEvr(b);
  const e = rpmvercmp(x.epoch, y.epoch);
  if (e) return e;
  const v = rpmvercmp(x.version, y.version);
  if (v) return v;
  // A missing release sorts before any release, even an empty one ('1' < '1-' < '1-0'), as osv-scalibr does.
  if (x.release === undefined || y.release === undefined) {
    return x.release === y.release ? 0 : x.release === undefined ? -1 : 1;
  }
  return rpmvercmp(x.release, y.release);
}

export const rpm: Comparator = {
  id: 'rpm',
  isValid: (v) => /^(\d+:)?[A-Za-z0-9._+~^]+(-[A-Za-z0-9._+~^]+)?$/.test(v.trim()),
  compare: compareRpm,
};
