/**
 * Elixir / Erlang hex: mix.lock (`hex`), read the way Trivy 0.44 does — line by line, not as an
 * Erlang term: each `"name": {...},` line whose tuple has at least 8 fields (split on spaces and
 * commas: `{:hex, :pkg, "1.6.13", "sha", [:mix], [deps], "hexpm", "sha"}`) gives a package named
 * by the map key with the tuple's third field as its version. git and path dependencies have fewer
 * fields and no version: they are skipped. The same name@version twice is one package. Project
 * directories only (see ../lockfile.ts).
 */
import { makePurl } from '../os/purl.ts';
import { lockFileCataloger, type LockEntry } from '../lockfile.ts';

export const MIX_LOCK = 'mix.lock';

export function hexPurl(name: string, version: string): string {
  return makePurl('hex', undefined, name, version, {});
}

const trimQuotes = (s: string): string => s.replace(/^"+|"+$/g, '');

export function parseMixLock(text: string): LockEntry[] {
  const seen = new Set<string>();
  const out: LockEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const colon = line.indexOf(':');
    if (colon < 0) continue; // `%{` and `}`
    const name = trimQuotes(line.slice(0, colon));
    const fields = line.slice(colon + 1).split(/[\s,]+/).filter((s) => s !== '');
    if (fields.length < 8) continue; // git / path dependencies: no version
    const version = trimQuotes(fields[2] as string);
    const id = `${name}@${version}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ name, version });
  }
  return out;
}

export const hexCataloger = lockFileCataloger({
  id: 'hex',
  version: 1,
  type: 'hex',
  basename: MIX_LOCK,
  maxFileSize: 16 * 1024 * 1024,
  parse: parseMixLock,
  purl: hexPurl,
});
