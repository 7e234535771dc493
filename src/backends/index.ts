/**
 * Scanner backends behind one interface (types.ts), picked by the `server.backend` config key.
 */
import { join } from 'node:path';
import type { ServerConfig } from '../config/server-schema.ts';
import type { AdvisoryDb } from '../scan/index.ts';
import type { Logger } from '../shared/log.ts';
import { BuiltinBackend } from './builtin.ts';
import { TrivyBackend } from './trivy.ts';
import type { ScanBackend } from './types.ts';

export type { BackendScanOptions, BackendScanResult, BackendState, RegistryAccess, ScanBackend } from './types.ts';
export { BuiltinBackend, type BuiltinBackendOptions } from './builtin.ts';
export { TrivyBackend, type TrivyBackendOptions } from './trivy.ts';
export { parseTrivyReport } from './trivy-json.ts';

export interface BackendDeps {
  cacheDir: string;
  logger: Logger;
  /** builtin only: a fixed DB instead of the one in the cache dir. */
  db?: AdvisoryDb;
  /** builtin only: how often the DB files are checked for a change. */
  dbWatchIntervalMs?: number;
}

export function createBackend(cfg: ServerConfig, deps: BackendDeps): ScanBackend {
  const access = {
    allowPrivateRegistries: cfg.allowPrivateRegistries,
    insecureRegistries: cfg.insecureRegistries,
    platform: cfg.platform,
    ...(cfg.registryConfig !== undefined ? { registryConfig: cfg.registryConfig } : {}),
  };
  if (cfg.backend === 'trivy') {
    return new TrivyBackend({
      ...access,
      binary: cfg.trivy.binary,
      cacheDir: cfg.trivy.cacheDir ?? join(deps.cacheDir, 'trivy'),
      timeoutMs: Math.min(cfg.trivy.timeout, cfg.timeouts.scan),
      skipDbUpdate: cfg.trivy.skipDbUpdate,
      offlineScan: cfg.trivy.offlineScan,
      maxOutputBytes: cfg.trivy.maxOutputBytes,
      logger: deps.logger,
      ...(cfg.trivy.serverUrl !== undefined ? { serverUrl: cfg.trivy.serverUrl } : {}),
      ...(cfg.trivy.tokenFile !== undefined ? { tokenFile: cfg.trivy.tokenFile } : {}),
    });
  }
  return new BuiltinBackend({
    ...access,
    cacheDir: deps.cacheDir,
    dbSource: cfg.dbSource,
    logger: deps.logger,
    ...(deps.db ? { db: deps.db } : {}),
    ...(deps.dbWatchIntervalMs !== undefined ? { watchIntervalMs: deps.dbWatchIntervalMs } : {}),
  });
}
