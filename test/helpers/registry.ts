/**
 * A real registry for tests: Debian's `docker-registry` (CNCF distribution 2.8) on a free 127.0.0.1
 * port, config and storage in a temp dir, optionally behind htpasswd basic auth or token auth (with a
 * small token issuer on 127.0.0.1 that signs JWTs with a key whose certificate the registry trusts),
 * optionally over TLS with a self-signed certificate. Plus a fault-injecting HTTP proxy to put in front
 * of it (5xx, 429 + Retry-After, hangs, rewritten responses).
 *
 * ## API
 *
 *   registryAvailable()                → string | undefined: why registry tests must skip (no binary / no skopeo)
 *   startRegistry(opts?)               → Promise<TestRegistry>
 *   withRegistry(opts, async (reg) => …)   starts, runs, always stops
 *     opts.auth: 'none' (default) | 'basic' | 'token'
 *     opts.users: { user: password } (default { tester: 's3cret-pass' }) for basic and token auth
 *     opts.anonymousPull: token auth hands pull tokens to anonymous clients (default false)
 *     opts.identityTokens: { refreshToken: user } accepted by the issuer's OAuth2 POST (token auth)
 *     opts.tls: serve HTTPS with a self-signed certificate for 127.0.0.1 (reg.caPem has it)
 *     opts.listenAll: listen on 0.0.0.0 too (reach it by a non-loopback address; see nonLoopbackIPv4())
 *
 *   reg.host                 '127.0.0.1:PORT'  (use `${reg.host}/repo:tag` as the reference)
 *   reg.url                  'http://127.0.0.1:PORT' (https with tls)
 *   reg.user / reg.password  the first configured user (auth modes)
 *   reg.tokenUrl             the issuer's realm (token auth); reg.tokenRequests: what it was asked
 *   reg.storageDir           the registry's filesystem storage root
 *   reg.blobFile(digest)     path of a blob's data file in storage (corrupt it to test DIGEST_MISMATCH)
 *   reg.push(layoutDir, 'repo:tag', { layoutTag?, format?: 'v2s2' | 'oci', all? })
 *                            skopeo copy oci:DIR:TAG docker://HOST/repo:tag (argv, never a shell);
 *                            resolves to the pushed manifest digest
 *   reg.pushImage(built, 'repo:tag')   pushes a BuiltImage/BuiltIndex (image-builder.ts) with our own
 *                            HTTP calls: exact bytes, any media type the registry accepts
 *   reg.authHeader(repo, actions?)     an Authorization header value that the registry accepts
 *   reg.dockerConfig(dir?, { user?, password? })  writes a docker config.json with base64 `auth`
 *                            for reg.host; returns its path
 *   reg.stop()               kills the registry and the issuer, removes the temp dirs
 *
 *   startFaultProxy(target, rule) → Promise<FaultProxy>   an HTTP proxy on 127.0.0.1 to `target`
 *     rule(req, n) → undefined (forward) | { status, headers?, body? } | 'hang' | 'reset' | { stallAfter: bytes }
 *                    | { rewrite: (res) => { status?, headers?, body? } } (forward, then change the answer)
 *     n counts requests with the same method + path. proxy.host, proxy.requests, proxy.stop().
 *     opts.listen: address to listen on (default 127.0.0.1; '0.0.0.0' to test non-loopback addresses).
 *
 * In node:test:  let reg: TestRegistry;  before(async () => { reg = await startRegistry({ auth: 'token' }) });
 *                after(() => reg.stop());
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { BuiltImage, BuiltIndex } from './image-builder.ts';

const execFileP = promisify(execFile);
const REGISTRY_BIN = '/usr/bin/docker-registry';

export type AuthMode = 'none' | 'basic' | 'token';

export interface RegistryOptions {
  auth?: AuthMode;
  users?: Record<string, string>;
  anonymousPull?: boolean;
  identityTokens?: Record<string, string>;
  tls?: boolean;
  /** Listen on every interface (to reach the registry by a non-loopback address); host stays 127.0.0.1:PORT. */
  listenAll?: boolean;
}

export interface TokenRequest {
  method: string;
  user?: string;
  service?: string;
  scopes: string[];
  status: number;
}

export interface TestRegistry {
  host: string;
  url: string;
  auth: AuthMode;
  user?: string;
  password?: string;
  tokenUrl?: string;
  tokenRequests: TokenRequest[];
  storageDir: string;
  caPem?: string;
  blobFile(digest: string): string;
  push(layoutDir: string, ref: string, opts?: { layoutTag?: string; format?: 'v2s2' | 'oci'; all?: boolean }): Promise<string>;
  pushImage(image: BuiltImage | BuiltIndex, ref: string): Promise<string>;
  authHeader(repo: string, actions?: string[]): Promise<string | undefined>;
  dockerConfig(dir?: string, creds?: { user?: string; password?: string }): string;
  stop(): Promise<void>;
}

/** Why the registry tests cannot run here, or undefined. */
export function registryAvailable(): string | undefined {
  if (!existsSync(REGISTRY_BIN)) return `${REGISTRY_BIN} not installed (apt-get install docker-registry)`;
  for (const b of ['/usr/bin/skopeo', '/usr/bin/htpasswd']) if (!existsSync(b)) return `${b} not installed (apt-get install skopeo apache2-utils)`;
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

interface Signer {
  certPem: string;
  certDerB64: string;
  sign(data: Buffer): Promise<Buffer>;
  keyPem: string;
}

// Minimal DER (enough for one self-signed X.509 v3 certificate), so no certificate library is needed.
function derLen(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const der = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLen(body.length), body]);
};
const seq = (...p: Buffer[]): Buffer => der(0x30, ...p);
function oid(s: string): Buffer {
  const [a = 0, b = 0, ...rest] = s.split('.').map(Number);
  const out = [a * 40 + b];
  for (const v of rest) {
    const enc: number[] = [v & 0x7f];
    for (let x = v >> 7; x > 0; x >>= 7) enc.unshift(0x80 | (x & 0x7f));
    out.push(...enc);
  }
  return der(0x06, Buffer.from(out));
}
function derInt(b: Buffer): Buffer {
  let x = b;
  while (x.length > 1 && x[0] === 0 && ((x[1] ?? 0) & 0x80) === 0) x = x.subarray(1);
  if ((x[0] ?? 0) & 0x80) x = Buffer.concat([Buffer.from([0]), x]);
  return der(0x02, x);
}
function utcTime(d: Date): Buffer {
  const p = (n: number): string => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return der(0x17, Buffer.from(s, 'latin1'));
}
const name = (cn: string): Buffer => seq(der(0x31, seq(oid('2.5.4.3'), der(0x0c, Buffer.from(cn)))));
const ext = (id: string, critical: boolean, value: Buffer): Buffer =>
  seq(oid(id), ...(critical ? [der(0x01, Buffer.from([0xff]))] : []), der(0x04, value));

/** A self-signed P-256 certificate (the token signer, or a TLS server on 127.0.0.1), via node:crypto. */
async function selfSigned(cn: string, forTls: boolean): Promise<Signer> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sigAlg = seq(oid('1.2.840.10045.4.3.2'));
  const now = Date.now();
  const exts = [
    ext('2.5.29.19', true, seq(der(0x01, Buffer.from([0xff])))), // basicConstraints CA:TRUE
    ext('2.5.29.15', true, der(0x03, Buffer.from([0x02, 0x84]))), // keyUsage digitalSignature, keyCertSign
  ];
  if (forTls) {
    // subjectAltName IP:127.0.0.1, DNS:localhost; extKeyUsage serverAuth
    exts.push(ext('2.5.29.17', false, seq(der(0x87, Buffer.from([127, 0, 0, 1])), der(0x82, Buffer.from('localhost')))));
    exts.push(ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))));
  }
  const tbs = seq(
    der(0xa0, derInt(Buffer.from([2]))),
    derInt(Buffer.concat([Buffer.from([0x01]), randomBytes(8)])),
    sigAlg,
    name(cn),
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 24 * 3600_000))),
    name(cn),
    publicKey.export({ type: 'spki', format: 'der' }),
    der(0xa3, seq(...exts)),
  );
  const sig = cryptoSign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value, as X.509 wants
  const cert = seq(tbs, sigAlg, der(0x03, Buffer.concat([Buffer.from([0]), sig])));
  const b64 = cert.toString('base64');
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`,
    certDerB64: b64,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    // JWS ES256 wants r||s (IEEE P1363), not DER.
    sign: (data) => Promise.resolve(cryptoSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
  };
}

const SERVICE = 'portcullis-test-registry';
const ISSUER = 'portcullis-test-issuer';

interface Access {
  type: string;
  name: string;
  actions: string[];
}

function parseScope(scope: string): Access | undefined {
  const m = /^([a-z]+):(.+):([a-z*,]+)$/.exec(scope);
  if (!m) return undefined;
  return { type: m[1] ?? '', name: m[2] ?? '', actions: (m[3] ?? '').split(',').filter(Boolean) };
}

async function mintToken(signer: Signer, subject: string, access: Access[]): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'ES256', x5c: [signer.certDerB64] };
  const claims = { iss: ISSUER, sub: subject, aud: SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = await signer.sign(Buffer.from(input));
  return `${input}.${b64url(sig)}`;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function basicUser(req: IncomingMessage, users: Record<string, string>): { user?: string; bad: boolean } {
  const h = req.headers.authorization;
  if (!h) return { bad: false };
  const m = /^Basic (.+)$/i.exec(h);
  if (!m) return { bad: true };
  const dec = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const i = dec.indexOf(':');
  const user = dec.slice(0, i);
  const pass = dec.slice(i + 1);
  if (i < 0 || users[user] === undefined || users[user] !== pass) return { bad: true };
  return { user, bad: false };
}

/** The token issuer (GET realm?service=&scope= with optional Basic; POST OAuth2 password / refresh_token). */
async function startIssuer(signer: Signer, o: Required<Pick<RegistryOptions, 'users' | 'anonymousPull' | 'identityTokens'>>, log: TokenRequest[]): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void (async (): Promise<void> => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/token') {
        res.writeHead(404).end();
        return;
      }
      let user: string | undefined;
      let scopes: string[];
      let service: string | undefined;
      const entry: TokenRequest = { method: req.method ?? 'GET', scopes: [], status: 200 };
      if (req.method === 'POST') {
        const form = new URLSearchParams((await readAll(req)).toString('utf8'));
        scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        service = form.get('service') ?? undefined;
        const grant = form.get('grant_type');
        if (grant === 'refresh_token') user = o.identityTokens[form.get('refresh_token') ?? ''];
        else if (grant === 'password') {
          const u = form.get('username') ?? '';
          if (o.users[u] !== undefined && o.users[u] === form.get('password')) user = u;
        }
        if (!user) {
          entry.status = 401;
          log.push({ ...entry, scopes });
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid grant' }] }));
          return;
        }
      } else {
        scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
        service = url.searchParams.get('service') ?? undefined;
        const b = basicUser(req, o.users);
        if (b.bad || (!b.user && !o.anonymousPull)) {
          entry.status = 401;
          log.push({ ...entry, scopes, ...(service ? { service } : {}) });
          res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="portcullis-test"' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
          return;
        }
        user = b.user;
      }
      const access: Access[] = [];
      for (const s of scopes) {
        const a = parseScope(s);
        if (!a) continue;
        access.push(user ? a : { ...a, actions: a.actions.filter((x) => x === 'pull') });
      }
      const token = await mintToken(signer, user ?? '', access);
      log.push({ ...entry, scopes, ...(user ? { user } : {}), ...(service ? { service } : {}) });
      const body: Record<string, unknown> = { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() };
      if (req.method === 'POST') body['refresh_token'] = Object.keys(o.identityTokens)[0] ?? 'none';
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/token`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

async function waitUp(url: string, proc: ChildProcess, logFile: string, ca?: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  let exited = false;
  proc.once('exit', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) break;
    const ok = await new Promise<boolean>((resolve) => {
      const mod = url.startsWith('https:') ? https : http;
      const req = mod.get(`${url}/v2/`, { timeout: 1000, ...(ca ? { ca } : {}) }, (res) => {
        res.resume();
        resolve(res.headers['docker-distribution-api-version'] !== undefined);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => {
        req.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await sleep(100);
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter((l) => /panic|fatal|error/i.test(l)).slice(0, 8).join('\n') : '';
  throw new Error(`docker-registry did not come up at ${url}${exited ? ' (it exited)' : ''}:\n${tail}`);
}

function killProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 3000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const auth = opts.auth ?? 'none';
  const users = opts.users ?? { tester: 's3cret-pass' };
  const [firstUser, firstPass] = Object.entries(users)[0] ?? [];
  const dir = mkdtempSync(join(tmpdir(), 'pc-registry-'));
  const storageDir = join(dir, 'data');
  mkdirSync(storageDir);
  const tokenRequests: TokenRequest[] = [];
  let issuer: { url: string; close(): Promise<void> } | undefined;
  let signer: Signer | undefined;
  let proc: ChildProcess | undefined;
  try {
    let authYaml = '';
    if (auth === 'basic') {
      const lines: string[] = [];
      for (const [u, p] of Object.entries(users)) {
        const { stdout } = await execFileP('htpasswd', ['-Bbn', u, p]);
        lines.push(stdout.trim());
      }
      writeFileSync(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
      authYaml = `auth:\n  htpasswd:\n    realm: portcullis-test\n    path: ${join(dir, 'htpasswd')}\n`;
    } else if (auth === 'token') {
      signer = await selfSigned('portcullis test token issuer', false);
      writeFileSync(join(dir, 'token-ca.pem'), signer.certPem);
      issuer = await startIssuer(signer, { users, anonymousPull: opts.anonymousPull ?? false, identityTokens: opts.identityTokens ?? {} }, tokenRequests);
      authYaml = `auth:\n  token:\n    realm: ${issuer.url}\n    service: ${SERVICE}\n    issuer: ${ISSUER}\n    rootcertbundle: ${join(dir, 'token-ca.pem')}\n`;
    }
    let tlsYaml = '';
    let caPem: string | undefined;
    if (opts.tls) {
      const t = await selfSigned('127.0.0.1', true);
      writeFileSync(join(dir, 'tls.crt'), t.certPem);
      writeFileSync(join(dir, 'tls.key'), t.keyPem);
      caPem = t.certPem;
      tlsYaml = `  tls:\n    certificate: ${join(dir, 'tls.crt')}\n    key: ${join(dir, 'tls.key')}\n`;
    }
    const logFile = join(dir, 'registry.log');
    let host = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      host = `127.0.0.1:${port}`;
      const config = [
        'version: 0.1',
        'log:',
        '  level: warn',
        '  accesslog: { disabled: true }',
        'storage:',
        `  filesystem: { rootdirectory: ${storageDir} }`,
        '  delete: { enabled: true }',
        '  maintenance: { uploadpurging: { enabled: false } }',
        'http:',
        `  addr: ${opts.listenAll ? `0.0.0.0:${port}` : host}`,
        `  secret: ${randomBytes(16).toString('hex')}`,
        tlsYaml.trimEnd(),
        authYaml.trimEnd(),
        '',
      ].filter((l) => l !== '').join('\n');
      writeFileSync(join(dir, 'config.yml'), `${config}\n`);
      const out = openSync(logFile, 'a');
      proc = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', out, out], env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' } });
      closeSync(out);
      try {
        await waitUp(`${opts.tls ? 'https' : 'http'}://${host}`, proc, logFile, caPem);
        break;
      } catch (err) {
        await killProc(proc);
        proc = undefined;
        if (attempt === 2 || !/did not come up/.test(String(err)) || existsSync(logFile) && /panic|level=fatal/.test(readFileSync(logFile, "utf8"))) throw err;
      }
    }
    const running = proc;
    if (!running) throw new Error('registry did not start');
    const url = `${opts.tls ? 'https' : 'http'}://${host}`;

    const authHeader = async (repo: string, actions: string[] = ['pull', 'push']): Promise<string | undefined> => {
      if (auth === 'basic' && firstUser !== undefined) return `Basic ${Buffer.from(`${firstUser}:${firstPass}`).toString('base64')}`;
      if (auth === 'token' && signer) return `Bearer ${await mintToken(signer, firstUser ?? 'tester', [{ type: 'repository', name: repo, actions }])}`;
      return undefined;
    };

    const call = async (method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> => {
      const u = new URL(path, url);
      const mod = u.protocol === 'https:' ? https : http;
      return new Promise((resolve, reject) => {
        const req = mod.request(u, { method, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) }, ...(caPem ? { ca: caPem } : {}) }, (res) => {
          readAll(res).then((b) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }), reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    };

    const reg: TestRegistry = {
      host,
      url,
      auth,
      tokenRequests,
      storageDir,
      blobFile(digest) {
        const hex = digest.replace(/^sha256:/, '');
        return join(storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
      },
      async push(layoutDir, ref, o = {}) {
        const tag = o.layoutTag ?? ref.slice(ref.lastIndexOf(':') + 1);
        const digestFile = join(dir, `digest-${randomBytes(4).toString('hex')}`);
        const args = ['--insecure-policy', 'copy', '-q', '--dest-tls-verify=false', '--digestfile', digestFile];
        if (o.format) args.push('--format', o.format);
        if (o.all) args.push('--all');
        if (auth !== 'none' && firstUser !== undefined) args.push('--dest-creds', `${firstUser}:${firstPass}`);
        args.push(`oci:${layoutDir}:${tag}`, `docker://${host}/${ref}`);
        await execFileP('skopeo', args, { timeout: 120_000, env: { ...process.env, REGISTRY_AUTH_FILE: join(dir, 'skopeo-auth.json') } });
        const d = readFileSync(digestFile, 'utf8').trim();
        rmSync(digestFile, { force: true });
        return d;
      },
      async pushImage(image, ref) {
        const i = ref.lastIndexOf(':');
        const repo = ref.slice(0, i);
        const tag = ref.slice(i + 1);
        const h = await authHeader(repo);
        const base: Record<string, string> = h ? { authorization: h } : {};
        const manifests: { bytes: Buffer; mediaType: string; digest: string }[] = [];
        const images = image.kind === 'image' ? [image] : image.images;
        for (const img of images) {
          for (const [digest, blob] of img.blobs) {
            if (digest === img.manifestDigest) continue;
            const head = await call('HEAD', `/v2/${repo}/blobs/${digest}`, base);
            if (head.status === 200) continue;
            const start = await call('POST', `/v2/${repo}/blobs/uploads/`, base);
            if (start.status !== 202) throw new Error(`upload start: HTTP ${start.status} ${start.body.toString()}`);
            const loc = new URL(String(start.headers.location), url);
            loc.searchParams.set('digest', digest);
            const put = await call('PUT', loc.pathname + loc.search, { ...base, 'content-type': 'application/octet-stream' }, blob);
            if (put.status !== 201) throw new Error(`blob ${digest}: HTTP ${put.status} ${put.body.toString()}`);
          }
          manifests.push({ bytes: img.manifestBytes, mediaType: img.manifestMediaType, digest: img.manifestDigest });
        }
        if (image.kind === 'index') {
          for (const m of manifests) {
            const r = await call('PUT', `/v2/${repo}/manifests/${m.digest}`, { ...base, 'content-type': m.mediaType }, m.bytes);
            if (r.status !== 201) throw new Error(`manifest ${m.digest}: HTTP ${r.status} ${r.body.toString()}`);
          }
          const r = await call('PUT', `/v2/${repo}/manifests/${tag}`, { ...base, 'content-type': image.mediaType }, image.indexBytes);
          if (r.status !== 201) throw new Error(`index: HTTP ${r.status} ${r.body.toString()}`);
          return image.indexDigest;
        }
        const m = manifests[0];
        if (!m) throw new Error('no manifest');
        const r = await call('PUT', `/v2/${repo}/manifests/${tag}`, { ...base, 'content-type': m.mediaType }, m.bytes);
        if (r.status !== 201) throw new Error(`manifest: HTTP ${r.status} ${r.body.toString()}`);
        return m.digest;
      },
      authHeader,
      dockerConfig(cfgDir, creds = {}) {
        const d = cfgDir ?? mkdtempSync(join(dir, 'docker-config-'));
        mkdirSync(d, { recursive: true });
        const user = creds.user ?? firstUser ?? '';
        const pass = creds.password ?? firstPass ?? '';
        const file = join(d, 'config.json');
        writeFileSync(file, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${pass}`).toString('base64') } } }, null, 2));
        return file;
      },
      async stop() {
        await killProc(running);
        await issuer?.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    if (caPem !== undefined) reg.caPem = caPem;
    if (issuer) reg.tokenUrl = issuer.url;
    if (auth !== 'none' && firstUser !== undefined) {
      reg.user = firstUser;
      if (firstPass !== undefined) reg.password = firstPass;
    }
    return reg;
  } catch (err) {
    if (proc) await killProc(proc);
    await issuer?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export async function withRegistry<T>(opts: RegistryOptions, fn: (reg: TestRegistry) => Promise<T>): Promise<T> {
  const reg = await startRegistry(opts);
  try {
    return await fn(reg);
  } finally {
    await reg.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// fault-injecting proxy

export interface ProxyRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

export interface Rewritten {
  status?: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export type FaultAction =
  | undefined
  | 'hang'
  | 'reset'
  | { status: number; headers?: Record<string, string>; body?: Buffer | string }
  /** forward, send the headers and the first `stallAfter` body bytes, then go silent */
  | { stallAfter: number }
  | { rewrite: (res: { status: number; headers: http.IncomingHttpHeaders; body: Buffer }) => Rewritten };

export interface FaultProxy {
  host: string;
  url: string;
  requests: (ProxyRequest & { n: number; at: number; answered?: number })[];
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of `target` (e.g. reg.url). `rule` decides per request; `n` is 1 for the
 * first request with this method + path, 2 for the second … Hung requests are released on stop().
 */
export async function startFaultProxy(target: string, rule: (req: ProxyRequest, n: number) => FaultAction, opts: { listen?: string } = {}): Promise<FaultProxy> {
  const counts = new Map<string, number>();
  const requests: FaultProxy['requests'] = [];
  const hung = new Set<ServerResponse>();
  let host = '';
  const server = http.createServer((req, res) => {
    void (async (): Promise<void> => {
      const key = `${req.method} ${req.url}`;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      const pr: ProxyRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers };
      const rec: FaultProxy['requests'][number] = { ...pr, n, at: Date.now() };
      requests.push(rec);
      const body = await readAll(req);
      const action = rule(pr, n);
      if (action === 'hang') {
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
      if (action === 'reset') {
        req.socket.destroy();
        return;
      }
      if (action && 'status' in action) {
        rec.answered = action.status;
        res.writeHead(action.status, action.headers ?? {}).end(action.body);
        return;
      }
      const up = new URL(req.url ?? '/', target);
      const headers = { ...req.headers, host: up.host };
      const upstream = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        const r = http.request(up, { method: req.method, headers }, (ures) => {
          readAll(ures).then((b) => resolve({ status: ures.statusCode ?? 502, headers: ures.headers, body: b }), reject);
        });
        r.on('error', reject);
        r.end(body);
      });
      let out: { status: number; headers: http.IncomingHttpHeaders; body: Buffer } = upstream;
      if (action && 'stallAfter' in action) {
        const { connection: _c, 'transfer-encoding': _te, ...h } = upstream.headers;
        res.writeHead(upstream.status, h as http.OutgoingHttpHeaders);
        res.write(upstream.body.subarray(0, action.stallAfter));
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
      if (action && 'rewrite' in action) {
        const w = action.rewrite(upstream);
        const b = w.body === undefined ? upstream.body : Buffer.from(w.body);
        out = { status: w.status ?? upstream.status, headers: { ...upstream.headers, ...(w.headers ?? {}) }, body: b };
        if (w.body !== undefined) out.headers['content-length'] = String(b.length);
      }
      // Rewrite redirects and realms that point at the registry so clients keep talking to us.
      const loc = out.headers.location;
      if (typeof loc === 'string' && loc.startsWith(target)) out.headers.location = `http://${host}${loc.slice(target.length)}`;
      rec.answered = out.status;
      const { connection: _c, 'transfer-encoding': _te, ...h } = out.headers;
      res.writeHead(out.status, h as http.OutgoingHttpHeaders).end(req.method === 'HEAD' ? undefined : out.body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, opts.listen ?? '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: `http://${host}`,
    requests,
    stop: () => new Promise<void>((r) => {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** An IPv4 address of this machine that is not loopback, if any. */
export function nonLoopbackIPv4(): string | undefined {
  return Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

/** sha256 of a buffer as a digest string (handy next to the registry). */
export function digestOf(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}
