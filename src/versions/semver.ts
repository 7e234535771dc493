/**
 * SemVer 2.0.0 ordering (npm, crates.io, OSV SEMVER ranges). Numbers of any size and any number of
 * numeric core components (OSV SEMVER allows more than three; missing ones are 0); prerelease
 * identifiers compared per spec §11; build metadata ignored. Loose input accepted as node-semver's
 * loose mode does: leading 'v'/'=' and spaces.
 */
import { compareDigits, compareStrings, type Comparator } from './types.ts';

export interface SemverParts {
  core: string[];
  pre: string[];
}

const STRICT = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

function clean(v: string): string {
  return v.trim().replace(/^[=v\s]+/, '').replace(/\s+/g, '');
}

/** Strict SemVer 2.0 after loose cleanup; undefined when invalid. */
export function parseSemver(v: string): SemverParts | undefined {
  const m = STRICT.exec(clean(v));
  if (!m) return undefined;
  for (const n of [m[1]!, m[2]!, m[3]!]) if (n.length > 1 && n[0] === '0') return undefined;
  return { core: [m[1]!, m[2]!, m[3]!], pre: m[4] ? m[4].split('.') : [] };
}

/** Lenient parse used for ordering: any number of dot-separated numeric components, then -pre, then +build. */
export function parseSemverLenient(v: string): SemverParts {
  let s = clean(v);
  const plus = s.indexOf('+');
  if (plus >= 0) s = s.slice(0, plus);
  const m = /^(\d+(?:\.\d+)*)(.*)$/.exec(s);
  if (!m) return { core: [], pre: s ? s.replace(/^-/, '').split('.') : [] };
  const rest = m[2]!;
  const preStr = rest.startsWith('-') ? rest.slice(1) : rest;
  return { core: m[1]!.split('.'), pre: preStr ? preStr.split('.') : [] };
}

const NUMERIC = /^\d+$/;

export function comparePrerelease(a: readonly string[], b: readonly string[], foldCase = false): -1 | 0 | 1 {
  if (a.length === 0 || b.length === 0) {
    if (a.length === b.length) return 0;
    return a.length === 0 ? 1 : -1;
  }
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xn = NUMERIC.test(x);
    const yn = NUMERIC.test(y);
    let d: -1 | 0 | 1;
    if (xn && yn) d = compareDigits(x, y);
    else if (xn) d = -1;
    else if (yn) d = 1;
    else d = foldCase ? compareStrings(x.toLowerCase(), y.toLowerCase()) : compareStrings(x, y);
    if (d) return d;
  }
  return 0;
}

export function compareParts(a: SemverParts, b: SemverParts, foldCase = false): -1 | 0 | 1 {
  const n = Math.max(a.core.length, b.core.length, 3);
  for (let i = 0; i < n; i++) {
    const d = compareDigits(a.core[i] ?? '0', b.core[i] ?? '0');
    if (d) return d;
  }
  return comparePrerelease(a.pre, b.pre, foldCase);
}

export function compareSemver(a: string, b: string): -1 | 0 | 1 {
  return compareParts(parseSemverLenient(a), parseSemverLenient(b));
}

export const semver: Comparator = {
  id: 'semver',
  isValid: (v) => parseSemver(v) !== undefined,
  compare: compareSemver,
};

/**
 * Go module versions: SemVer with an optional 'v' (OSV Go ranges omit it), '+incompatible' ignored
 * (build metadata); pseudo-versions (v0.0.0-20210101000000-abcdef123456, vX.Y.Z-0.2021…) are
 * prereleases and order by their timestamp as SemVer prescribes.
 */
export const go: Comparator = {
  id: 'go',
  isValid: (v) => parseSemver(v) !== undefined,
  compare: compareSemver,
};

/**
 * NuGet: SemVer 2 with up to four numeric components (1.2.3.4; missing ones are 0), prerelease
 * labels compared case-insensitively, metadata ignored.
 */
export const nuget: Comparator = {
  id: 'nuget',
  isValid: (v) => /^\d+(\.\d+){0,3}(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-.]+)?$/.test(v.trim()),
  compare: (a, b) => compareParts(parseSemverLenient(a), parseSemverLenient(b), true),
};

/** crates.io: Cargo uses SemVer 2.0 exactly. */
export const crates: Comparator = { id: 'crates', isValid: semver.isValid, compare: compareSemver };
