/** Test helpers: findings and lookups shaped exactly as the scanner produces them. Not used by production code. */
import type { Finding, Severity } from '../domain/index.ts';
import type { ImageCheck, ImageLookup } from '../domain/policy.ts';

export function finding(id: string, severity: Severity, pkg: string, installed: string, fixed?: string, aliases: string[] = []): Finding {
  const f: Finding = {
    advisoryId: id,
    aliases,
    package: { type: 'deb', name: pkg, version: installed, purl: `pkg:deb/debian/${pkg}@${installed}`, locations: [{ path: 'var/lib/dpkg/status' }] },
    installedVersion: installed,
    status: fixed ? 'fixed' : 'affected',
    severity,
    severitySource: 'nvd',
  };
  if (fixed) f.fixedVersion = fixed;
  return f;
}

export const DIGEST_A = `sha256:${'ab'.repeat(32)}`;
export const DIGEST_B = `sha256:${'cd'.repeat(32)}`;

export function scanned(image: string, findings: Finding[], digest = DIGEST_A, fromCache = false): ImageCheck {
  return { state: 'scanned', image, digest, findings, fromCache };
}

/** A lookup answering from a table (image as written → check); records every call. */
type WithoutImage<T> = T extends unknown ? Omit<T, 'image'> : never;

export function tableLookup(table: Record<string, WithoutImage<ImageCheck> | ((image: string) => Promise<ImageCheck>)>): ImageLookup & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (image: string): Promise<ImageCheck> => {
    calls.push(image);
    const e = table[image];
    if (e === undefined) return { state: 'scanned', image, digest: DIGEST_B, findings: [], fromCache: false };
    if (typeof e === 'function') return e(image);
    return { ...e, image } as ImageCheck;
  };
  return Object.assign(fn, { calls });
}
