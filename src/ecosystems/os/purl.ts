import { createRequire } from 'node:module';
import type { OsInfo } from '../../domain/index.ts';

/** Trivy's purl namespace for OS packages: the family, without spaces ('sles' for SLES). */
export function purlNamespace(os: OsInfo | undefined, fallback: string): string {
  if (!os) return fallback;
  if (os.family === 'suse linux enterprise server') return 'sles';
  if (os.family === 'suse linux enterprise micro') return 'sle-micro';
  return os.family.replaceAll(' ', '-');
}

/** Trivy's `distro` qualifier: apk has the bare version, deb/rpm `family-version`. */
export function distroQualifier(os: OsInfo | undefined, type: 'apk' | 'deb' | 'rpm'): string | undefined {
  if (!os) return undefined;
  return type === 'apk' ? os.version : `${purlNamespace(os, os.family)}-${os.version}`;
}

interface PackageUrlClass {
  new (type: string, namespace: string | undefined, name: string, version: string | undefined, qualifiers: Record<string, string> | undefined, subpath: string | undefined): { toString(): string };
  fromString(s: string): unknown;
}
let packageUrlClass: PackageUrlClass | undefined;
/** packageurl-js, loaded the first time a purl is not one `plainPurl` writes (its load builds an ICU collator, ~6 ms). */
function packageUrl(): PackageUrlClass {
  packageUrlClass ??= (createRequire(import.meta.url)('packageurl-js') as { PackageURL: PackageUrlClass }).PackageURL;
  return packageUrlClass;
}

/** packageurl-js's per-type normalisation of the types our catalogers write, and what else it checks. */
const PLAIN_TYPES: ReadonlyMap<string, 'lower' | 'pypi' | 'rpm' | 'maven' | 'golang' | 'oci' | 'keep'> = new Map([
  ['deb', 'lower'],
  ['apk', 'lower'],
  ['npm', 'lower'],
  ['composer', 'lower'],
  ['pypi', 'pypi'],
  ['rpm', 'rpm'],
  ['maven', 'maven'],
  ['golang', 'golang'],
  ['gem', 'keep'],
  ['cargo', 'keep'],
  ['nuget', 'keep'],
  ['conda', 'keep'],
  ['generic', 'keep'],
  ['oci', 'oci'],
]);
/** Qualifier keys as packageurl-js keeps them (lower case, no leading digit). */
const PLAIN_KEY = /^[a-z][a-z0-9._-]*$/;
/** A qualifier value as URLSearchParams writes it (only A-Z a-z 0-9 * - . _ stay) with packageurl-js's '+' → %20. */
const formValue = (v: string): string => encodeURIComponent(v).replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * `new PackageURL(type, namespace, name, version, qualifiers).toString()` for the purls catalogers
 * write (a type above, a namespace without empty segments, lower-case qualifier keys),
 * without packageurl-js: its normalisation (trim, per-type case and `_`), its encodings
 * (encodeURIComponent; `:` kept in namespace and version, `/` in namespace, `+` in version) and its
 * sorted qualifiers, tested against it (purl.test.ts). undefined: not such a purl, ask packageurl-js.
 */
function plainPurl(type: string, namespace: string | undefined, name: string, version: string, qualifiers: Record<string, string>): string | undefined {
  const norm = PLAIN_TYPES.get(type);
  if (!norm) return undefined;
  let ns = namespace ?? '';
  if (ns !== '' && (ns.startsWith('/') || ns.endsWith('/') || ns.includes('//'))) return undefined;
  let n = name.trim();
  const v = version.trim();
  if (n === '' || !n.isWellFormed() || !ns.isWellFormed() || !v.isWellFormed()) return undefined;
  if (norm === 'lower' || norm === 'pypi') {
    ns = ns.toLowerCase();
    n = n.toLowerCase();
    if (norm === 'pypi') n = n.replaceAll('_', '-');
  } else if (norm === 'rpm') ns = ns.toLowerCase();
  else if (norm === 'maven' && ns === '') return undefined;
  else if (norm === 'golang' && v.startsWith('v')) return undefined;
  else if (norm === 'oci') {
    if (ns !== '') return undefined;
    n = n.toLowerCase();
  }
  let out = `pkg:${type}/`;
  if (ns !== '') out += `${encodeURIComponent(ns).replaceAll('%3A', ':').replaceAll('%2F', '/')}/`;
  out += encodeURIComponent(n);
  if (v !== '') out += `@${encodeURIComponent(v).replaceAll('%3A', ':').replaceAll('%2B', '+')}`;
  const keys = Object.keys(qualifiers).sort();
  let sep = '?';
  for (const k of keys) {
    const value = (qualifiers[k] ?? '').trim();
    if (value === '') continue;
    if (!PLAIN_KEY.test(k) || !value.isWellFormed()) return undefined;
    out += `${sep}${k}=${formValue(value)}`;
    sep = '&';
  }
  return out;
}

/** A package-url string; undefined/empty qualifiers are left out (packageurl-js sorts the rest). */
export function makePurl(
  type: string,
  namespace: string | undefined,
  name: string,
  version: string,
  qualifiers: Record<string, string | undefined>,
): string {
  const q: Record<string, string> = {};
  for (const [k, v] of Object.entries(qualifiers)) if (v !== undefined && v !== '') q[k] = v;
  const plain = plainPurl(type, namespace, name, version, q);
  if (plain !== undefined) return plain;
  const PackageURL = packageUrl();
  return new PackageURL(type, namespace, name, version, Object.keys(q).length ? q : undefined, undefined).toString();
}

/** `pkg:type/[namespace/]name[@version][?k=v&…]` split at its raw separators (the parts are still encoded). */
const PURL_PARTS = /^pkg:([a-z]+)\/([^?#@]+)(?:@([^?#@]+))?(?:\?([^?#]*))?$/;

/**
 * Whether packageurl-js reads `s` as a package URL (`PackageURL.fromString` does not throw). A purl
 * in the canonical form `makePurl` writes for it is answered without packageurl-js; anything else
 * asks packageurl-js.
 */
export function isValidPurl(s: string): boolean {
  const m = PURL_PARTS.exec(s);
  // an escaped '%' packageurl-js may decode twice: its own answer
  if (m && !s.includes('%25')) {
    try {
      const path = m[2] ?? '';
      const slash = path.lastIndexOf('/');
      const q: Record<string, string> = {};
      for (const pair of m[4] ? m[4].split('&') : []) {
        const eq = pair.indexOf('=');
        if (eq > 0) q[pair.slice(0, eq)] = decodeURIComponent(pair.slice(eq + 1));
      }
      const again = plainPurl(
        m[1] ?? '',
        slash === -1 ? undefined : decodeURIComponent(path.slice(0, slash)),
        decodeURIComponent(path.slice(slash + 1)),
        m[3] === undefined ? '' : decodeURIComponent(m[3]),
        q,
      );
      if (again === s) return true;
    } catch {
      // malformed escapes: packageurl-js decides below
    }
  }
  try {
    packageUrl().fromString(s);
    return true;
  } catch {
    return false;
  }
}
