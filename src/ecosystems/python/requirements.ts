/**
 * pip requirements files, as Trivy reads them: only exact `name==version` (and `===`) pins count (ranges,
 * URLs, `-r` includes and options are not versions of anything installed). Spaces and line
 * continuations are removed, extras (`name[socks]`) dropped, and the line is cut at `#`, `;`
 * (environment markers) and `--` (per-requirement options such as --hash). A pin whose name is not
 * a PEP 508 name or whose version is not a PEP 440 version (wildcards `2.0.*`, template
 * placeholders, quoted strings) is skipped, as Trivy skips it.
 */
import { parsePep440 } from '../../versions/pep440.ts';

/** PEP 508 names: letters, digits, '.', '_' and '-' (Trivy's isValidName). */
const NAME_RE = /^[\p{L}\p{N}._-]+$/u;

export interface Pin {
  name: string;
  version: string;
  line: number;
}

/** Text of a requirements file; UTF-16 (Windows editors) is decoded by its byte-order mark. */
export function decodeRequirements(buf: Buffer): string {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return new TextDecoder('utf-16le').decode(buf.subarray(2));
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) return new TextDecoder('utf-16be').decode(buf.subarray(2));
  const s = buf.toString('utf8');
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

function cut(s: string, marker: string): string {
  const i = s.indexOf(marker);
  return i < 0 ? s : s.slice(0, i);
}

function dropExtras(s: string): string {
  const open = s.indexOf('[');
  if (open < 0) return s;
  const close = s.indexOf(']', open);
  return close < 0 ? s : s.slice(0, open) + s.slice(close + 1);
}

export function parseRequirements(text: string): Pin[] {
  const out: Pin[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] ?? '').replaceAll('\r', '').replaceAll(' ', '').replaceAll('\t', '').replaceAll('\\', '');
    line = dropExtras(line);
    line = cut(cut(cut(line, '#'), ';'), '--');
    // '===' (arbitrary equality) pins too; Trivy would read its version as '=1.0'
    const arbitrary = line.includes('===');
    const parts = arbitrary ? line.split('===') : line.split('==');
    if (parts.length !== 2) continue;
    const [name, version] = parts as [string, string];
    if (!name || !version || !NAME_RE.test(name)) continue;
    if (!arbitrary && parsePep440(version) === undefined) continue;
    out.push({ name, version, line: i + 1 });
  }
  return out;
}
