import { PackageURL } from 'packageurl-js';
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
  return new PackageURL(type, namespace, name, version, Object.keys(q).length ? q : undefined, undefined).toString();
}
