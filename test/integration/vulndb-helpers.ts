/**
 * Shared pieces of the vulndb integration tests: real zips (yazl) of the shared OSV records, a real
 * HTTP mirror on 127.0.0.1 (ETag / Last-Modified / 304, scripted failures), the golden inventories,
 * and running the real CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yazl from 'yazl';
import { REPO_ROOT, TESTDATA } from '../helpers/paths.ts';
import type { Inventory, OsFamily, Package, PackageType } from '../../src/domain/index.ts';
import { matchOsv } from '../../src/scan/match-osv.ts';
import { openOsvStore, osvDbPath } from '../../src/vulndb/index.ts';

export const OSV_DIR = join(TESTDATA, 'osv');
export const GOLDEN_DIR = join(TESTDATA, 'golden-scans', 'osv-matches');

export function tempDir(prefix = 'vulndb-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** The shared OSV record files of one ecosystem folder (or all), as [name, bytes]. */
export function osvFiles(folder?: string): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  const walk = (d: string, rel: string): void => {
    for (const n of readdirSync(d).sort()) {
      if (n.startsWith('_')) continue;
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p, `${rel}${n}/`);
      else if (n.endsWith('.json')) out.push([`${rel}${n}`, readFileSync(p)]);
    }
  };
  walk(folder ? join(OSV_DIR, folder) : OSV_DIR, '');
  return out;
}

/** A real zip written by yazl (deflated entries), as OSV's all.zip is. */
export async function writeZip(path: string, entries: readonly [string, Buffer | string][]): Promise<void> {
  const zip = new yazl.ZipFile();
  const out = createWriteStream(path);
  zip.outputStream.pipe(out);
  for (const [name, data] of entries) zip.addBuffer(Buffer.isBuffer(data) ? data : Buffer.from(data), name, { compress: true, mtime: new Date('2024-01-01T00:00:00Z') });
  zip.end();
  await once(out, 'finish');
}

export async function zipBuffer(entries: readonly [string, Buffer | string][]): Promise<Buffer> {
  const d = tempDir();
  try {
    const p = join(d.path, 'x.zip');
    await writeZip(p, entries);
    return readFileSync(p);
  } finally {
    d.cleanup();
  }
}

export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; times: number }
  | { kind: 'hang' }
  | { kind: 'truncate'; bytes: number; stall?: boolean };

export interface MirrorRequest {
  path: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  status: number;
}

/**
 * An OSV mirror on 127.0.0.1 serving `/<Ecosystem>/all.zip` from memory with a strong ETag and a
 * Last-Modified date, answering conditional requests with 304, and misbehaving on request.
 */
export class MirrorServer {
  readonly files = new Map<string, { body: Buffer; etag: string; lastModified: string }>();
  readonly behaviours = new Map<string, Behaviour[]>();
  readonly requests: MirrorRequest[] = [];
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  url = '';
  /** Resolves when a truncated body has been (partly) sent. */
  onPartial: (() => void) | undefined;

  set(path: string, body: Buffer, lastModified = new Date('2024-06-01T00:00:00Z')): void {
    this.files.set(path, { body, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`, lastModified: lastModified.toUTCString() });
  }

  /** Queue behaviours for the next requests of `path` (then back to normal). */
  plan(path: string, ...b: Behaviour[]): void {
    this.behaviours.set(path, [...(this.behaviours.get(path) ?? []), ...b]);
  }

  async start(): Promise<string> {
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  #next(path: string): Behaviour {
    const q = this.behaviours.get(path);
    const b = q?.[0];
    if (!b) return { kind: 'ok' };
    if (b.kind === 'status' && b.times > 1) q[0] = { ...b, times: b.times - 1 };
    else q.shift();
    return b;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const rec: MirrorRequest = { path, status: 0 };
    if (typeof req.headers['if-none-match'] === 'string') rec.ifNoneMatch = req.headers['if-none-match'];
    if (typeof req.headers['if-modified-since'] === 'string') rec.ifModifiedSince = req.headers['if-modified-since'];
    this.requests.push(rec);
    const b = this.#next(path);
    if (b.kind === 'hang') return; // never answer
    if (b.kind === 'status') {
      rec.status = b.status;
      res.writeHead(b.status, { 'content-type': 'text/plain' }).end('scripted failure');
      return;
    }
    const f = this.files.get(path);
    if (!f) {
      rec.status = 404;
      res.writeHead(404).end('not found');
      return;
    }
    if (req.headers['if-none-match'] === f.etag) {
      rec.status = 304;
      res.writeHead(304, { etag: f.etag, 'last-modified': f.lastModified }).end();
      return;
    }
    rec.status = 200;
    res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(f.body.length), etag: f.etag, 'last-modified': f.lastModified });
    if (b.kind === 'truncate') {
      res.write(f.body.subarray(0, b.bytes), () => this.onPartial?.());
      if (!b.stall) setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    res.end(f.body);
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    if (this.#server) {
      this.#server.close();
      await once(this.#server, 'close');
    }
  }
}

// ---- golden inventories (../shared/testdata/golden-scans/osv-matches) ----

export interface GoldenMatch {
  package: string;
  match_name: string;
  version: string;
  osv_id: string;
  aliases: string[];
  ecosystem: string;
}

export interface Golden {
  fixture?: string;
  packages_considered?: { ecosystem: string; name: string; version: string }[];
  matches: GoldenMatch[];
}

const ECO_TYPE: Record<string, PackageType> = { PyPI: 'pip', npm: 'npm', Go: 'gomod', Maven: 'jar' };

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function pkg(type: PackageType, name: string, version: string, source?: { name: string; version: string }): Package {
  const p: Package = { type, name, version, purl: `pkg:generic/${name}@${version}`, locations: [] };
  if (source) p.source = source;
  return p;
}

/** The inventory a golden file was computed from: its packages_considered, or the pkgdb fixture's expected.json. */
export function goldenInventory(g: Golden): Inventory {
  const artifact = { name: 'golden', type: 'filesystem' as const, layers: [] };
  if (g.packages_considered) {
    const packages = g.packages_considered.map((p) => pkg(ECO_TYPE[p.ecosystem] ?? 'npm', p.name, p.version));
    return { artifact, packages, notes: [] };
  }
  const dir = join(TESTDATA, 'pkgdb', (g.fixture ?? '').replace(/^pkgdb\//, ''));
  const exp: unknown = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  if (!isObj(exp) || !Array.isArray(exp['packages'])) throw new Error(`${dir}/expected.json has no packages`);
  const format = String(exp['format']);
  const type: PackageType = format.startsWith('dpkg') ? 'deb' : format.startsWith('python') ? 'python-pkg' : 'npm';
  const packages = (exp['packages'] as unknown[]).filter(isObj).map((p) =>
    type === 'deb'
      ? pkg(type, String(p['name']), String(p['version']), { name: String(p['source_name'] ?? p['name']), version: String(p['source_version'] ?? p['version']) })
      : pkg(type, String(p['name']), String(p['version'])),
  );
  const inv: Inventory = { artifact, packages, notes: [] };
  const os = exp['os'];
  if (isObj(os)) inv.os = { family: String(os['family']) as OsFamily, version: String(os['version']) };
  return inv;
}

export function goldens(): [string, Golden][] {
  return readdirSync(GOLDEN_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(join(GOLDEN_DIR, f), 'utf8')) as Golden]);
}

// ---- the real CLI ----

export const MAIN = join(REPO_ROOT, 'src', 'main.ts');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, PORTCULLIS_LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<CliRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return startCli(args, env).done;
}

/** Everything a scan can observe of a DB: the file's bytes, its counts and sources, every golden inventory's findings. */
export function snapshot(cache: string): string {
  const file = createHash('sha256').update(readFileSync(osvDbPath(cache))).digest('hex');
  const s = openOsvStore(cache);
  if (!s) throw new Error(`no DB in ${cache}`);
  try {
    const findings = goldens().map(([f, g]) => [f, matchOsv(goldenInventory(g), s).findings]);
    return JSON.stringify({ file, counts: s.counts(), sources: s.sources(), findings });
  } finally {
    s.close();
  }
}
