/** Where the OSV advisory DB lives in the cache directory. */
import { join } from 'node:path';

export function osvDbPath(cacheDir: string): string {
  return join(cacheDir, 'db', 'osv.sqlite');
}
