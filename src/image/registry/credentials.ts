/**
 * Registry credentials from a docker config.json (`{"auths": {"host": {"auth": base64(user:pass)}}}`
 * or `username`/`password`, `identitytoken`), a Kubernetes `.dockerconfigjson` secret payload (the same
 * shape) or a legacy `.dockercfg` (the `auths` map at the top level). The caller decides which file
 * (CLI: --registry-config, else $DOCKER_CONFIG/config.json, else ~/.docker/config.json); this module
 * never reads the environment. Credentials are never logged: `Credentials` has a redacting toJSON.
 *
 * `credHelpers` ({"registry": "NAME"}) and `credsStore` ("NAME") name Docker credential helpers, the
 * programs `docker-credential-NAME` on PATH that speak Docker's credential-helper protocol (`get`,
 * the server address on stdin, `{"ServerURL","Username","Secret"}` on stdout). As Docker does, a
 * registry's own helper goes first, then the store, then the `auths` entry. A helper is run without a
 * shell (execFile, argv ["get"]), with a timeout and an output cap, once per registry per process.
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

export type CredentialStore = ((registry: string) => Credentials | undefined) & {
  /** The credential helper (NAME of docker-credential-NAME) that answers for this registry, if any. */
  helperFor?: (registry: string) => string | undefined;
};

/** Helper names as Docker allows them in practice: no path separators, nothing a shell would read. */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HELPER_TIMEOUT_MS = 10_000;
const HELPER_MAX_OUTPUT = 64 * 1024;

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
  const helpers = new Map<string, string>();
  if (isObject(doc['credHelpers'])) {
    for (const [key, name] of Object.entries(doc['credHelpers'])) {
      if (typeof name !== 'string' || !HELPER_NAME.test(name)) throw new ScannerError('REGISTRY_CONFIG_INVALID', `${where}: credHelpers["${key.slice(0, 100)}"] is not a credential helper name`);
      helpers.set(normaliseRegistryKey(key), name);
    }
  }
  const credsStore = doc['credsStore'];
  if (credsStore !== undefined && credsStore !== '' && (typeof credsStore !== 'string' || !HELPER_NAME.test(credsStore))) {
    throw new ScannerError('REGISTRY_CONFIG_INVALID', `${where}: credsStore is not a credential helper name`);
  }
  const map = new Map<string, Credentials>();
  for (const [key, v] of Object.entries(auths)) {
    const c = entryCredentials(v, where);
    if (!c) continue;
    const k = normaliseRegistryKey(key);
    // an exact key wins over a normalised duplicate (e.g. "docker.io" and the v1 URL)
    if (!map.has(k) || HUB_KEYS.includes(key)) map.set(k, c);
  }
  const store: CredentialStore = (registry: string) => map.get(normaliseRegistryKey(registry));
  if (helpers.size > 0 || (typeof credsStore === 'string' && credsStore)) {
    store.helperFor = (registry: string) => helpers.get(normaliseRegistryKey(registry)) ?? (typeof credsStore === 'string' && credsStore ? credsStore : undefined);
  }
  return store;
}

/** The server address Docker hands a helper: the v1 URL for Docker Hub, else the host[:port]. */
function helperServerAddress(registry: string): string {
  const k = normaliseRegistryKey(registry);
  return k === DOCKER_HUB ? 'https://index.docker.io/v1/' : k;
}

/**
 * Runs `docker-credential-NAME get` for a registry. "Not found" (the helper's exit 1 with
 * "credentials not found") is no credentials; a missing program, a timeout, bad output or another
 * failure is one ScannerError line naming the helper (never its output, which may hold a secret).
 */
export async function runCredentialHelper(name: string, registry: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = HELPER_TIMEOUT_MS): Promise<Credentials | undefined> {
  if (!HELPER_NAME.test(name)) throw new ScannerError('REGISTRY_CONFIG_INVALID', `"${name.slice(0, 100)}" is not a credential helper name`);
  const program = `docker-credential-${name}`;
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string | undefined>((resolve, reject) => {
    const child = execFile(program, ['get'], { env, timeout: timeoutMs, maxBuffer: HELPER_MAX_OUTPUT, windowsHide: true }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
      if (e.code === 'ENOENT') return reject(new ScannerError('REGISTRY_CREDENTIALS', `the registry config names credential helper ${program}, which is not on PATH`));
      if (e.killed) return reject(new ScannerError('REGISTRY_CREDENTIALS', `credential helper ${program} did not answer within ${timeoutMs / 1000} s`));
      if (/credentials not found/i.test(`${stdout}${stderr}`)) return resolve(undefined);
      reject(new ScannerError('REGISTRY_CREDENTIALS', `credential helper ${program} failed for ${registry} (exit ${typeof e.code === 'number' ? e.code : '?'})`));
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(helperServerAddress(registry));
  });
  if (out === undefined) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(out);
  } catch {
    throw new ScannerError('REGISTRY_CREDENTIALS', `credential helper ${program} answered something that is not JSON`);
  }
  if (!isObject(doc) || typeof doc['Secret'] !== 'string' || (doc['Username'] !== undefined && typeof doc['Username'] !== 'string')) {
    throw new ScannerError('REGISTRY_CREDENTIALS', `credential helper ${program} answered without a Username/Secret`);
  }
  const user = (doc['Username'] as string | undefined) ?? '';
  const secret = doc['Secret'];
  if (!secret) return undefined;
  // Docker's convention: Username "<token>" means Secret is an identity (refresh) token.
  return redacted(user === '<token>' ? { identityToken: secret } : { username: user, password: secret });
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
