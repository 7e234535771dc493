/**
 * OCI distribution v2 client: manifests (OCI, Docker schema 2, indexes and manifest lists), blobs as
 * digest-verified streams, Bearer-token and Basic auth, retries with backoff on 5xx/429 (Retry-After
 * honoured, bounded), connect/read timeouts, cancellation, plain HTTP only for registries marked
 * insecure, and an SSRF guard. Generic enough for any OCI artifact (the Trivy DB is one).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ScannerError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { silentLogger } from '../../shared/log.ts';
import { digestOf, verified, verifyBuffer } from '../digest.ts';
import { MANIFEST_ACCEPT, MANIFEST_MAX_BYTES, parseManifest, type Descriptor, type ImageIndex, type ImageManifest } from '../manifest.ts';
import { apiHost, checkDigest, formatReference, isDigest, type ImageRef } from '../reference.ts';
import { basicHeader, parseChallenges, parseTokenResponse, repositoryScope, type Challenge } from './auth.ts';
import { loadDockerConfig, runCredentialHelper, type CredentialStore, type Credentials } from './credentials.ts';
import { createAgents, destroyAgents, header, httpRequest, readBody, type Agents, type HttpResponse, type HttpSettings } from './http.ts';
import { leanRequest } from './lean-http.ts';
import { assertPublicHost } from './ssrf.ts';

export interface RetryPolicy {
  /** Total attempts for one request (1 = no retry). Default 4. */
  attempts?: number;
  /** First backoff delay; doubles each time. Default 250 ms. */
  baseDelayMs?: number;
  /** Cap on any single wait, including Retry-After. Default 10 s. */
  maxDelayMs?: number;
}

/** How long a credential helper's answer is reused (cloud registries' helper tokens last hours). */
const HELPER_ANSWER_TTL_MS = 5 * 60_000;

export interface RegistryOptions {
  /**
   * Registries that may use plain HTTP / unverified TLS ('127.0.0.1:5000'); `true` = any. Loopback
   * registries (localhost, 127.0.0.0/8, [::1]) always may, as with Docker; they are still refused by
   * the SSRF guard unless `allowPrivateRegistries`.
   */
  insecure?: boolean | readonly string[];
  /** docker config.json (or .dockerconfigjson) path; the caller resolves DOCKER_CONFIG etc. */
  registryConfig?: string;
  /** Credentials lookup, instead of (or before) registryConfig. */
  credentials?: CredentialStore;
  /** Allow registries, token realms and redirects on loopback/private/link-local addresses. Default false. */
  allowPrivateRegistries?: boolean;
  signal?: AbortSignal;
  connectTimeoutMs?: number;
  readTimeoutMs?: number;
  retry?: RetryPolicy;
  logger?: Logger;
  userAgent?: string;
  /** Platform for indexes; used by callers that select a manifest. */
  platform?: string;
}

export interface ManifestResult {
  bytes: Buffer;
  mediaType: string;
  digest: string;
  manifest: ImageManifest | ImageIndex;
}

interface Repo {
  registry: string;
  repository: string;
}

const DEFAULT_CONNECT_MS = 10_000;
const DEFAULT_READ_MS = 30_000;
const TOKEN_MAX_BYTES = 1024 * 1024;
const ERROR_BODY_MAX = 64 * 1024;
const MAX_REDIRECTS = 5;

/** localhost, 127.0.0.0/8 and ::1 (with or without a port): insecure by default, as Docker treats them. */
export function isLoopbackHost(host: string): boolean {
  let h = host;
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(h);
  if (m) h = m[1] ?? '';
  else h = h.replace(/:\d+$/, '');
  h = h.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Plain HTTP / unverified TLS allowed for `host`: listed as insecure, everything insecure, or loopback. */
function isInsecure(insecure: RegistryOptions['insecure'], host: string): boolean {
  if (insecure === true || isLoopbackHost(host)) return true;
  if (!insecure) return false;
  return insecure.includes(host);
}

/** 'MANIFEST_UNKNOWN: manifest unknown' from a distribution error body, if any. */
function registryErrorText(body: Buffer): string {
  try {
    const doc: unknown = JSON.parse(body.toString('utf8'));
    const errs = (doc as { errors?: unknown }).errors;
    if (Array.isArray(errs)) {
      return errs
        .slice(0, 3)
        .map((e: unknown) => {
          const o = e as { code?: unknown; message?: unknown };
          return [typeof o.code === 'string' ? o.code : '', typeof o.message === 'string' ? o.message : ''].filter(Boolean).join(': ');
        })
        .filter(Boolean)
        .join('; ')
        .replace(/[\r\n\t]+/g, ' ')
        .slice(0, 300);
    }
  } catch {
    /* not JSON */
  }
  return '';
}

function statusError(status: number, what: string, detail: string, authed: boolean): ScannerError {
  const d = detail ? ` (${detail})` : '';
  if (status === 401) {
    return new ScannerError(
      'REGISTRY_UNAUTHORIZED',
      authed ? `${what}: 401 Unauthorized: the registry rejected the credentials${d}` : `${what}: 401 Unauthorized: authentication required; log in (docker login) or pass --registry-config${d}`,
    );
  }
  if (status === 403) return new ScannerError('REGISTRY_FORBIDDEN', `${what}: 403 Forbidden: no access${d}`);
  if (status === 404) return new ScannerError('REGISTRY_NOT_FOUND', `${what}: 404 Not Found${d}`);
  if (status === 429) return new ScannerError('REGISTRY_RATE_LIMITED', `${what}: 429 Too Many Requests (rate limited, retries exhausted)${d}`);
  if (status >= 500) return new ScannerError('REGISTRY_SERVER_ERROR', `${what}: ${status} server error (retries exhausted)${d}`);
  return new ScannerError('REGISTRY_HTTP', `${what}: unexpected HTTP ${status}${d}`);
}

/** Retry-After as delay in ms (seconds or HTTP date), undefined when absent/invalid. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

function retryable(err: unknown): boolean {
  return err instanceof ScannerError && err.code === 'REGISTRY_UNREACHABLE' && !/REGISTRY_ADDRESS_BLOCKED|ENOTFOUND|EAI_AGAIN|certificate|CERT|EPROTO|wrong version/i.test(err.message);
}

export class RegistryClient {
  readonly #o: RegistryOptions;
  readonly #log: Logger;
  readonly #agents: Agents;
  readonly #scheme = new Map<string, Promise<'https' | 'http'>>();
  /** Authorization header per "host repo" once a challenge was answered; with expiry. */
  readonly #auth = new Map<string, { header: string; expires: number }>();
  #creds: Promise<CredentialStore> | undefined;
  /** Credential-helper answers per registry, asked again after HELPER_ANSWER_TTL_MS (their tokens expire). */
  readonly #helped = new Map<string, { at: number; p: Promise<Credentials | undefined> }>();

  constructor(opts: RegistryOptions = {}) {
    this.#o = opts;
    this.#log = (opts.logger ?? silentLogger).child({ component: 'registry' });
    this.#agents = createAgents();
  }

  /** Releases keep-alive connections. */
  close(): void {
    destroyAgents(this.#agents);
  }

  #settings(host: string, tlsInsecure: boolean): HttpSettings {
    const s: HttpSettings = {
      connectTimeoutMs: this.#o.connectTimeoutMs ?? DEFAULT_CONNECT_MS,
      readTimeoutMs: this.#o.readTimeoutMs ?? DEFAULT_READ_MS,
      allowPrivate: this.#o.allowPrivateRegistries ?? false,
      agents: this.#agents,
      tlsInsecure: tlsInsecure && isInsecure(this.#o.insecure, host),
    };
    if (this.#o.signal) s.signal = this.#o.signal;
    return s;
  }

  async #credentials(registry: string): Promise<Credentials | undefined> {
    const direct = this.#o.credentials?.(registry);
    if (direct) return direct;
    if (!this.#o.registryConfig) return undefined;
    this.#creds ??= loadDockerConfig(this.#o.registryConfig);
    const store = await this.#creds;
    const helper = store.helperFor?.(registry);
    if (helper) {
      let e = this.#helped.get(registry);
      if (!e || Date.now() - e.at > HELPER_ANSWER_TTL_MS) {
        e = { at: Date.now(), p: runCredentialHelper(helper, registry) };
        this.#helped.set(registry, e);
        // a failure is not remembered: the next request asks the helper again
        const mine = e;
        e.p.catch(() => {
          if (this.#helped.get(registry) === mine) this.#helped.delete(registry);
        });
      }
      const c = await e.p;
      if (c) return c;
    }
    return store(registry);
  }

  /** https, or http for an insecure registry that does not speak TLS (decided once per host). */
  #schemeFor(host: string): Promise<'https' | 'http'> {
    if (!isInsecure(this.#o.insecure, host)) return Promise.resolve('https');
    let p = this.#scheme.get(host);
    if (!p) {
      p = (async (): Promise<'https' | 'http'> => {
        try {
          const res = await httpRequest(new URL(`https://${host}/v2/`), 'GET', {}, this.#settings(host, true), `registry ${host}`);
          res.discard();
          return 'https';
        } catch (err) {
          // Only a refused address or a cancellation is final; any TLS failure means "try plain HTTP".
          if (err instanceof ScannerError && (err.code === 'REGISTRY_ADDRESS_BLOCKED' || err.code === 'CANCELLED')) throw err;
          return 'http';
        }
      })();
      this.#scheme.set(host, p);
    }
    return p;
  }

  async #baseUrl(registry: string): Promise<string> {
    const host = apiHost(registry);
    return `${await this.#schemeFor(host)}://${host}`;
  }

  async #delay(attempt: number, retryAfter: number | undefined): Promise<void> {
    const r = this.#o.retry ?? {};
    const base = r.baseDelayMs ?? 250;
    const max = r.maxDelayMs ?? 10_000;
    const backoff = base * 2 ** attempt * (0.75 + Math.random() * 0.5);
    const ms = Math.min(max, retryAfter ?? backoff);
    await sleep(ms, undefined, this.#o.signal ? { signal: this.#o.signal } : {}).catch((err: unknown) => {
      throw new ScannerError('CANCELLED', 'cancelled while waiting to retry', { cause: err });
    });
  }

  /** Answers a 401 challenge: returns the Authorization header to retry with, or undefined. */
  async #answer(challenges: Challenge[], repo: Repo, what: string): Promise<string | undefined> {
    const creds = await this.#credentials(repo.registry);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
      return `Bearer ${await this.#token(bearer, repo, creds, what)}`;
    }
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (basic && creds?.username !== undefined && creds.password !== undefined) return basicHeader(creds.username, creds.password);
    return undefined;
  }

  async #token(ch: Challenge, repo: Repo, creds: Credentials | undefined, what: string): Promise<string> {
    const realm = ch.params['realm'];
    if (!realm) throw new ScannerError('REGISTRY_AUTH', `${what}: Bearer challenge without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new ScannerError('REGISTRY_AUTH', `${what}: token realm "${realm.slice(0, 100)}" is not a URL`);
    }
    const host = apiHost(repo.registry);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (isInsecure(this.#o.insecure, url.host) || isInsecure(this.#o.insecure, host)))) {
      throw new ScannerError('REGISTRY_AUTH', `${what}: token realm ${url.origin} is not HTTPS (mark the registry insecure to allow it)`);
    }
    await assertPublicHost(url.hostname.replace(/^\[|\]$/g, ''), this.#o.allowPrivateRegistries ?? false).catch((err: unknown) => {
      throw err instanceof ScannerError ? new ScannerError(err.code, `${what}: token realm: ${err.message}`) : err;
    });
    const service = ch.params['service'];
    const scope = ch.params['scope'] ?? repositoryScope(repo.repository);
    const headers: Record<string, string> = { 'user-agent': this.#o.userAgent ?? 'portcullis', accept: 'application/json' };
    let res: HttpResponse;
    const s = this.#settings(url.host, true);
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'portcullis', scope });
      if (service) form.set('service', service);
      headers['content-type'] = 'application/x-www-form-urlencoded';
      res = await httpRequest(url, 'POST', headers, s, `${what}: token`, Buffer.from(form.toString()));
    } else {
      if (service) url.searchParams.set('service', service);
      url.searchParams.set('scope', scope);
      if (creds?.username !== undefined && creds.password !== undefined) headers['authorization'] = basicHeader(creds.username, creds.password);
      res = await httpRequest(url, 'GET', headers, s, `${what}: token`);
    }
    const body = await readBody(res, TOKEN_MAX_BYTES, `${what}: token`);
    if (res.status !== 200) {
      throw statusError(res.status === 403 ? 403 : 401, `${what}: token request`, registryErrorText(body), creds !== undefined);
    }
    const tok = parseTokenResponse(body);
    if (!tok) throw new ScannerError('REGISTRY_AUTH', `${what}: token endpoint returned no token`);
    return tok.token;
  }

  /**
   * One logical request with auth, redirects and retries. Returns a response with status 2xx
   * (or 404/other statuses when `acceptStatus` allows them); otherwise throws a ScannerError.
   */
  async #request(
    repo: Repo,
    method: 'GET' | 'HEAD',
    path: string,
    extraHeaders: Record<string, string>,
    what: string,
    acceptStatus: (status: number) => boolean = (st) => st >= 200 && st < 300,
    lean?: { copy: boolean },
  ): Promise<HttpResponse> {
    const host = apiHost(repo.registry);
    const authKey = `${host} ${repo.repository}`;
    const attempts = Math.max(1, this.#o.retry?.attempts ?? 4);
    let authTried = false;
    let attempt = 0;
    for (;;) {
      if (this.#o.signal?.aborted) throw new ScannerError('CANCELLED', `${what}: cancelled`);
      const headers: Record<string, string> = { 'user-agent': this.#o.userAgent ?? 'portcullis', ...extraHeaders };
      const cached = this.#auth.get(authKey);
      if (cached && cached.expires > Date.now()) headers['authorization'] = cached.header;
      let res: HttpResponse;
      try {
        res = await this.#follow(new URL(`${await this.#baseUrl(repo.registry)}${path}`), method, headers, host, what, lean);
      } catch (err) {
        if (attempt + 1 < attempts && retryable(err)) {
          this.#log.debug({ what, attempt, err: (err as Error).message }, 'retrying after network error');
          await this.#delay(attempt++, undefined);
          continue;
        }
        throw this.#hint(err, host);
      }
      if (res.status === 401 && !authTried) {
        authTried = true;
        res.discard();
        const challenges = parseChallenges(header(res, 'www-authenticate') ?? '');
        const answer = await this.#answer(challenges, repo, what);
        if (answer) {
          this.#auth.set(authKey, { header: answer, expires: Date.now() + 50_000 });
          continue;
        }
        throw statusError(401, what, '', false);
      }
      if ((res.status >= 500 || res.status === 429) && attempt + 1 < attempts) {
        res.discard();
        const ra = retryAfterMs(header(res, 'retry-after'));
        this.#log.debug({ what, status: res.status, attempt }, 'retrying');
        await this.#delay(attempt++, ra);
        continue;
      }
      if (acceptStatus(res.status)) return res;
      const body = method === 'HEAD' ? Buffer.alloc(0) : await readBody(res, ERROR_BODY_MAX, what).catch(() => Buffer.alloc(0));
      throw statusError(res.status, what, registryErrorText(body), authTried || headers['authorization'] !== undefined);
    }
  }

  #hint(err: unknown, host: string): unknown {
    if (err instanceof ScannerError && err.code === 'REGISTRY_UNREACHABLE') {
      const tls = /\b(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(?:_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID|CERT_UNTRUSTED)\b/.exec(err.message);
      if (tls) {
        const what = err.message.slice(0, err.message.indexOf(': ') + 1 || undefined);
        return new ScannerError(
          'REGISTRY_TLS',
          `${what} the TLS certificate of ${host} is not trusted (${tls[1]}); add its CA with NODE_EXTRA_CA_CERTS, or mark the registry insecure (--insecure)`,
          { cause: err },
        );
      }
    }
    if (err instanceof ScannerError && err.code === 'REGISTRY_UNREACHABLE' && /EPROTO|wrong version|ECONNRESET/.test(err.message) && !isInsecure(this.#o.insecure, host)) {
      return new ScannerError(err.code, `${err.message}; if ${host} serves plain HTTP, mark it insecure (--insecure)`, { cause: err });
    }
    return err;
  }

  /**
   * Follows redirects (blob storage), dropping Authorization when the origin changes. `lean`: blob
   * bodies on lean-http.ts's fixed-buffer sockets (every hop, redirects included).
   */
  async #follow(url: URL, method: 'GET' | 'HEAD', headers: Record<string, string>, host: string, what: string, lean?: { copy: boolean }): Promise<HttpResponse> {
    let u = url;
    let h = headers;
    for (let i = 0; ; i++) {
      const s = this.#settings(u.host, true);
      const res = lean ? await leanRequest(u, method, h, s, what, lean.copy) : await httpRequest(u, method, h, s, what);
      const loc = header(res, 'location');
      if (res.status < 300 || res.status >= 400 || res.status === 304 || !loc) return res;
      res.discard();
      if (i >= MAX_REDIRECTS) throw new ScannerError('REGISTRY_HTTP', `${what}: too many redirects`);
      const next = new URL(loc, u);
      if (next.protocol !== 'https:' && !(next.protocol === 'http:' && (isInsecure(this.#o.insecure, next.host) || next.host === host && isInsecure(this.#o.insecure, host)))) {
        throw new ScannerError('REGISTRY_HTTP', `${what}: refusing redirect to non-HTTPS ${next.origin}`);
      }
      if (next.origin !== u.origin) {
        const { authorization: _drop, ...rest } = h;
        h = rest;
      }
      u = next;
    }
  }

  /** GET a manifest or index by tag or digest, verified against the digest (requested or announced). */
  async getManifest(ref: ImageRef, reference?: string, accept: readonly string[] = MANIFEST_ACCEPT): Promise<ManifestResult> {
    const r = reference ?? ref.digest ?? ref.tag ?? 'latest';
    const what = `${formatReference({ registry: ref.registry, repository: ref.repository })}${isDigest(r) ? '@' : ':'}${r}`;
    const res = await this.#request(ref, 'GET', `/v2/${ref.repository}/manifests/${r}`, { accept: accept.join(', ') }, `manifest ${what}`);
    const bytes = await readBody(res, MANIFEST_MAX_BYTES, `manifest ${what}`);
    const announced = header(res, 'docker-content-digest');
    let digest: string;
    if (isDigest(r)) {
      verifyBuffer(bytes, r, `manifest ${what}`);
      digest = r;
    } else if (announced && isDigest(announced)) {
      verifyBuffer(bytes, announced, `manifest ${what}`);
      digest = announced;
    } else {
      digest = digestOf(bytes);
    }
    const ct = header(res, 'content-type')?.split(';')[0]?.trim() ?? '';
    const manifest = parseManifest(bytes, ct, `manifest ${what}`);
    return { bytes, mediaType: manifest.mediaType, digest, manifest };
  }

  /** Tag → digest: HEAD (Docker-Content-Digest), falling back to GET + hash. */
  async resolve(ref: ImageRef): Promise<{ digest: string; mediaType: string }> {
    if (ref.digest) return { digest: ref.digest, mediaType: '' };
    const tag = ref.tag ?? 'latest';
    const what = `manifest ${formatReference({ ...ref, tag })}`;
    const res = await this.#request(ref, 'HEAD', `/v2/${ref.repository}/manifests/${tag}`, { accept: MANIFEST_ACCEPT.join(', ') }, what, (s) => (s >= 200 && s < 300) || s === 405);
    res.discard();
    const d = header(res, 'docker-content-digest');
    const ct = header(res, 'content-type')?.split(';')[0]?.trim();
    if (res.status < 300 && d && isDigest(d) && ct && MANIFEST_ACCEPT.includes(ct as (typeof MANIFEST_ACCEPT)[number])) {
      return { digest: d, mediaType: ct };
    }
    const m = await this.getManifest(ref, tag);
    return { digest: m.digest, mediaType: m.mediaType };
  }

  /** A blob as a stream that throws (at the end, before anything is trusted) unless digest and size match. */
  async fetchBlob(repo: Repo, desc: Pick<Descriptor, 'digest' | 'size'>, what?: string): Promise<AsyncIterable<Buffer>> {
    const w = what ?? `blob ${desc.digest} of ${repo.registry}/${repo.repository}`;
    return verified(await this.fetchBlobRaw(repo, desc, w), { digest: desc.digest, size: desc.size, what: w });
  }

  /**
   * A blob's body, NOT verified: for a caller that checks digest and size itself while it streams
   * (the layer decoder). A Content-Length other than the descriptor's size is refused up front.
   * `transient`: each chunk is a view valid only until the next one is asked for (no allocation per
   * chunk; the consumer copies what it keeps); otherwise every chunk is the caller's own copy.
   */
  async fetchBlobRaw(repo: Repo, desc: Pick<Descriptor, 'digest' | 'size'>, what?: string, opts: { transient?: boolean } = {}): Promise<AsyncIterable<Buffer>> {
    checkDigest(desc.digest);
    const w = what ?? `blob ${desc.digest} of ${repo.registry}/${repo.repository}`;
    const res = await this.#request(repo, 'GET', `/v2/${repo.repository}/blobs/${desc.digest}`, {}, w, undefined, { copy: !opts.transient });
    const len = Number(header(res, 'content-length'));
    if (Number.isFinite(len) && len !== desc.size) {
      res.discard();
      throw new ScannerError('BLOB_SIZE_MISMATCH', `${w}: registry sent ${len} bytes, the manifest says ${desc.size}`);
    }
    return res.body;
  }

  /** A small blob (config, token-free artifacts) read fully and verified. */
  async fetchBlobBytes(repo: Repo, desc: Pick<Descriptor, 'digest' | 'size'>, max: number, what?: string): Promise<Buffer> {
    const w = what ?? `blob ${desc.digest} of ${repo.registry}/${repo.repository}`;
    if (desc.size > max) throw new ScannerError('SIZE_LIMIT', `${w}: ${desc.size} bytes exceeds the ${max}-byte limit`);
    const parts: Buffer[] = [];
    for await (const c of await this.fetchBlob(repo, desc, w)) parts.push(c);
    return Buffer.concat(parts);
  }
}
