/**
 * Version constraints as trivy-db stores them for language advisories
 * (`VulnerableVersions: ["< 3.4.0"]`, `[">= 0.33.1, < 0.37.0"]`, `["[2.9.0,2.9.10.7)"]`,
 * `PatchedVersions: ["3.4.0"]`, `[">= 2.1.0"]`), evaluated the way Trivy 0.44's comparers do:
 *
 *   npm                  aquasecurity/go-npm-version: semver, a prerelease only matches a comparator with a prerelease of the same X.Y.Z
 *   pip                  aquasecurity/go-pep440-version with prereleases included: PEP 440 specifiers (as 0.44.1 has them: `<V` matches V's prereleases)
 *   rubygems, cocoapods  aquasecurity/go-gem-version: `,`-separated, `~>` pessimistic
 *   maven                masahiro331/go-mvn-version: operators, else Maven ranges `[a,b)`, `(,b]`, `[a]`
 *   everything else      aquasecurity/go-version ("generic"): any number of numeric segments, semver-ish prerelease order,
 *                        no prerelease exclusion; `~`, `^`, `~>` bumps
 *
 * A constraint or version a comparer cannot parse is an error in Trivy, which then does not report the
 * advisory; here such a match returns undefined.
 */
import { compareGem } from '../versions/rubygems.ts';
import { compareMaven } from '../versions/maven.ts';
import { comparePep440, parsePep440 } from '../versions/pep440.ts';

/** Does `version` satisfy `constraint` (alternatives joined by `||`)? undefined = unparsable (Trivy: not vulnerable). */
export type Matcher = (version: string, constraint: string) => boolean | undefined;

export interface LangAdvisory {
  PatchedVersions?: string[];
  VulnerableVersions?: string[];
  UnaffectedVersions?: string[];
}

/** Trivy's compare.IsVulnerable. */
export function isVulnerable(version: string, adv: LangAdvisory, match: Matcher): boolean {
  const vulnerable = adv.VulnerableVersions ?? [];
  const patched = adv.PatchedVersions ?? [];
  // "If one of vulnerable/patched versions is empty, we should detect it anyway."
  for (const v of [...vulnerable, ...patched]) if (v === '') return true;
  let matched = false;
  if (vulnerable.length > 0) {
    const m = match(version, vulnerable.join(' || '));
    if (m !== true) return false;
    matched = true;
  }
  const secure = [...patched, ...(adv.UnaffectedVersions ?? [])];
  if (secure.length === 0) return matched;
  const s = match(version, secure.join(' || '));
  if (s === undefined) return false;
  return !s;
}

const OPS = ['===', '==', '!=', '>=', '=>', '<=', '=<', '~>', '~=', '>', '<', '=', '~', '^'];
const opAlternation = (ops: readonly string[]): string => [...ops].sort((a, b) => b.length - a.length).map((o) => o.replace(/[\^$.*+?()[\]{}|\\]/g, '\\$&')).join('|');

// ---------------------------------------------------------------------------------------------------
// aquasecurity/go-version ("generic")

const GV_VERSION = 'v?([0-9]+(?:\\.[0-9]+)*)(?:-([0-9]+[0-9A-Za-z\\-~]*(?:\\.[0-9A-Za-z\\-~]+)*)|(?:-?([A-Za-z\\-~]+[0-9A-Za-z\\-~]*(?:\\.[0-9A-Za-z\\-~]+)*)))?(?:\\+([0-9A-Za-z\\-~]+(?:\\.[0-9A-Za-z\\-~]+)*))?';
const GV_FULL = new RegExp(`^${GV_VERSION}$`);
const GV_OPS = ['', '=', '==', '!=', '>', '<', '>=', '=>', '<=', '=<', '~>', '~', '^'];
const GV_CONSTRAINT = new RegExp(`(${opAlternation(GV_OPS.filter(Boolean))}|)\\s*(${GV_VERSION.replace(/\((?!\?)/g, '(?:')})`, 'g');

interface GenericVersion {
  segments: bigint[];
  pre: string[];
  build: string;
}

function parseGeneric(v: string): GenericVersion | undefined {
  const m = GV_FULL.exec(v);
  if (!m?.[1]) return undefined;
  const segments = m[1].split('.').map((s) => BigInt(s));
  if (segments.some((s) => s > 18446744073709551615n)) return undefined;
  const pre = m[3] ?? m[2] ?? '';
  return { segments, pre: pre ? pre.split('.') : [], build: m[4] ?? '' };
}

const isUint = (s: string): boolean => /^\d+$/.test(s) && BigInt(s) <= 18446744073709551615n;

/** go-version's prerelease order: none > any; numeric parts < string parts; fewer parts first. */
function comparePre(a: readonly string[], b: readonly string[]): number {
  if (a.join('.') === b.join('.')) return 0;
  if (a.length === 0) return 1;
  if (b.length === 0) return -1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const l = a[i];
    const r = b[i];
    if (l === undefined) return -1;
    if (r === undefined) return 1;
    const ln = isUint(l);
    const rn = isUint(r);
    if (ln && rn) {
      const d = BigInt(l) - BigInt(r);
      if (d !== 0n) return d < 0n ? -1 : 1;
    } else if (ln !== rn) return ln ? -1 : 1;
    else if (l !== r) return l < r ? -1 : 1;
  }
  return 0;
}

function compareGenericParsed(a: GenericVersion, b: GenericVersion): number {
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const d = (a.segments[i] ?? 0n) - (b.segments[i] ?? 0n);
    if (d !== 0n) return d < 0n ? -1 : 1;
  }
  return comparePre(a.pre, b.pre);
}

/** aquasecurity/go-version Compare; unparsable versions compare as strings. */
export function genericCompare(a: string, b: string): number {
  const x = parseGeneric(a);
  const y = parseGeneric(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  return compareGenericParsed(x, y);
}

function bump(v: GenericVersion, kind: '~>' | '~' | '^'): GenericVersion {
  const s = [...v.segments];
  if (kind === '~' && s.length === 2) {
    s[1] = s[1]! + 1n;
    return { segments: s, pre: v.pre, build: v.build };
  }
  if (kind === '^') {
    const i = s.findIndex((x) => x !== 0n);
    if (i >= 0) {
      s[i] = s[i]! + 1n;
      for (let j = i + 1; j < s.length; j++) s[j] = 0n;
    } else s[s.length - 1] = s[s.length - 1]! + 1n;
    return { segments: s, pre: [], build: '' };
  }
  if (s.length === 1) {
    s[0] = s[0]! + 1n;
    return { segments: s, pre: v.pre, build: v.build };
  }
  s[s.length - 1] = 0n;
  s[s.length - 2] = s[s.length - 2]! + 1n;
  return { segments: s, pre: [], build: '' };
}

function checkOp(op: string, c: number): boolean {
  switch (op) {
    case '':
    case '=':
    case '==':
      return c === 0;
    case '!=':
      return c !== 0;
    case '>':
      return c > 0;
    case '<':
      return c < 0;
    case '>=':
    case '=>':
      return c >= 0;
    case '<=':
    case '=<':
      return c <= 0;
    default:
      return false;
  }
}

export const genericMatch: Matcher = (version, constraint) => {
  const v = parseGeneric(version);
  if (!v) return undefined;
  const alternatives: { op: string; ver: GenericVersion }[][] = [];
  for (const alt of constraint.split('||')) {
    const found = [...alt.matchAll(GV_CONSTRAINT)].map((m) => m[0]);
    const singles = found.length ? found : [alt.trim()];
    const cs: { op: string; ver: GenericVersion }[] = [];
    for (const single of singles) {
      const m = new RegExp(`^(${opAlternation(GV_OPS.filter(Boolean))}|)\\s*(.*)$`).exec(single.trim());
      const ver = m?.[2] !== undefined ? parseGeneric(m[2]) : undefined;
      if (!m || !ver) return undefined;
      cs.push({ op: m[1] ?? '', ver });
    }
    alternatives.push(cs);
  }
  return alternatives.some((cs) =>
    cs.every(({ op, ver }) => {
      const c = compareGenericParsed(v, ver);
      if (op === '~>' || op === '~' || op === '^') return c >= 0 && compareGenericParsed(v, bump(ver, op)) < 0;
      return checkOp(op, c);
    }),
  );
};

// ---------------------------------------------------------------------------------------------------
// aquasecurity/go-npm-version

const NPM_VERSION = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const NPM_PART = '(?:[0-9]+|x|X|\\*)';
const NPM_CV = `v?(${NPM_PART})(?:\\.(${NPM_PART}))?(?:\\.(${NPM_PART}))?(?:-([0-9A-Za-z\\-]+(?:\\.[0-9A-Za-z\\-]+)*))?(?:\\+([0-9A-Za-z\\-]+(?:\\.[0-9A-Za-z\\-]+)*))?`;
const NPM_OPS = ['=', '==', '>', '<', '>=', '=>', '<=', '=<', '~', '^'];
const NPM_ONE = new RegExp(`(${opAlternation(NPM_OPS)}|)\\s*${NPM_CV}`, 'g');
const NPM_VALID = new RegExp(`^\\s*(?:\\s*(?:${opAlternation(NPM_OPS)}|)\\s*(?:${NPM_CV.replace(/\((?!\?)/g, '(?:')})\\s*,?)*\\s*$`);

/** A semver with wildcard parts (undefined = x / * / missing). */
interface NpmVer {
  p: (bigint | undefined)[];
  pre: string[];
}

function parseNpmVersion(v: string): NpmVer | undefined {
  const m = NPM_VERSION.exec(v.trim());
  if (!m) return undefined;
  return { p: [BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!)], pre: m[4] ? m[4].split('.') : [] };
}

const isPre = (v: NpmVer): boolean => v.pre.length > 0;

/** go-version semver Compare with wildcard parts equal to anything. */
function compareNpm(a: NpmVer, b: NpmVer): number {
  for (let i = 0; i < 3; i++) {
    const x = a.p[i];
    const y = b.p[i];
    if (x === undefined || y === undefined) return 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return comparePre(a.pre, b.pre);
}

const sameRelease = (a: NpmVer, b: NpmVer): boolean => a.p.every((x, i) => x === undefined || b.p[i] === undefined || x === b.p[i]);
const releaseOf = (v: NpmVer): NpmVer => ({ p: v.p, pre: [] });

function tildeBump(c: NpmVer): NpmVer {
  const [ma, mi] = c.p;
  if (ma === undefined) return { p: [undefined, undefined, undefined], pre: [] };
  if (mi === undefined) return { p: [ma + 1n, 0n, 0n], pre: [] };
  return { p: [ma, mi + 1n, 0n], pre: [] };
}

function caretBump(c: NpmVer): NpmVer {
  const [ma, mi, pa] = c.p;
  if (ma === undefined) return { p: [undefined, undefined, undefined], pre: [] };
  if (ma !== 0n) return { p: [ma + 1n, 0n, 0n], pre: [] };
  if (mi === undefined) return { p: [1n, 0n, 0n], pre: [] };
  if (mi !== 0n) return { p: [0n, mi + 1n, 0n], pre: [] };
  if (pa === undefined) return { p: [0n, 1n, 0n], pre: [] };
  return { p: [0n, 0n, pa + 1n], pre: [] };
}

function npmCheck(op: string, v: NpmVer, c: NpmVer): boolean {
  // preCheck: a prerelease only satisfies comparators that carry a prerelease
  if (isPre(v) && !isPre(c)) return false;
  const bothPre = isPre(v) && isPre(c);
  const cmp = compareNpm(v, c);
  switch (op) {
    case '':
    case '=':
    case '==':
      return cmp === 0;
    case '>':
    case '<':
    case '>=':
    case '=>':
    case '<=':
    case '=<':
      return (!bothPre || sameRelease(v, c)) && checkOp(op, cmp);
    case '~':
    case '^':
      if (bothPre) return cmp >= 0 && compareNpm(v, releaseOf(c)) < 0;
      return cmp >= 0 && compareNpm(v, op === '~' ? tildeBump(c) : caretBump(c)) < 0;
    default:
      return false;
  }
}

type NpmConstraint = { op: string; c: NpmVer }[][];

/** Parsed constraints by their text (advisories repeat a handful of them); null = unparsable. */
const npmConstraints = new Map<string, NpmConstraint | null>();

function parseNpmConstraint(constraint: string): NpmConstraint | null {
  const alternatives: NpmConstraint = [];
  for (const alt of constraint.split('||')) {
    if (!NPM_VALID.test(alt)) return null;
    const cs: { op: string; c: NpmVer }[] = [];
    for (const m of alt.matchAll(NPM_ONE)) {
      const part = (s: string | undefined): bigint | undefined => (s === undefined || s === 'x' || s === 'X' || s === '*' ? undefined : BigInt(s));
      cs.push({ op: m[1] ?? '', c: { p: [part(m[2]), part(m[3]), part(m[4])], pre: m[5] ? m[5].split('.') : [] } });
    }
    if (cs.length === 0) cs.push({ op: '', c: { p: [undefined, undefined, undefined], pre: [] } });
    alternatives.push(cs);
  }
  return alternatives;
}

export const npmMatch: Matcher = (version, constraint) => {
  const v = parseNpmVersion(version);
  if (!v) return undefined;
  let alternatives = npmConstraints.get(constraint);
  if (alternatives === undefined) {
    alternatives = parseNpmConstraint(constraint);
    if (npmConstraints.size < 10_000) npmConstraints.set(constraint, alternatives);
  }
  if (!alternatives) return undefined;
  return alternatives.some((cs) => cs.every(({ op, c }) => npmCheck(op, v, c)));
};

// ---------------------------------------------------------------------------------------------------
// aquasecurity/go-pep440-version (Trivy passes WithPreRelease(true))

const PEP_OPS = ['===', '==', '!=', '<=', '>=', '~=', '<', '>', '='];
const PEP_VERSION = '[0-9a-zA-Z.!+_\\-]+?(?:\\.\\*)?(?=\\s|,|$)';
const PEP_ONE = new RegExp(`(${opAlternation(PEP_OPS)}|)\\s*(${PEP_VERSION})`, 'gi');

function publicPart(v: string): string {
  const i = v.indexOf('+');
  return i < 0 ? v : v.slice(0, i);
}

function pepPrefixEqual(version: string, spec: string): boolean {
  const want = spec.slice(0, -2);
  const p = parsePep440(publicPart(version));
  const w = parsePep440(want);
  if (!p || !w) return false;
  if (p.epoch !== w.epoch) return false;
  const n = w.release.length;
  for (let i = 0; i < n; i++) if (BigInt(p.release[i] ?? '0') !== BigInt(w.release[i] ?? '0')) return false;
  return true;
}

function pepCheck(op: string, version: string, spec: string): boolean | undefined {
  if (op === '===') return version.toLowerCase() === spec.toLowerCase();
  if (spec.endsWith('.*')) {
    if (op !== '' && op !== '=' && op !== '==' && op !== '!=') return undefined;
    const hit = pepPrefixEqual(version, spec);
    return op === '!=' ? !hit : hit;
  }
  const s = parsePep440(spec);
  if (!s) return undefined;
  const pub = publicPart(version);
  switch (op) {
    case '':
    case '=':
    case '==':
      return comparePep440(s.local ? version : pub, spec) === 0;
    case '!=':
      return comparePep440(s.local ? version : pub, spec) !== 0;
    case '<=':
      return comparePep440(pub, spec) <= 0;
    case '>=':
      return comparePep440(pub, spec) >= 0;
    // Trivy 0.44.1 matches `< 0.15.3` on 0.15.3rc1 (checked): its go-pep440-version had no exclusive-ordering special cases
    case '<':
      return comparePep440(pub, spec) < 0;
    case '>':
      return comparePep440(pub, spec) > 0;
    case '~=': {
      if (s.release.length < 2) return undefined;
      const prefix = `${s.epoch !== '0' ? `${s.epoch}!` : ''}${s.release.slice(0, -1).join('.')}.*`;
      return comparePep440(pub, spec) >= 0 && pepPrefixEqual(version, prefix);
    }
    default:
      return undefined;
  }
}

export const pep440Match: Matcher = (version, constraint) => {
  if (!parsePep440(version)) return undefined;
  let any = false;
  for (const raw of constraint.split('||')) {
    const alt = raw.trim() === '*' ? '>=0.0.0' : raw;
    const found = [...alt.matchAll(PEP_ONE)];
    if (found.length === 0) return undefined;
    let all = true;
    for (const m of found) {
      const r = pepCheck(m[1] ?? '', version, m[2] ?? '');
      if (r === undefined) return undefined;
      if (!r) all = false;
    }
    if (all) any = true;
  }
  return any;
};

// ---------------------------------------------------------------------------------------------------
// aquasecurity/go-gem-version

const GEM_VERSION = /^\s*[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?\s*$/;
const GEM_ONE = new RegExp(`^\\s*(${opAlternation(['=', '!=', '>', '<', '>=', '=>', '<=', '=<', '~>'])}|)\\s*(\\S+)\\s*$`);

/** Gem::Version#bump: drop prerelease segments, drop the last segment (if more than one), increment the new last. */
function gemBump(v: string): string {
  const segs = v.trim().replace(/-/g, '.pre.').split('.');
  const firstLetter = segs.findIndex((s) => /[a-zA-Z]/.test(s));
  const rel = firstLetter < 0 ? segs : segs.slice(0, firstLetter);
  if (rel.length > 1) rel.pop();
  const last = rel.length - 1;
  rel[last] = String(BigInt(rel[last] ?? '0') + 1n);
  return rel.join('.');
}

/** Gem::Version#release: the version without prerelease segments. */
function gemRelease(v: string): string {
  const segs = v.trim().replace(/-/g, '.pre.').split('.');
  const firstLetter = segs.findIndex((s) => /[a-zA-Z]/.test(s));
  return (firstLetter < 0 ? segs : segs.slice(0, firstLetter)).join('.') || '0';
}

export const rubygemsMatch: Matcher = (version, constraint) => {
  if (!GEM_VERSION.test(version)) return undefined;
  let any = false;
  for (const alt of constraint.split('||')) {
    let all = true;
    for (const single of alt.split(',')) {
      const m = GEM_ONE.exec(single);
      if (!m?.[2] || !GEM_VERSION.test(m[2])) return undefined;
      const op = m[1] ?? '';
      const c = compareGem(version, m[2]);
      const ok = op === '~>' ? c >= 0 && compareGem(gemRelease(version), gemBump(m[2])) < 0 : checkOp(op, c);
      if (!ok) all = false;
    }
    if (all) any = true;
  }
  return any;
};

// ---------------------------------------------------------------------------------------------------
// masahiro331/go-mvn-version

const MVN_OPS = ['=', '==', '!=', '>', '<', '>=', '=>', '<=', '=<'];
const MVN_V = '[0-9A-Za-z\\-~.]+';
const MVN_ONE = new RegExp(`(${opAlternation(MVN_OPS)}|)\\s*(${MVN_V})`, 'g');
const MVN_VALID = new RegExp(`^\\s*(?:\\s*(?:${opAlternation(MVN_OPS)}|)\\s*(?:${MVN_V})\\s*,?)*\\s*$`);
const MVN_RANGE = /[[(][0-9A-Za-z\-.,]+[\])]/g;
const MIN_VERSION = '-1';
const MAX_VERSION = '99999999999999999999';

function mvnConstraints(version: string, constraint: string): boolean | undefined {
  let any = false;
  for (const alt of constraint.split('||')) {
    if (!MVN_VALID.test(alt)) return undefined;
    const found = [...alt.matchAll(MVN_ONE)];
    if (found.length === 0) return undefined;
    if (found.every((m) => checkOp(m[1] ?? '', compareMaven(version, m[2] ?? '')))) any = true;
  }
  return any;
}

function mvnRequirements(version: string, constraint: string): boolean | undefined {
  const ranges = constraint.replace(/\s+/g, '').match(MVN_RANGE);
  if (!ranges?.length) return undefined;
  let any = false;
  for (const r of ranges) {
    const ss = r.split(',');
    if (ss.length > 2) return undefined;
    if (ss.length === 1) {
      // "[1.0]" — go-mvn-version strips one character in front and two behind
      if (compareMaven(version, r.slice(1, -2)) === 0) any = true;
      continue;
    }
    let lo = ss[0] ?? '';
    let hi = ss[1] ?? '';
    if (lo.length === 1) lo += MIN_VERSION;
    if (hi.length === 1) hi = MAX_VERSION + hi;
    const loOk = lo.startsWith('[') ? compareMaven(version, lo.slice(1)) >= 0 : compareMaven(version, lo.slice(1)) > 0;
    const hiOk = hi.endsWith(']') ? compareMaven(version, hi.slice(0, -1)) <= 0 : compareMaven(version, hi.slice(0, -1)) < 0;
    if (loOk && hiOk) any = true;
  }
  return any;
}

export const mavenMatch: Matcher = (version, constraint) => mvnConstraints(version, constraint) ?? mvnRequirements(version, constraint);
