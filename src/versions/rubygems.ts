/**
 * RubyGems `Gem::Version#<=>`: '-' means '.pre.'; segments are runs of digits or letters; trailing
 * zero segments (before any letter segment) are dropped; a letter segment (prerelease) sorts before
 * any number; letters compare as strings.
 */
import { compareDigits, compareStrings, type Comparator } from './types.ts';

const VALID = /^\s*[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?\s*$/;

function segments(v: string): string[] {
  const s = v.trim().replace(/-/g, '.pre.');
  const segs = s.match(/[0-9]+|[a-z]+/gi) ?? [];
  // canonical segments: drop zero segments right before the first letter segment and at the end
  const firstLetter = segs.findIndex((x) => !/^\d/.test(x));
  const head = firstLetter < 0 ? segs : segs.slice(0, firstLetter);
  const tail = firstLetter < 0 ? [] : segs.slice(firstLetter);
  while (head.length > 1 && /^0+$/.test(head[head.length - 1]!)) head.pop();
  while (tail.length > 0 && /^0+$/.test(tail[tail.length - 1]!)) tail.pop();
  return [...head, ...tail];
}

export function compareGem(a: string, b: string): -1 | 0 | 1 {
  const x = segments(a);
  const y = segments(b);
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const l = x[i] ?? '0';
    const r = y[i] ?? '0';
    if (l === r) continue;
    const ln = /^\d/.test(l);
    const rn = /^\d/.test(r);
    if (ln && rn) {
      const d = compareDigits(l, r);
      if (d) return d;
      continue;
    }
    if (!ln && rn) return -1;
    if (ln && !rn) return 1;
    return compareStrings(l, r);
  }
  return 0;
}

export const rubygems: Comparator = { id: 'rubygems', isValid: (v) => VALID.test(v), compare: compareGem };
