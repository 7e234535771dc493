/**
 * Image references, parsed strictly by the grammar of distribution/reference (the Go package Docker,
 * containerd and every registry client share):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain "/"] path-component ["/" path-component]*
 *   domain     := host [":" port]      host := domain-name | IPv4 | "[" IPv6 "]"
 *   path-component := [a-z0-9]+ (([._]|__|-+) [a-z0-9]+)*
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest     := sha256:<64 hex> | sha512:<128 hex>   (lower-case hex)
 *
 * The first path component is a registry host only when it contains "." or ":", is "localhost", or has
 * upper-case letters; otherwise the reference is on Docker Hub ("docker.io"), where a single component
 * gets the "library/" prefix. Anything else is a UserError saying which part is wrong.
 */
import { UserError } from '../shared/errors.ts';

export interface ImageRef {
  /** Registry host[:port] as written, Docker Hub normalised to 'docker.io'. */
  registry: string;
  /** Repository path, e.g. 'library/alpine', 'org/team/app'. */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
/** The host Docker Hub's registry API lives on. */
export const DOCKER_HUB_API = 'registry-1.docker.io';
export const NAME_MAX = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DOMAIN_COMPONENT = /^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/;
const IPV6_BRACKETED = /^\[[0-9A-Fa-f:.]+\]$/;
const PORT = /^[0-9]+$/;
const DIGEST_ALGOS: Readonly<Record<string, number>> = { sha256: 64, sha512: 128 };

/** Validates 'sha256:<hex>' / 'sha512:<hex>' (lower-case hex of the right length); returns the digest. */
export function checkDigest(digest: string, what = 'digest'): string {
  const i = digest.indexOf(':');
  const algo = i > 0 ? digest.slice(0, i) : '';
  const hex = digest.slice(i + 1);
  const len = DIGEST_ALGOS[algo];
  if (len === undefined) {
    throw new UserError(`invalid ${what} "${clip(digest)}": algorithm must be sha256 or sha512`, { code: 'IMAGE_REF_INVALID' });
  }
  if (hex.length !== len || !/^[0-9a-f]+$/.test(hex)) {
    throw new UserError(`invalid ${what} "${clip(digest)}": ${algo} needs ${len} lower-case hex digits`, { code: 'IMAGE_REF_INVALID' });
  }
  return digest;
}

export function isDigest(s: string): boolean {
  try {
    checkDigest(s);
    return true;
  } catch {
    return false;
  }
}

/** Makes attacker-supplied text safe for a one-line message: control characters escaped, length capped. */
export function clip(s: string, max = 300): string {
  const c = s.length > max ? `${s.slice(0, max)}…` : s;
  // eslint-disable-next-line no-control-regex
  return c.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => (ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

function fail(input: string, why: string): never {
  throw new UserError(`invalid image reference "${clip(input)}": ${why}`, { code: 'IMAGE_REF_INVALID' });
}

function validHost(host: string): boolean {
  if (IPV6_BRACKETED.test(host)) return true;
  return host.split('.').every((c) => DOMAIN_COMPONENT.test(c));
}

/** Checks a registry host[:port]; returns it unchanged (index.docker.io becomes docker.io). */
export function checkDomain(domain: string, input = domain): string {
  let host = domain;
  let port: string | undefined;
  const close = domain.lastIndexOf(']');
  const colon = domain.lastIndexOf(':');
  if (colon > close) {
    host = domain.slice(0, colon);
    port = domain.slice(colon + 1);
  }
  if (!host || !validHost(host)) fail(input, `"${domain}" is not a valid registry host`);
  if (port !== undefined && (!PORT.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    fail(input, `"${port}" is not a valid port`);
  }
  return domain === 'index.docker.io' ? DOCKER_HUB : domain;
}

function isDomain(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
}

export function parseReference(input: string): ImageRef {
  if (typeof input !== 'string' || input.length === 0) fail(String(input), 'empty');
  if (input.length > 4096) fail(input, 'too long');
  if (/\s/.test(input)) fail(input, 'contains white space');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digest) fail(input, 'empty digest after "@"');
    if (digest.includes('@')) fail(input, 'more than one "@"');
    try {
      checkDigest(digest);
    } catch (err) {
      fail(input, err instanceof Error ? err.message.replace(/^invalid digest "[^"]*": /, 'digest: ') : 'bad digest');
    }
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(input, `"${clip(tag)}" is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
  }
  if (!rest) fail(input, 'missing repository name');
  const firstSlash = rest.indexOf('/');
  let registry = DOCKER_HUB;
  let repository = rest;
  if (firstSlash >= 0 && isDomain(rest.slice(0, firstSlash))) {
    registry = checkDomain(rest.slice(0, firstSlash), input);
    repository = rest.slice(firstSlash + 1);
  } else if (firstSlash < 0 && rest.includes(':')) {
    fail(input, 'a registry host needs a repository path after it');
  }
  if (!repository) fail(input, 'missing repository name');
  const comps = repository.split('/');
  for (const c of comps) {
    if (c !== c.toLowerCase() && PATH_COMPONENT.test(c.toLowerCase())) fail(input, 'repository name must be lower-case');
    if (!PATH_COMPONENT.test(c)) {
      fail(input, c ? `"${clip(c)}" is not a valid path component (a-z 0-9 separated by . _ __ or -)` : 'empty path component');
    }
  }
  if (registry === DOCKER_HUB && comps.length === 1) repository = `library/${repository}`;
  if (registry.length + 1 + repository.length > NAME_MAX) fail(input, `repository name longer than ${NAME_MAX} characters`);
  const ref: ImageRef = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** Canonical full form: 'docker.io/library/alpine:3.19', 'host:5000/app@sha256:…'. */
export function formatReference(ref: ImageRef): string {
  let s = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Docker's familiar short form: 'alpine:3.19', 'org/app:1', 'ghcr.io/x/y:2'. */
export function familiarReference(ref: ImageRef): string {
  let name = `${ref.registry}/${ref.repository}`;
  if (ref.registry === DOCKER_HUB) {
    name = ref.repository.startsWith('library/') ? ref.repository.slice('library/'.length) : ref.repository;
  }
  if (ref.tag !== undefined) name += `:${ref.tag}`;
  if (ref.digest !== undefined) name += `@${ref.digest}`;
  return name;
}

/** The tag to use when neither tag nor digest is given. */
export function withDefaultTag(ref: ImageRef): ImageRef {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref;
}

/** host[:port] the registry API is reached at (Docker Hub's API host differs from its name). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}
