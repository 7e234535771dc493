import type { OsFamily, OsInfo, ReadonlyFs } from '../../domain/index.ts';

/** os-release lives in either place; /etc/os-release is usually a symlink to the second. */
export const OS_RELEASE_PATHS = ['etc/os-release', 'usr/lib/os-release'] as const;

/** Release files are tiny; anything larger is not one. */
export const RELEASE_FILE_MAX = 64 * 1024;

/** The text of a collected file, or undefined. */
export function readText(fs: ReadonlyFs, path: string): string | undefined {
  const f = fs.get(path);
  return f ? f.content.toString('utf8') : undefined;
}

/** The first non-empty line, trimmed. */
export function firstLine(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t) return t;
  }
  return undefined;
}

/**
 * Parse an os-release / lsb-release style file: KEY=value, KEY="value", KEY='value', # comments,
 * lines that are not assignments skipped. A value with a stray quote on one side (ID="ubuntu) keeps
 * its text, as Trivy's os-release analyzer trims quote characters off both ends; the first
 * assignment of a key wins, as Trivy stops at the first ID/VERSION_ID pair it can use.
 */
export function parseKeyValue(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.replace(/^\uFEFF/, '').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || out.has(key)) continue;
    let value = line.slice(eq + 1).trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\(["\\$`])/g, '$1');
    } else {
      value = value.replace(/^["']+|["']+$/g, '');
    }
    // control characters (a file saved with stray bytes) are not part of any value
    value = value.replace(/[\u0000-\u001f\u007f]/g, '');
    out.set(key, value);
  }
  return out;
}

/** The first os-release file present, parsed. */
export function readOsRelease(fs: ReadonlyFs): Map<string, string> | undefined {
  for (const p of OS_RELEASE_PATHS) {
    const t = readText(fs, p);
    if (t !== undefined) return parseKeyValue(t);
  }
  return undefined;
}

/** An OsInfo without undefined optional fields (exactOptionalPropertyTypes). */
export function makeOs(
  family: OsFamily,
  version: string,
  extra: { codename?: string | undefined; prettyName?: string | undefined; distroless?: boolean | undefined; extended?: boolean | undefined } = {},
): OsInfo {
  const os: OsInfo = { family, version };
  if (extra.codename) os.codename = extra.codename;
  if (extra.prettyName) os.prettyName = extra.prettyName;
  if (extra.distroless) os.distroless = true;
  if (extra.extended) os.extended = true;
  return os;
}
