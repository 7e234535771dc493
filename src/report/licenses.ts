/**
 * License strings (as catalogers give them: SPDX ids, expressions, or free names) → valid SPDX license
 * expressions, for SPDX `licenseDeclared` and CycloneDX `licenses`. Ids are checked against the SPDX
 * license and exception list the CycloneDX library ships; anything else becomes a `LicenseRef-`.
 */
import * as SPDX from '@cyclonedx/cyclonedx-library/SPDX';

/** A known SPDX license or exception id with its canonical case, else undefined. */
export function spdxId(s: string): string | undefined {
  return SPDX.fixupSpdxId(s);
}

type Tok = { t: 'id'; v: string } | { t: 'op'; v: 'AND' | 'OR' | 'WITH' } | { t: '(' } | { t: ')' };

function tokenize(s: string): Tok[] | undefined {
  const out: Tok[] = [];
  const re = /\s*(\(|\)|[A-Za-z0-9.+:-]+)\s*/y;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m || m[0].length === 0) return undefined;
    i = re.lastIndex;
    const w = m[1] ?? '';
    if (w === '(') out.push({ t: '(' });
    else if (w === ')') out.push({ t: ')' });
    else if (w === 'AND' || w === 'OR' || w === 'WITH' || w === 'and' || w === 'or' || w === 'with') out.push({ t: 'op', v: w.toUpperCase() as 'AND' | 'OR' | 'WITH' });
    else out.push({ t: 'id', v: w });
  }
  return out;
}

const LICENSE_REF = /^(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$/;

/** A simple expression term: a listed id (optionally `+`) or a LicenseRef. */
function simple(v: string): string | undefined {
  if (LICENSE_REF.test(v)) return v;
  const plus = v.endsWith('+');
  const id = spdxId(plus ? v.slice(0, -1) : v);
  return id ? `${id}${plus ? '+' : ''}` : undefined;
}

/**
 * Parse an SPDX license expression (SPDX 2.3 Annex D), returning it normalised (canonical id case,
 * single spaces, operators upper-case), or undefined when it is not a valid expression.
 */
export function parseSpdxExpression(s: string): string | undefined {
  const toks = tokenize(s.trim());
  if (!toks || toks.length === 0) return undefined;
  let i = 0;
  // precedence: WITH > AND > OR
  const primary = (): { text: string; compound: boolean } | undefined => {
    const t = toks[i];
    if (!t) return undefined;
    if (t.t === '(') {
      i++;
      const e = orExpr();
      if (!e || toks[i]?.t !== ')') return undefined;
      i++;
      return { text: `(${e.text})`, compound: false };
    }
    if (t.t !== 'id') return undefined;
    i++;
    const id = simple(t.v);
    if (!id) return undefined;
    const w = toks[i];
    if (w && w.t === 'op' && w.v === 'WITH') {
      i++;
      const ex = toks[i];
      if (!ex || ex.t !== 'id') return undefined;
      i++;
      const exId = spdxId(ex.v);
      if (!exId) return undefined;
      return { text: `${id} WITH ${exId}`, compound: false };
    }
    return { text: id, compound: false };
  };
  const binary = (op: 'AND' | 'OR', next: () => { text: string; compound: boolean } | undefined) => (): { text: string; compound: boolean } | undefined => {
    let left = next();
    if (!left) return undefined;
    for (let t = toks[i]; t && t.t === 'op' && t.v === op; t = toks[i]) {
      i++;
      const right = next();
      if (!right) return undefined;
      left = { text: `${left.text} ${op} ${right.text}`, compound: true };
    }
    return left;
  };
  const andExpr = binary('AND', primary);
  const orExpr = binary('OR', andExpr);
  const e = orExpr();
  if (!e || i !== toks.length) return undefined;
  return e.text;
}

/** `LicenseRef-` + the name with every character outside [A-Za-z0-9.-] replaced by '-'. */
export function licenseRefFor(name: string): string {
  const body = name.trim().replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '');
  return `LicenseRef-${body || 'unnamed'}`;
}

export interface DeclaredLicense {
  /** A valid SPDX expression, or 'NOASSERTION' when the package names no license. */
  expression: string;
  /** LicenseRefs the expression uses, with the original text (SPDX hasExtractedLicensingInfos). */
  refs: { id: string; name: string }[];
}

/**
 * A package's license list → one SPDX expression: each entry kept when it is a valid expression,
 * else a LicenseRef; several entries are joined with AND (catalogers give the set of licenses that
 * apply, having dropped the operators).
 */
export function declaredLicense(licenses: readonly string[] | undefined): DeclaredLicense {
  const parts: string[] = [];
  const refs: { id: string; name: string }[] = [];
  for (const l of licenses ?? []) {
    if (!l.trim()) continue;
    const e = parseSpdxExpression(l);
    if (e) {
      parts.push(/ (AND|OR) /.test(e) ? `(${e})` : e);
      continue;
    }
    const id = licenseRefFor(l);
    if (!refs.some((r) => r.id === id)) refs.push({ id, name: l });
    parts.push(id);
  }
  const uniq = [...new Set(parts)];
  if (uniq.length === 0) return { expression: 'NOASSERTION', refs };
  return { expression: uniq.length === 1 ? stripParens(uniq[0] ?? '') : uniq.join(' AND '), refs };
}

function stripParens(e: string): string {
  if (!e.startsWith('(') || !e.endsWith(')')) return e;
  // only when the outer pair encloses everything
  let depth = 0;
  for (let i = 0; i < e.length; i++) {
    if (e[i] === '(') depth++;
    else if (e[i] === ')') depth--;
    if (depth === 0 && i < e.length - 1) return e;
  }
  return e.slice(1, -1);
}
