/**
 * Debian package licenses from `usr/share/doc/<pkg>/copyright`, the way Trivy reads them:
 * `License:` fields of the machine-readable format (DEP-5), split on and/or/commas, plus references
 * to `/usr/share/common-licenses/<NAME>`. The walker keeps only the extracted names (`condense`).
 */
import { normalizeLicense } from '../os/licenses.ts';

const COPYRIGHT_RE = /^usr\/share\/doc\/[^/]+\/copyright$/;
const COMMON_RE = /\/?usr\/share\/common-licenses\/([0-9A-Za-z_.+-]+[0-9A-Za-z+])/;
const SPLIT_RE = /(?:,?[_ ]+(?:or|and)[_ ]+)|(?:,[ ]*)/;
/** Marks content already condensed to one license name per line. */
const MARK = '#portcullis-licenses 1\n';

export function isCopyrightFile(path: string): boolean {
  return path.startsWith('usr/share/doc/') && COPYRIGHT_RE.test(path);
}

/** 'usr/share/doc/zlib1g/copyright' → 'zlib1g'. */
export function copyrightPath(pkgName: string): string {
  return `usr/share/doc/${pkgName}/copyright`;
}

function cleanup(s: string): string {
  // "The MIT License (MIT)" → "The MIT License"
  let out = s.split('(')[0] ?? '';
  if (out.startsWith('The main library is licensed under ')) out = out.slice('The main library is licensed under '.length);
  if (out.endsWith(' license')) out = out.slice(0, -' license'.length);
  return out.trim();
}

function splitNames(s: string): string[] {
  const out: string[] = [];
  for (const part of s.split(SPLIT_RE)) {
    if (!part) continue;
    const lower = part.toLowerCase();
    if ((lower.startsWith('ver ') || lower.startsWith('version ')) && out.length) out[out.length - 1] += `, ${part}`;
    else out.push(part);
  }
  return out;
}

/** License names of one copyright file, in first-seen order. */
export function parseCopyright(text: string): string[] {
  if (text.startsWith(MARK)) return text.slice(MARK.length).split('\n').filter(Boolean);
  const found: string[] = [];
  const add = (l: string): void => {
    if (l && !found.includes(l)) found.push(l);
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('License:')) {
      const l = cleanup(line.slice(8));
      if (l) for (const lic of splitNames(l)) add(normalizeLicense(lic.trim()));
    } else if (line.includes('/usr/share/common-licenses/')) {
      const m = COMMON_RE.exec(line);
      if (m?.[1]) add(normalizeLicense(m[1]));
    }
  }
  return found;
}

/** Shrink a copyright file to its license names; drop it when it names none. */
export function condenseCopyright(content: Buffer): Buffer | undefined {
  const names = parseCopyright(content.toString('utf8'));
  return names.length ? Buffer.from(MARK + names.join('\n')) : undefined;
}
