/**
 * Real ScanReports for the report tests: the shared trivy-db trees (and the trivy-repo inputs) read
 * by our catalogers (`buildInventory`) and matched against the shared trivy.db (`matchTrivy`), named
 * as Trivy was given them (`trivy rootfs alpine-310` run inside trivy-db/rootfs).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ScanReport } from '../../src/domain/index.ts';
import { buildInventory } from '../../src/scan/index.ts';
import { matchTrivy } from '../../src/scan/match-trivy.ts';
import { silentLogger } from '../../src/shared/log.ts';
import { TrivyDb } from '../../src/vulndb/trivy/db.ts';
import { TESTDATA } from '../helpers/paths.ts';

export const TDB = join(TESTDATA, 'trivy-db');
export const run = promisify(execFile);

/** Every tree with a raw Trivy report. */
export const REPORT_NAMES: readonly string[] = readdirSync(join(TDB, 'reports'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

/** Where Trivy ran for `name` and the argument it was given. */
export function inputFor(name: string): { cwd: string; arg: string } {
  if (name.startsWith('repo-')) return { cwd: join(TESTDATA, 'golden-scans', `trivy-${name}`, 'input'), arg: '.' };
  return { cwd: join(TDB, 'rootfs'), arg: name };
}

export function rawReport(name: string): string {
  return readFileSync(join(TDB, 'reports', `${name}.json`), 'utf8');
}

let db: TrivyDb | undefined;
export function trivyDb(): TrivyDb {
  db ??= TrivyDb.open(join(TDB, 'db'));
  return db;
}

let work: string | undefined;
/** A private temporary directory, made on first use and removed by cleanup(). */
export function workDir(): string {
  work ??= mkdtempSync(join(tmpdir(), 'pc-report-'));
  return work;
}
export function cleanup(): void {
  db?.close();
  db = undefined;
  cacheDir = undefined;
  if (work) rmSync(work, { recursive: true, force: true });
  work = undefined;
}

/** `portcullis scan rootfs:ARG` run in CWD, matched with the Trivy DB: the ScanReport the writers get. */
export async function scanTarget(target: string, cwd: string, opts: { findings?: boolean } = {}): Promise<ScanReport> {
  const here = process.cwd();
  process.chdir(cwd);
  try {
    const inventory = await buildInventory(target, { cacheDir: join(workDir(), 'cache'), logger: silentLogger, noCache: true });
    const findings = opts.findings === false ? [] : matchTrivy(inventory, trivyDb()).findings;
    return { inventory, findings, db: { source: 'trivy', builtAt: '2023-08-23T00:00:00Z' }, createdAt: '2024-05-06T07:08:09.000Z', scannerVersion: '0.1.0' };
  } finally {
    process.chdir(here);
  }
}

export async function scanTree(name: string, opts: { findings?: boolean } = {}): Promise<ScanReport> {
  const { cwd, arg } = inputFor(name);
  return scanTarget(`rootfs:${arg}`, cwd, opts);
}

/** A private, writable copy of the trivy.db for the real Trivy (it locks and writes its cache dir). */
let cacheDir: string | undefined;
export function trivyCacheDir(): string {
  if (cacheDir) return cacheDir;
  const dir = join(workDir(), 'trivy-cache');
  mkdirSync(join(dir, 'db'), { recursive: true });
  cpSync(join(TDB, 'db'), join(dir, 'db'), { recursive: true });
  cacheDir = dir;
  return dir;
}

async function tarOf(entries: { name: string; data?: Buffer; type?: 'directory' | 'symlink'; linkname?: string; mode?: number }[]): Promise<Buffer> {
  const { pack } = await import('tar-stream');
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const e of entries) {
    if (e.type === 'directory') p.entry({ name: e.name, type: 'directory', mode: 0o755, mtime: new Date(0) });
    else if (e.type === 'symlink') p.entry({ name: e.name, type: 'symlink', linkname: e.linkname ?? '', mtime: new Date(0) });
    else p.entry({ name: e.name, mode: e.mode ?? 0o644, mtime: new Date(0) }, e.data ?? Buffer.alloc(0));
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

function treeEntries(root: string, rel = ''): { name: string; data?: Buffer; type?: 'directory' | 'symlink'; linkname?: string }[] {
  const out: { name: string; data?: Buffer; type?: 'directory' | 'symlink'; linkname?: string }[] = [];
  for (const d of readdirSync(join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) {
      out.push({ name: `${p}/`, type: 'directory' });
      out.push(...treeEntries(root, p));
    } else if (d.isSymbolicLink()) out.push({ name: p, type: 'symlink', linkname: readlinkSync(join(root, p)) });
    else if (d.isFile()) out.push({ name: p, data: readFileSync(join(root, p)) });
  }
  return out;
}

/**
 * A `docker save` archive with one layer holding TREE and a real image config (history, env,
 * labels, a key go-containerregistry drops), as both Trivy (`image --input`) and we read it.
 */
export async function makeDockerArchive(tree: string, out: string, repoTag: string): Promise<{ diffId: string; configDigest: string }> {
  const layer = await tarOf(treeEntries(tree));
  const diff = createHash('sha256').update(layer).digest('hex');
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'], Labels: { 'org.opencontainers.image.title': 'fixture', a: 'b&<>' }, WorkingDir: '/' },
      container_config: { Cmd: ['ignored'] },
      created: '2019-08-20T20:19:55.211423266Z',
      docker_version: '18.06.1-ce',
      history: [
        { created: '2019-08-20T20:19:55.062606894Z', author: 'fixture', created_by: '/bin/sh -c #(nop) ADD file:fixture in / ', comment: 'base' },
        { created: '2019-08-20T20:19:55.211423266Z', created_by: '/bin/sh -c #(nop)  CMD ["/bin/sh"]', empty_layer: true },
      ],
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [`sha256:${diff}`] },
    }),
  );
  const cfg = createHash('sha256').update(config).digest('hex');
  const manifest = Buffer.from(JSON.stringify([{ Config: `${cfg}.json`, RepoTags: [repoTag], Layers: [`${diff}/layer.tar`] }]));
  const archive = await tarOf([
    { name: `${diff}/`, type: 'directory' },
    { name: `${diff}/layer.tar`, data: layer },
    { name: `${cfg}.json`, data: config },
    { name: 'manifest.json', data: manifest },
  ]);
  writeFileSync(out, archive);
  return { diffId: `sha256:${diff}`, configDigest: `sha256:${cfg}` };
}

/** Run the real Trivy offline against the shared DB; returns stdout. */
export async function runTrivy(trivy: string, args: string[], cwd: string): Promise<string> {
  const cache = trivyCacheDir();
  const { stdout } = await run(trivy, [...args.slice(0, 1), '--cache-dir', cache, '--skip-db-update', '--offline-scan', '--quiet', ...args.slice(1)], { cwd, maxBuffer: 64 << 20, timeout: 120_000 });
  return stdout;
}

/**
 * The CycloneDX JSON schema validator, as the CycloneDX library's own JsonValidator builds it
 * (ajv + ajv-formats over the schema files the library ships), without its optional
 * ajv-formats-draft2019 dependency: `idn-email` is checked as plain email, `iri-reference` as the
 * library does (accepted).
 */
export async function cyclonedxValidator(version: '1.4' | '1.5' | '1.6'): Promise<(json: string) => string[]> {
  const { Ajv } = await import('ajv');
  const formats = (await import('ajv-formats')) as unknown as { default: (a: InstanceType<typeof Ajv>) => void };
  const res = join(dirname(fileURLToPath(import.meta.resolve('@cyclonedx/cyclonedx-library/package.json'))), 'res', 'schema');
  const load = (f: string): object => JSON.parse(readFileSync(join(res, f), 'utf8')) as object;
  const ajv = new Ajv({
    strict: false,
    useDefaults: false,
    addUsedSchema: false,
    schemas: {
      'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json': load('spdx.SNAPSHOT.schema.json'),
      'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json': load('jsf-0.82.SNAPSHOT.schema.json'),
      'http://cyclonedx.org/schema/cryptography-defs.SNAPSHOT.schema.json': load('cryptography-defs.SNAPSHOT.schema.json'),
    },
  });
  formats.default(ajv);
  ajv.addFormat('idn-email', /^[^\s@]+@[^\s@]+$/);
  ajv.addFormat('iri-reference', true);
  const validate = ajv.compile(load(`bom-${version}.SNAPSHOT.schema.json`));
  return (json) => (validate(JSON.parse(json)) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`));
}
