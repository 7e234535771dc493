/**
 * Cargo version requirements ('1.2', '^0.5', '~1.2', '=1.0.0', '>=1, <3', '1.*', '*') checked the
 * way Trivy 0.44's cargo analyzer checks a Cargo.toml dependency against Cargo.lock versions: a
 * bare version means caret; ',' joins requirements (all must hold), '||' separates alternatives.
 * Prerelease versions are ordered by SemVer and get no special exclusion.
 */
import { compareSemver, parseSemver } from '../../versions/semver.ts';

export class RequirementError extends Error {}

const PARTIAL = /^v?(\d+|[*xX])(?:\.(\d+|[*xX]))?(?:\.(\d+|[*xX]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

interface Partial {
  parts: number[]; // the numeric components given before any wildcard
  pre: string;
}

function partial(s: string): Partial {
  const m = PARTIAL.exec(s.trim());
  if (!m) throw new RequirementError(`invalid version requirement ${JSON.stringify(s)}`);
  const parts: number[] = [];
  for (const x of [m[1], m[2], m[3]]) {
    if (x === undefined || /^[*xX]$/.test(x)) break;
    parts.push(Number(x));
  }
  return { parts, pre: parts.length === 3 ? (m[4] ?? '') : '' };
}

const ver = (p: number[], pre = ''): string => `${p[0] ?? 0}.${p[1] ?? 0}.${p[2] ?? 0}${pre ? `-${pre}` : ''}`;

/** One `op version` term → [lower bound (inclusive), upper bound (exclusive)] checks. */
function term(op: string, p: Partial): (v: string) => boolean {
  const n = p.parts;
  const lo = ver(n, p.pre);
  const ge = (v: string): boolean => compareSemver(v, lo) >= 0;
  const below = (hi: number[]): ((v: string) => boolean) => (v) => compareSemver(v, ver(hi)) < 0;
  const bump = (i: number): number[] => [...n.slice(0, i), (n[i] ?? 0) + 1];
  if (n.length === 0) return () => op === '' || op === '=' || op === '^' || op === '~' || op === '>=' || op === '<=';
  switch (op) {
    case '^': {
      // first non-zero component given is the one that may not change
      let i = n.findIndex((x) => x !== 0);
      if (i < 0) i = n.length - 1;
      const lt = below(bump(Math.min(i, n.length - 1)));
      return (v) => ge(v) && lt(v);
    }
    case '~': {
      const lt = below(bump(n.length === 1 ? 0 : 1));
      return (v) => ge(v) && lt(v);
    }
    case '=':
    case '': {
      if (n.length === 3) return (v) => compareSemver(v, lo) === 0;
      const lt = below(bump(n.length - 1));
      return (v) => ge(v) && lt(v);
    }
    case '!=':
      return (v) => compareSemver(v, lo) !== 0;
    case '>':
      if (n.length === 3) return (v) => compareSemver(v, lo) > 0;
      return (v) => compareSemver(v, ver(bump(n.length - 1))) >= 0;
    case '>=':
      return ge;
    case '<':
      return (v) => compareSemver(v, lo) < 0;
    case '<=':
      if (n.length === 3) return (v) => compareSemver(v, lo) <= 0;
      return below(bump(n.length - 1));
    default:
      throw new RequirementError(`unknown operator ${op}`);
  }
}

const TERM = /^(\^|~>?|=|!=|>=|<=|>|<)?\s*(.+)$/;

/** Does `version` satisfy `requirement` (as written in Cargo.toml)? Throws RequirementError on bad input. */
export function satisfies(version: string, requirement: string): boolean {
  if (!parseSemver(version)) throw new RequirementError(`invalid version ${JSON.stringify(version)}`);
  let req = requirement.trim();
  // Trivy: a plain version ('1.2.3', '1.2') is a caret requirement
  if (/^v?\d+(\.\d+){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(req)) req = `^${req}`;
  const alternatives = req.split('||');
  return alternatives.some((alt) => {
    const terms = alt.split(',').map((t) => t.trim());
    if (terms.some((t) => t === '')) throw new RequirementError(`invalid version requirement ${JSON.stringify(requirement)}`);
    return terms.every((t) => {
      const m = TERM.exec(t);
      if (!m) throw new RequirementError(`invalid version requirement ${JSON.stringify(requirement)}`);
      const op = m[1] === '~>' ? '~' : (m[1] ?? '');
      return term(op, partial(m[2]!))(version);
    });
  });
}
