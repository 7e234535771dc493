/**
 * The vulnerability DB's public API for scan/ and cli/. The OSV store lives in
 * `<cacheDir>/db/osv.sqlite` (see docs/vulndb.md).
 */
import { existsSync } from 'node:fs';
import { osvDbPath } from './paths.ts';
import { SqliteStore, type OpenOptions } from './sqlite-store.ts';

export type { AdvisoryStore } from './store.ts';
export { MemoryStore } from './memory-store.ts';
export { SqliteStore } from './sqlite-store.ts';
export { osvDbPath } from './paths.ts';

/**
 * Open the OSV advisory DB in the cache read-only, or undefined when none was installed.
 * A corrupt or unreadable DB is a ScannerError (VULNDB_CORRUPT) telling the user to run
 * `db update` / `db import`.
 */
export function openOsvStore(cacheDir: string, opts: OpenOptions = {}): SqliteStore | undefined {
  const path = osvDbPath(cacheDir);
  if (!existsSync(path)) return undefined;
  return SqliteStore.open(path, opts);
}
