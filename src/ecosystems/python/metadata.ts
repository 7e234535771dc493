/**
 * Core metadata (PEP 241/314/345/566/643): `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, an
 * `*.egg-info` file. RFC 822 style headers up to the first blank line, then the long description.
 * Read as Go's textproto.ReadMIMEHeader reads it for Trivy: case-insensitive keys, continuation
 * lines folded with one space, reading stops at the first malformed line (what came before counts).
 */
import { splitLicenseField } from './licenses.ts';

export interface PythonMetadata {
  name: string;
  version: string;
  /** Split license names; empty when the metadata names none. */
  licenses: string[];
}

/** Only the header block: everything before the first blank line (the description can be 100s of KB). */
export function condenseMetadata(content: Buffer): Buffer {
  for (const sep of ['\n\n', '\r\n\r\n']) {
    const i = content.indexOf(sep);
    if (i >= 0) return Buffer.from(content.subarray(0, i + 1));
  }
  return content;
}

/** Header fields: lower-cased key → values in order. */
export function parseHeaders(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let last: string[] | undefined;
  let start = 0;
  if (text.charCodeAt(0) === 0xfeff) start = 1;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') break;
    const c = line.charCodeAt(0);
    if (c === 32 || c === 9) {
      if (!last) break; // a continuation before any field: malformed
      const v = line.trim();
      if (v !== '') last[last.length - 1] = `${last[last.length - 1] ?? ''} ${v}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) break;
    const key = line.slice(0, colon);
    if (/[\s]/.test(key)) break;
    const k = key.toLowerCase();
    let vals = out.get(k);
    if (!vals) out.set(k, (vals = []));
    vals.push(line.slice(colon + 1).trim());
    last = vals;
  }
  return out;
}

const first = (h: Map<string, string[]>, key: string): string => h.get(key)?.[0] ?? '';

/**
 * The license as current Trivy picks it: License-Expression; else the `License ::` classifiers
 * (joined, 'OSI Approved' alone skipped); else License; else `file://<License-File>`.
 */
export function pickLicense(h: Map<string, string[]>): string {
  const expr = first(h, 'license-expression');
  if (expr) return expr;
  const fromClassifiers: string[] = [];
  for (const c of h.get('classifier') ?? []) {
    if (!c.startsWith('License :: ')) continue;
    const parts = c.split(' :: ');
    const name = parts[parts.length - 1] ?? '';
    if (name !== 'OSI Approved') fromClassifiers.push(name);
  }
  let license = fromClassifiers.join(', ');
  const plain = first(h, 'license');
  if (plain && fromClassifiers.length === 0) license = plain;
  if (!license) {
    const file = first(h, 'license-file');
    if (file) license = `file://${file}`;
  }
  return license;
}

/** Undefined when Name or Version is missing (Trivy skips such files). */
export function parseMetadata(text: string): PythonMetadata | undefined {
  const h = parseHeaders(text);
  const name = first(h, 'name');
  const version = first(h, 'version');
  if (!name || !version) return undefined;
  const license = pickLicense(h);
  // A license file path is one name even if it holds a comma
  const licenses = license.startsWith('file://') ? [license] : splitLicenseField(license);
  return { name, version, licenses };
}
