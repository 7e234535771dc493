/**
 * Bundler: Gemfile.lock (`bundler`, purl pkg:gem/NAME@VER), in project directories only — Trivy
 * 0.44 reads it in `fs`/`repo` and not in `image`/`rootfs` (see ../python/mode.ts). The rules are
 * Trivy's, line by line: a line indented by exactly four spaces with two words `name (version)` is
 * a spec of any section (GEM, GIT, PATH); the version loses its parentheses and a platform suffix
 * (`1.13.6-x86_64-linux` → `1.13.6`); a later spec of the same name replaces an earlier one.
 * Names listed under DEPENDENCIES (first word, `!` kept as Trivy does) are direct, all others
 * indirect. A line longer than 64 KiB makes Trivy give up on the file: here it is a note.
 */
import type { Cataloger } from '../types.ts';
import { lockFileCataloger } from '../lockfile.ts';
import { makePurl } from '../os/purl.ts';

export interface GemSpec {
  name: string;
  version: string;
  direct: boolean;
}

export class GemfileLockError extends Error {}

/** Go's bufio.Scanner default token limit, which Trivy's parser runs into. */
const MAX_LINE = 64 * 1024;

const leadingSpaces = (line: string): number => {
  let i = 0;
  while (line.charCodeAt(i) === 32) i++;
  return i;
};

export function isGemfileLock(path: string): boolean {
  return path === 'Gemfile.lock' || path.endsWith('/Gemfile.lock');
}

export function parseGemfileLock(text: string): GemSpec[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const specs = new Map<string, string>();
  const direct = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.length >= MAX_LINE) throw new GemfileLockError(`line ${i + 1} is longer than ${MAX_LINE} bytes`);
    if (leadingSpaces(line) === 4) {
      const words = line.trim().split(/\s+/);
      if (words.length !== 2) continue;
      const version = (words[1] as string).replace(/^[()]+|[()]+$/g, '').split('-')[0] as string;
      specs.set(words[0] as string, version);
    } else if (line === 'DEPENDENCIES') {
      // Trivy reads the list right here, up to (and swallowing) the first line not indented by two
      for (i++; i < lines.length; i++) {
        const d = lines[i] as string;
        if (leadingSpaces(d) !== 2) break;
        const first = d.trim().split(/\s+/)[0];
        if (first) direct.add(first);
      }
    }
  }
  return [...specs].map(([name, version]) => ({ name, version, direct: direct.has(name) }));
}

export const gemPurl = (name: string, version: string): string => makePurl('gem', undefined, name, version, {});

export const bundlerCataloger: Cataloger = lockFileCataloger({
  id: 'bundler',
  version: 1,
  type: 'bundler',
  basename: 'Gemfile.lock',
  maxFileSize: 32 * 1024 * 1024,
  parse: (text) => parseGemfileLock(text).map((s) => ({ name: s.name, version: s.version, dev: false, relationship: s.direct ? 'direct' : 'indirect' })),
  purl: gemPurl,
});
