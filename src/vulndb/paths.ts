/** Where the OSV advisory DB lives in the cache directory. */
import { join } from 'node:path';

export function osvDbPath(cacheDir: string): string {
  return join(cacheDir, 'db', 'osv.sqlite');
}

/**
 * When `db update` last heard from each source (a 304 counts): kept beside the DB so an update that
 * changed nothing does not have to rewrite it. `{ "checkedAt": ISO, "sources": { "osv:Debian": ISO } }`.
 */
export function osvCheckedPath(cacheDir: string): string {
  return join(cacheDir, 'db', 'osv.checked.json');
}
