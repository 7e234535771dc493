/**
 * A version comparator for one ecosystem. `compare` never throws: for strings `isValid` rejects it
 * still returns a deterministic order (documented per module), but the matcher skips packages whose
 * installed version is invalid and records a note instead of guessing.
 */
export interface Comparator {
  /** Short id: 'dpkg', 'apk', 'rpm', 'semver', 'go', 'pep440', 'maven', 'rubygems', 'nuget', 'packagist'. */
  readonly id: string;
  isValid(version: string): boolean;
  /** -1 when a < b, 0 when equal, 1 when a > b. */
  compare(a: string, b: string): -1 | 0 | 1;
}

export function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Compare two strings of decimal digits of any length as numbers (no Number overflow). */
export function compareDigits(a: string, b: string): -1 | 0 | 1 {
  let i = 0;
  while (i < a.length - 1 && a.charCodeAt(i) === 48) i++;
  let j = 0;
  while (j < b.length - 1 && b.charCodeAt(j) === 48) j++;
  const x = a.slice(i);
  const y = b.slice(j);
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Plain code-unit order (not locale). */
export function compareStrings(a: string, b: string): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}
