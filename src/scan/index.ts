/**
 * The scanning entry points the CLI and the admission server share, so a CI scan and an admission
 * decision can never disagree:
 *
 *   buildInventory(target, opts)   image/ + ecosystems/ → Inventory            (portcullis sbom)
 *   openAdvisoryDb(cacheDir, src)  the OSV and/or Trivy DB in the cache → AdvisoryDb
 *   matchInventory(inv, db)        Inventory × AdvisoryDb → findings
 *   scanTarget(target, opts)       all of the above → ScanReport               (portcullis scan, builtin backend)
 */
// Stages are imported when first used: an `sbom:` scan never loads the image layer, a Trivy-DB scan
// never loads the OSV store, and `--help` loads none of them (start-up time is most of a small scan).
import type { DbInfo, Finding, Inventory, ScanReport } from '../domain/index.ts';
import type { AnalyzeOptions } from '../image/analyze.ts';
import { ScannerError, UserError } from '../shared/errors.ts';
import { VERSION } from '../shared/version.ts';
import type { AdvisoryStore } from '../vulndb/store.ts';
import type { TrivyDb } from '../vulndb/trivy/index.ts';
import { matchOsv } from './match-osv.ts';
import type { DbSourceChoice, InventoryOptions, ScanOptions } from './types.ts';

export type { DbSourceChoice, InventoryOptions, ScanOptions } from './types.ts';

/** An opened advisory source: what decides the findings of a scan. */
export interface AdvisoryDb {
  info: DbInfo;
  match(inventory: Inventory): { findings: Finding[]; notes: string[] };
  close(): void;
}

/** The target string says it is an SBOM (scan only): `sbom:FILE`. */
export function isSbomTarget(target: string): boolean {
  return target.startsWith('sbom:');
}

function analyzeOptions(opts: InventoryOptions): AnalyzeOptions {
  const a: AnalyzeOptions = { cacheDir: opts.cacheDir, logger: opts.logger };
  if (opts.platform !== undefined) a.platform = opts.platform;
  if (opts.insecure !== undefined) a.insecure = opts.insecure;
  if (opts.registryConfig !== undefined) a.registryConfig = opts.registryConfig;
  if (opts.allowPrivateRegistries !== undefined) a.allowPrivateRegistries = opts.allowPrivateRegistries;
  if (opts.noCache !== undefined) a.noCache = opts.noCache;
  if (opts.verifyDiffIds) a.verifyDiffIds = true;
  if (opts.signal !== undefined) a.signal = opts.signal;
  if (opts.onProgress !== undefined) a.onProgress = opts.onProgress;
  return a;
}

/** Any target → what is inside it. Notes say what is missing; a failure throws one clear ScannerError. */
export async function buildInventory(target: string, opts: InventoryOptions): Promise<Inventory> {
  if (isSbomTarget(target)) {
    const { readSbomFile } = await import('./sbom-input.ts');
    return readSbomFile(target.slice('sbom:'.length), target);
  }
  const [{ catalogFs, fileSelector }, { analyzeTarget }, { InventoryCache }] = await Promise.all([import('../ecosystems/index.ts'), import('../image/analyze.ts'), import('./inventory-cache.ts')]);
  const selector = fileSelector();
  // A warm scan of an image seen before: its manifest and config are read, then the inventory made
  // from exactly these layers with exactly this code is taken from the cache (inventory-cache.ts).
  const cache = opts.noCache || isRootfsTarget(target) ? undefined : await InventoryCache.open(opts.cacheDir, opts.logger);
  try {
    let hit: ReturnType<NonNullable<typeof cache>['get']>;
    const a = analyzeOptions(opts);
    if (cache) a.skipLayersIf = (key) => (hit = cache.get(key)) !== undefined;
    const analyzed = await analyzeTarget(target, selector, a);
    if (analyzed.skipped && hit) {
      const cached: Inventory = { artifact: analyzed.artifact, packages: hit.packages, notes: [...analyzed.notes, ...hit.notes.filter((n) => !analyzed.notes.includes(n))] };
      if (hit.os) cached.os = hit.os;
      return cached;
    }
    const cat = await catalogFs(analyzed.fs, { logger: opts.logger.child({ component: 'catalog' }), artifactType: analyzed.artifact.type });
    const inventory: Inventory = {
      artifact: analyzed.artifact,
      packages: cat.packages,
      notes: [...analyzed.notes, ...cat.notes],
    };
    if (cat.os) inventory.os = cat.os;
    if (cache && analyzed.imageKey) cache.put(analyzed.imageKey, inventory);
    return inventory;
  } finally {
    cache?.close();
  }
}

function isRootfsTarget(target: string): boolean {
  return target.startsWith('rootfs:');
}

function osvDb(store: AdvisoryStore & { close?: () => void }): AdvisoryDb {
  return {
    info: store.info(),
    match: (inv) => matchOsv(inv, store),
    close: () => store.close?.(),
  };
}

async function trivyDb(db: TrivyDb): Promise<AdvisoryDb> {
  const { matchTrivy } = await import('./match-trivy.ts');
  const info: DbInfo = { source: 'trivy' };
  if (db.metadata.UpdatedAt) info.updatedAt = db.metadata.UpdatedAt;
  if (db.metadata.UpdatedAt) info.builtAt = db.metadata.UpdatedAt;
  return { info, match: (inv) => matchTrivy(inv, db), close: () => db.close() };
}

/** An AdvisoryDb over a store already in memory (the demo, tests). */
export function storeAdvisoryDb(store: AdvisoryStore): AdvisoryDb {
  return osvDb(store);
}

const NO_DB_HINT = 'run `portcullis db update` (or `portcullis db import PATH` on an air-gapped host)';

/**
 * Open the advisory data that decides: 'auto' = the Trivy DB when one is installed, else the OSV DB;
 * 'merge' = both, duplicates folded by CVE id. No DB → UserError with the command to run.
 */
export async function openAdvisoryDb(cacheDir: string, choice: DbSourceChoice = 'auto'): Promise<AdvisoryDb> {
  const wantTrivy = choice === 'trivy' || choice === 'auto' || choice === 'merge';
  const wantOsv = choice === 'osv' || choice === 'auto' || choice === 'merge';
  const trivy = wantTrivy ? (await import('../vulndb/trivy/index.ts')).openTrivyDb(cacheDir) : undefined;
  if (choice === 'trivy') {
    if (!trivy) throw new UserError(`no Trivy DB in ${cacheDir}: run \`portcullis db update --source trivy\` or \`portcullis db import trivy:PATH\``, { code: 'DB_MISSING' });
    return trivyDb(trivy);
  }
  if (choice === 'auto' && trivy) return trivyDb(trivy);
  const osv = wantOsv ? (await import('../vulndb/index.ts')).openOsvStore(cacheDir) : undefined;
  if (choice === 'merge') {
    if (trivy && osv) {
      const { mergedAdvisoryDb } = await import('./merge.ts');
      return mergedAdvisoryDb(await trivyDb(trivy), osvDb(osv));
    }
    if (trivy) return trivyDb(trivy);
  }
  if (!osv) throw new UserError(`no advisory database in ${cacheDir}: ${NO_DB_HINT}`, { code: 'DB_MISSING' });
  return osvDb(osv);
}

/** Match an inventory; the report's notes gain the matcher's. */
export function matchInventory(inventory: Inventory, db: AdvisoryDb): { findings: Finding[]; notes: string[] } {
  try {
    return db.match(inventory);
  } catch (err) {
    if (err instanceof ScannerError) throw err;
    throw new ScannerError('MATCH_FAILED', `matching ${inventory.artifact.name} against the ${db.info.source} DB failed`, { cause: err });
  }
}

/** The builtin backend: target → inventory → findings, one ScanReport. */
export async function scanTarget(target: string, opts: ScanOptions & { db: AdvisoryDb }): Promise<ScanReport> {
  const inventory = await buildInventory(target, opts);
  const { findings, notes } = matchInventory(inventory, opts.db);
  inventory.notes.push(...notes);
  return { inventory, findings, db: opts.db.info, createdAt: new Date().toISOString(), scannerVersion: VERSION };
}
