/**
 * Registry credentials from a docker config.json (`{"auths": {"host": {"auth": base64(user:pass)}}}`
 * or `username`/`password`, `identitytoken`), a Kubernetes `.dockerconfigjson` secret payload (the same
 * shape) or a legacy `.dockercfg` (the `auths` map at the top level). The caller decides which file
 * (CLI: --registry-config, else $DOCKER_CONFIG/config.json, else ~/.docker/config.json); this module
 * never reads the environment. Credentials are never logged: `Credentials` has a redacting toJSON.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScannerError } from '../../shared/errors.ts';
import { DOCKER_HUB } from '../reference.ts';

export interface Credentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker login with an identity provider): used as refresh_token grant. */
  identityToken?: string;
  /** A bearer token to send as is (registrytoken). */
  registryToken?: string;
}

export type CredentialStore = (registry: string) => Credentials | undefined;

const HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1'];

function redacted<T extends object>(c: T): T {
  Object.defineProperty(c, 'toJSON', { value: () => '[credentials redacted]', enumerable: false });
  Object.defineProperty(c, Symbol.for('nodejs.util.inspect.custom'), { value: () => '[credentials redacted]', enumerable: false });
  return c;
}

/** 'https://host:5000/v1/' → 'host:5000'. */
export function normaliseRegistryKey(key: string): string {
  let k = key.trim().toLowerCase();
  k = k.replace(/^[a-z]+:\/\//, '');
  const slash = k.indexOf('/');
  if (slash >= 0) k = k.slice(0, slash);
  if (k === 'index.docker.io' || k === 'registry-1.docker.io') k = DOCKER_HUB;
  return k;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function entryCredentials(v: unknown, where: string): Credentials | undefined {
  if (!isObject(v)) return undefined;
  const c: Credentials = {};
  const auth = v['auth'];
  if (typeof auth === 'string' && auth) {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) throw new ScannerError('REGISTRY_CONFIG_INVALID', `${where}: an "auth" entry is not base64 of user:password`);
    c.username = decoded.slice(0, i);
    c.password = decoded.slice(i + 1);
  }
  if (typeof v['username'] === 'string' && v['username']) c.username = v['username'];
  if (typeof v['password'] === 'string' && v['password']) c.password = v['password'];
  if (typeof v['identitytoken'] === 'string' && v['identitytoken']) c.identityToken = v['identitytoken'];
  if (typeof v['registrytoken'] === 'string' && v['registrytoken']) c.registryToken = v['registrytoken'];
  return Object.keys(c).length ? redacted(c) : undefined;
}

/** Parses config.json / .dockerconfigjson / .dockercfg content into a lookup by registry host. */
export function parseDockerConfig(text: string, where = 'registry config'): CredentialStore {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ScannerError('REGISTRY_CONFIG_INVALID', `${where}: not valid JSON`);
  }
  if (!isObject(doc)) throw new ScannerError('REGISTRY_CONFIG_INVALID', `${where}: not a JSON object`);
  const auths = isObject(doc['auths']) ? doc['auths'] : doc['auths'] === undefined && !('credsStore' in doc) && !('credHelpers' in doc) ? doc : {};
  const map = new Map<string, Credentials>();
  for (const [key, v] of Object.entries(auths)) {
    const c = entryCredentials(v, where);
    if (!c) continue;
    const k = normaliseRegistryKey(key);
    // an exact key wins over a normalised duplicate (e.g. "docker.io" and the v1 URL)
    if (!map.has(k) || HUB_KEYS.includes(key)) map.set(k, c);
  }
  return (registry: string) => map.get(normaliseRegistryKey(registry));
}

/** Reads a docker config file. A missing file is "no credentials" only when `optional`. */
export async function loadDockerConfig(path: string, optional = false): Promise<CredentialStore> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return () => undefined;
    throw new ScannerError('REGISTRY_CONFIG_UNREADABLE', `cannot read registry config ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  if (text.length > 4 * 1024 * 1024) throw new ScannerError('REGISTRY_CONFIG_INVALID', `registry config ${path} is larger than 4 MiB`);
  return parseDockerConfig(text, path);
}

/** Kubernetes imagePullSecrets payload (the decoded `.dockerconfigjson`). */
export function credentialsFromPullSecret(json: string): CredentialStore {
  return parseDockerConfig(json, 'image pull secret');
}

/**
 * The credentials file a client would read when none is named, for the CLI to pass as
 * `registryConfig`: $DOCKER_CONFIG/config.json, ~/.docker/config.json, $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json (podman/skopeo), the first that exists. Pure: the caller
 * hands in the environment.
 */
export function defaultDockerConfigPath(env: Readonly<Record<string, string | undefined>>, home: string | undefined): string | undefined {
  const candidates: string[] = [];
  if (env['DOCKER_CONFIG']) candidates.push(join(env['DOCKER_CONFIG'], 'config.json'));
  else if (home) candidates.push(join(home, '.docker', 'config.json'));
  if (env['REGISTRY_AUTH_FILE']) candidates.push(env['REGISTRY_AUTH_FILE']);
  if (env['XDG_RUNTIME_DIR']) candidates.push(join(env['XDG_RUNTIME_DIR'], 'containers', 'auth.json'));
  return candidates.find((p) => existsSync(p));
}
