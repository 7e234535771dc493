/**
 * OSV affected-range evaluation (https://ossf.github.io/osv-schema/#evaluation). ECOSYSTEM ranges
 * use the ecosystem's comparator, SEMVER ranges SemVer 2.0; GIT ranges are ignored (they name
 * commits, not versions). Events are sorted with the comparator (records with unsorted events
 * exist); introduced "0" is the lowest version; `fixed` and `limit` are exclusive upper bounds,
 * `last_affected` inclusive.
 */
import type { Comparator } from '../versions/index.ts';
import type { OsvAffected, OsvEvent, OsvRange } from '../vulndb/osv-types.ts';

export type MatchKind = 'range' | 'versions-list';

export interface RangeHit {
  kind: MatchKind;
  /** The fixed event closing the interval that contains the version, if it is a fix. */
  fixed?: string;
}

type Ev = { kind: 'introduced' | 'fixed' | 'last_affected' | 'limit'; v: string };

function flatten(events: readonly OsvEvent[]): Ev[] {
  const out: Ev[] = [];
  for (const e of events) {
    // an empty value (schema-valid, seen in converted feeds) is no event
    if (typeof e.introduced === 'string' && e.introduced !== '') out.push({ kind: 'introduced', v: e.introduced });
    if (typeof e.fixed === 'string' && e.fixed !== '') out.push({ kind: 'fixed', v: e.fixed });
    if (typeof e.last_affected === 'string' && e.last_affected !== '') out.push({ kind: 'last_affected', v: e.last_affected });
    if (typeof e.limit === 'string' && e.limit !== '') out.push({ kind: 'limit', v: e.limit });
  }
  return out;
}

const KIND_ORDER = { introduced: 1, fixed: 0, last_affected: 2, limit: 3 } as const;

function cmpEvents(cmp: Comparator): (a: Ev, b: Ev) => number {
  return (a, b) => {
    const az = a.kind === 'introduced' && a.v === '0';
    const bz = b.kind === 'introduced' && b.v === '0';
    if (az || bz) return az === bz ? 0 : az ? -1 : 1;
    if (a.v === '*' || b.v === '*') return a.v === b.v ? 0 : a.v === '*' ? 1 : -1; // limit '*' = unbounded
    return cmp.compare(a.v, b.v) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
  };
}

/** Is `version` inside this range? Returns the hit (with the closing fix) or undefined. */
export function evalRange(range: OsvRange, version: string, cmp: Comparator): RangeHit | undefined {
  const events = flatten(range.events ?? []).sort(cmpEvents(cmp));
  const limits = events.filter((e) => e.kind === 'limit' && e.v !== '*');
  if (limits.length > 0 && limits.every((l) => cmp.compare(version, l.v) >= 0)) return undefined;
  let inside = false;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.kind === 'introduced') {
      if (e.v === '0' || cmp.compare(version, e.v) >= 0) inside = true;
      continue;
    }
    if (!inside) continue;
    if (e.kind === 'fixed' && cmp.compare(version, e.v) < 0) return { kind: 'range', fixed: e.v };
    if (e.kind === 'last_affected' && cmp.compare(version, e.v) <= 0) return { kind: 'range' };
    if (e.kind === 'limit') continue;
    if (e.kind === 'fixed' || e.kind === 'last_affected') inside = false;
  }
  return inside ? { kind: 'range' } : undefined;
}

/**
 * Does this affected[] entry cover `version`? The `versions` list is checked first (string
 * equality, then comparator equality for valid versions: PyPI '1.0' = '1.0.0'); then each
 * ECOSYSTEM/SEMVER range. A fix is reported from the range that matched, or, for a list-only
 * match, from the ranges' fixed events above the version.
 */
export function evalAffected(
  affected: OsvAffected,
  version: string,
  cmp: Comparator,
  semverCmp: Comparator,
): RangeHit | undefined {
  let hit: RangeHit | undefined;
  for (const r of affected.ranges ?? []) {
    if (r.type !== 'ECOSYSTEM' && r.type !== 'SEMVER') continue;
    const h = evalRange(r, version, r.type === 'SEMVER' ? semverCmp : cmp);
    if (h && (!hit || (h.fixed !== undefined && (hit.fixed === undefined || cmp.compare(h.fixed, hit.fixed) < 0)))) hit = h;
  }
  if (hit) return hit;
  const versions = affected.versions;
  if (versions && versions.length > 0) {
    let listed = versions.includes(version);
    if (!listed && cmp.isValid(version)) listed = versions.some((v) => cmp.compare(v, version) === 0 && cmp.isValid(v));
    if (listed) {
      const fix = lowestFixAbove(affected, version, cmp, semverCmp);
      return fix === undefined ? { kind: 'versions-list' } : { kind: 'versions-list', fixed: fix };
    }
  }
  return undefined;
}

function lowestFixAbove(affected: OsvAffected, version: string, cmp: Comparator, semverCmp: Comparator): string | undefined {
  let best: string | undefined;
  for (const r of affected.ranges ?? []) {
    if (r.type !== 'ECOSYSTEM' && r.type !== 'SEMVER') continue;
    const c = r.type === 'SEMVER' ? semverCmp : cmp;
    for (const e of r.events ?? []) {
      if (typeof e.fixed !== 'string' || e.fixed === '' || c.compare(e.fixed, version) <= 0) continue;
      if (best === undefined || c.compare(e.fixed, best) < 0) best = e.fixed;
    }
  }
  return best;
}
