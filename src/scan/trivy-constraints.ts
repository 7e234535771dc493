/**
 * Version constraints as trivy-db stores them for language advisories
 * (`VulnerableVersions: ["< 3.4.0"]`, `[">= 0.33.1, < 0.37.0"]`, `PatchedVersions: ["3.4.0"]`), evaluated the
 * way Trivy's comparers do: `||` separates alternatives, `,` (or whitespace between complete terms)
 * separates conjunctions, a bare version means `=`. npm ranges go to node-semver (Trivy uses go-npm-version,
 * a port of it); every other ecosystem uses its comparator from versions/.
 */
import semver from 'semver';

export type Compare = (a: string, b: string) => number;

const OP = /^(===|==|!=|>=|<=|~=|~>|\^|=|>|<|~)?\s*(.+)$/;

function satisfiesTerm(version: string, term: string, cmp: Compare, ecosystem: string): boolean {
  const m = OP.exec(term.trim());
  if (!m) return false;
  const op = m[1] ?? '=';
  const target = (m[2] ?? '').trim();
  if (target === '') return false;
  if (ecosystem === 'pip' && (op === '==' || op === '!=') && target.endsWith('.*')) {
    // PEP 440 prefix match: ==1.2.* matches 1.2 and 1.2.x
    const prefix = target.slice(0, -2);
    const hit = version === prefix || version.startsWith(`${prefix}.`);
    return op === '==' ? hit : !hit;
  }
  const c = cmp(version, target);
  switch (op) {
    case '=':
    case '==':
    case '===':
      return c === 0;
    case '!=':
      return c !== 0;
    case '>':
      return c > 0;
    case '<':
      return c < 0;
    case '>=':
      return c >= 0;
    case '<=':
      return c <= 0;
    case '~=': {
      // compatible release: >= target and == prefix (all but the last release segment)
      const parts = target.split('.');
      if (parts.length < 2) return false;
      const prefix = parts.slice(0, -1).join('.');
      return c >= 0 && (version === prefix || version.startsWith(`${prefix}.`));
    }
    case '~>': {
      // RubyGems / hashicorp pessimistic: >= target and < next significant release
      const parts = target.split('.');
      const upper = parts.length > 1 ? [...parts.slice(0, -2), String(Number(parts[parts.length - 2]) + 1)].join('.') : String(Number(parts[0]) + 1);
      return c >= 0 && cmp(version, upper) < 0;
    }
    default:
      return false;
  }
}

/** Split "a, b" / "a b" conjunctions into terms, keeping an operator glued to its version ("< 1.0"). */
function terms(conj: string): string[] {
  const out: string[] = [];
  for (const piece of conj.split(',')) {
    const tokens = piece.trim().split(/\s+/).filter(Boolean);
    let pending = '';
    for (const t of tokens) {
      if (/^(===|==|!=|>=|<=|~=|~>|=|>|<|\^|~)$/.test(t)) pending = t;
      else {
        out.push(pending ? `${pending}${t}` : t);
        pending = '';
      }
    }
  }
  return out;
}

/** Does `version` satisfy any of `constraints` (each possibly containing `||`)? Garbage never matches. */
export function satisfiesAny(version: string, constraints: readonly string[], ecosystem: string, cmp: Compare): boolean {
  const alternatives = constraints.flatMap((c) => c.split('||')).map((s) => s.trim()).filter(Boolean);
  if (ecosystem === 'npm') {
    const v = semver.valid(version, { loose: true });
    if (!v) return false;
    return alternatives.some((alt) => {
      try {
        return semver.satisfies(v, alt.replaceAll(',', ' '), { loose: true, includePrerelease: false });
      } catch {
        return false;
      }
    });
  }
  return alternatives.some((alt) => {
    const ts = terms(alt);
    return ts.length > 0 && ts.every((t) => {
      try {
        return satisfiesTerm(version, t, cmp, ecosystem);
      } catch {
        return false;
      }
    });
  });
}
