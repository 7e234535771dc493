import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
/** The scanner's version: part of every cache key and report. */
export const VERSION: string = pkg.version;
