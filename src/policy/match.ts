/**
 * Matching helpers for the policy: globs on images and namespaces, registry list entries, image
 * reference checks. Pure; compiled globs are memoised in a bounded map.
 */
import { familiarReference, formatReference, parseReference, type ImageRef } from '../image/reference.ts';

const GLOB_CACHE_MAX = 4096;
const globCache = new Map<string, RegExp>();

/** `*` any run of characters (including '/'), `?` one character; everything else literal; whole string. */
export function globToRegExp(pattern: string): RegExp {
  const hit = globCache.get(pattern);
  if (hit) return hit;
  let src = '';
  for (const ch of pattern) {
    if (ch === '*') src += '.*';
    else if (ch === '?') src += '.';
    else src += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  const re = new RegExp(`^${src}$`, 's');
  if (globCache.size >= GLOB_CACHE_MAX) globCache.clear();
  globCache.set(pattern, re);
  return re;
}

export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === value;
  return globToRegExp(pattern).test(value);
}

export function anyGlob(patterns: readonly string[], value: string): boolean {
  return patterns.some((p) => globMatch(p, value));
}

/** The forms an image pattern is matched against: as written, normalised, familiar (and each without digest). */
export function imageForms(image: string, ref: ImageRef | undefined): string[] {
  const forms = new Set<string>([image]);
  if (ref) {
    forms.add(formatReference(ref));
    forms.add(familiarReference(ref));
    if (ref.digest) {
      const { digest: _d, ...noDigest } = ref;
      forms.add(formatReference(noDigest));
      forms.add(familiarReference(noDigest));
    }
    if (ref.tag === undefined && ref.digest === undefined) {
      forms.add(formatReference({ ...ref, tag: 'latest' }));
      forms.add(familiarReference({ ...ref, tag: 'latest' }));
    }
  }
  return [...forms];
}

export function imageMatches(patterns: readonly string[], forms: readonly string[]): boolean {
  return patterns.some((p) => forms.some((f) => globMatch(p, f)));
}

/** Characters an image reference may contain at all (before the grammar): no shell, space, control or non-ASCII. */
const REFERENCE_CHARS = /^[A-Za-z0-9._:@/\-[\]]+$/;
/** distribution/reference caps names at 255; a tag is ≤ 128 and a sha512 digest 135: anything longer is not an image. */
export const MAX_IMAGE_LENGTH = 1024;

export type ReferenceCheck = { ok: true; ref: ImageRef } | { ok: false; why: string };

/** Results of checkImageReference per image string (a pure function: bounded memo, frozen results). */
const REFERENCE_CACHE_MAX = 4096;
const referenceCache = new Map<string, ReferenceCheck>();

/** Checks an image string from a pod before anything else sees it (it is attacker-controlled). */
export function checkImageReference(image: string): ReferenceCheck {
  if (image.length > 512) return checkReference(image);
  const hit = referenceCache.get(image);
  if (hit !== undefined) return hit;
  const r = checkReference(image);
  if (r.ok) Object.freeze(r.ref);
  Object.freeze(r);
  if (referenceCache.size >= REFERENCE_CACHE_MAX) referenceCache.clear();
  referenceCache.set(image, r);
  return r;
}

function checkReference(image: string): ReferenceCheck {
  if (image.length === 0) return { ok: false, why: 'empty' };
  if (image.length > MAX_IMAGE_LENGTH) return { ok: false, why: `${image.length} characters long (limit ${MAX_IMAGE_LENGTH})` };
  if (!REFERENCE_CHARS.test(image)) return { ok: false, why: 'contains characters not allowed in an image reference' };
  if (image.startsWith('-')) return { ok: false, why: 'starts with "-"' };
  try {
    return { ok: true, ref: parseReference(image) };
  } catch (err) {
    const msg = err instanceof Error ? err.message : 'does not parse';
    // parseReference says 'invalid image reference "<input>": why'; keep the why only.
    const m = /^invalid image reference "(?:[^"\\]|\\.)*?"(?:…)?: (.*)$/s.exec(msg);
    return { ok: false, why: (m?.[1] ?? 'does not parse').slice(0, 200) };
  }
}

/** For messages: printable ASCII only, clipped. */
export function displayImage(image: string, max = 120): string {
  // eslint-disable-next-line no-control-regex
  const clean = image.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/**
 * Registry list entry (normalised by the schema: lower-case host, Docker Hub = docker.io) against a
 * reference. 'host' matches that host on any port, 'host:port' that port only, '*.suffix' any sub-domain;
 * a path matches whole leading repository components ('ghcr.io/acme' matches ghcr.io/acme/app, not
 * ghcr.io/acme-evil/app).
 */
export function registryEntryMatches(entry: string, ref: ImageRef): boolean {
  const slash = entry.indexOf('/');
  const entryHost = slash < 0 ? entry : entry.slice(0, slash);
  const entryPath = slash < 0 ? '' : entry.slice(slash + 1);
  if (!hostMatches(entryHost, ref.registry.toLowerCase())) return false;
  if (!entryPath) return true;
  return ref.repository === entryPath || ref.repository.startsWith(`${entryPath}/`);
}

function splitPort(hostPort: string): { host: string; port?: string } {
  const close = hostPort.lastIndexOf(']');
  const colon = hostPort.lastIndexOf(':');
  if (colon > close) return { host: hostPort.slice(0, colon), port: hostPort.slice(colon + 1) };
  return { host: hostPort };
}

function hostMatches(entryHost: string, registry: string): boolean {
  const e = splitPort(entryHost);
  const r = splitPort(registry);
  if (e.port !== undefined && e.port !== r.port) return false;
  if (e.host.startsWith('*.')) return r.host.endsWith(e.host.slice(1));
  return e.host === r.host;
}
