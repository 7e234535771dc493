import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (…/main). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** ../shared beside the repository: testdata, bench scripts. CI clones main with shared/ beside it. */
export const SHARED = process.env['PORTCULLIS_SHARED'] ?? resolve(REPO_ROOT, '../shared');
export const TESTDATA = resolve(SHARED, 'testdata');
