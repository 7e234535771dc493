/**
 * `--format table`: for people. One section per target as Trivy prints them (a `Target (os)` header,
 * a per-target summary line, a box table with Library, Vulnerability, Severity, Status, Installed
 * Version, Fixed Version, Title), then the overall line
 * `Total: N (CRITICAL: a, HIGH: b, MEDIUM: c, LOW: d, UNKNOWN: e)` and the report's notes as warnings.
 *
 * Severities are coloured only when `opts.color`; titles are cut to fit `opts.width` (default 120
 * columns, 0 = no limit); output depends on nothing but the report and the options. With
 * `opts.listAllPackages` each target also gets a table of its packages (what `sbom --format table` shows).
 */
import { styleText } from 'node:util';
import type { Finding, Package, ScanReport, Severity } from '../domain/index.ts';
import { groupResults, packageFile, summaryLine, writeAll, type ResultGroup } from './common.ts';
import type { RenderOptions, Writer } from './types.ts';

export const DEFAULT_WIDTH = 120;

type Style = Parameters<typeof styleText>[0];
const SEVERITY_STYLE: Record<Severity, Style> = {
  CRITICAL: ['bold', 'red'],
  HIGH: 'red',
  MEDIUM: 'yellow',
  LOW: 'cyan',
  UNKNOWN: 'blue',
};

/** Display width of a string in a terminal: combining marks take 0 columns, East Asian wide/fullwidth 2. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (/\p{M}/u.test(ch) || cp === 0x200b) continue;
    if (isWide(cp)) w += 2;
    else if (cp >= 0x20 && cp !== 0x7f) w += 1;
  }
  return w;
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Control characters (from attacker-controlled metadata) never reach the terminal. */
export function sanitize(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, ' ');
}

/** Cut `s` to at most `max` columns, ending in '…' when cut. */
export function truncate(s: string, max: number): string {
  if (max <= 0 || displayWidth(s) <= max) return s;
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = displayWidth(ch);
    if (w + cw > max - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

const MIN_FLEX = 10;
const MIN_COLUMN = 8;

/** Break `s` into lines of at most `max` columns, at spaces where possible. */
export function wrap(s: string, max: number): string[] {
  if (max <= 0 || displayWidth(s) <= max) return [s];
  const out: string[] = [];
  let cur = '';
  const flush = (): void => {
    if (cur) out.push(cur);
    cur = '';
  };
  for (const word of s.split(' ')) {
    const candidate = cur ? `${cur} ${word}` : word;
    if (displayWidth(candidate) <= max) {
      cur = candidate;
      continue;
    }
    flush();
    let rest = word;
    while (displayWidth(rest) > max) {
      let piece = '';
      for (const ch of rest) {
        if (displayWidth(piece + ch) > max) break;
        piece += ch;
      }
      out.push(piece);
      rest = rest.slice(piece.length);
    }
    cur = rest;
  }
  flush();
  return out.length ? out : [''];
}

const pad = (s: string, width: number): string => s + ' '.repeat(Math.max(0, width - displayWidth(s)));

interface Cell {
  lines: string[];
  style?: Style;
  /** Lines shown whole or not at all (a URL cut short is useless). */
  whole?: ReadonlySet<number>;
}

/** A box table; the `flex` column shrinks to make the whole table fit `width` (0 = unbounded). */
function boxTable(headers: string[], rows: Cell[][], opts: { width: number; flex: number; color: boolean; separators: boolean }): string {
  const n = headers.length;
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => Math.max(0, ...(r[i]?.lines ?? []).map(displayWidth)))));
  if (opts.width > 0) {
    const total = (): number => widths.reduce((a, w) => a + w, 0) + 3 * n + 1;
    const fixed = total() - (widths[opts.flex] ?? 0);
    const room = Math.max(MIN_FLEX, opts.width - fixed);
    widths[opts.flex] = Math.min(widths[opts.flex] ?? room, room);
    // still too wide: narrow the widest other column, whose cells then wrap (never below MIN_COLUMN)
    while (total() > opts.width) {
      let widest = -1;
      widths.forEach((w, i) => {
        if (i !== opts.flex && w > MIN_COLUMN && (widest < 0 || w > (widths[widest] ?? 0))) widest = i;
      });
      if (widest < 0) break;
      widths[widest] = (widths[widest] ?? 0) - 1;
    }
  }
  const line = (l: string, m: string, r: string): string => `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}`;
  const out: string[] = [line('┌', '┬', '┐')];
  const renderRow = (cells: Cell[]): void => {
    const cut = cells.map((c, i) => {
      const w = widths[i] ?? 0;
      const kept = c.lines.filter((l, j) => !c.whole?.has(j) || displayWidth(l) <= w);
      // the flexible column (titles) is cut; the others wrap so no version is ever lost
      return i === opts.flex ? kept.map((l) => truncate(l, w)) : kept.flatMap((l) => wrap(l, w));
    });
    const height = Math.max(1, ...cut.map((c) => c.length));
    for (let y = 0; y < height; y++) {
      const parts = cut.map((c, i) => {
        const text = pad(c[y] ?? '', widths[i] ?? 0);
        const style = cells[i]?.style;
        return opts.color && style && c[y] ? styleText(style, text, { validateStream: false }) : text;
      });
      out.push(`│ ${parts.join(' │ ')} │`);
    }
  };
  renderRow(headers.map((h) => ({ lines: [h] })));
  out.push(line('├', '┼', '┤'));
  rows.forEach((r, i) => {
    if (i > 0 && opts.separators) out.push(line('├', '┼', '┤'));
    renderRow(r);
  });
  out.push(line('└', '┴', '┘'));
  return out.join('\n');
}

const VULN_HEADERS = ['Library', 'Vulnerability', 'Severity', 'Status', 'Installed Version', 'Fixed Version', 'Title'];

function vulnRows(findings: readonly Finding[]): Cell[][] {
  let prev = '';
  return findings.map((f) => {
    const key = `${f.package.name}\0${f.installedVersion}`;
    const same = key === prev;
    prev = key;
    const title = [sanitize(f.title ?? f.description?.split('\n')[0] ?? ''), ...(f.url ? [sanitize(f.url)] : [])].filter(Boolean);
    return [
      { lines: [same ? '' : sanitize(f.package.name)] },
      { lines: [sanitize(f.advisoryId)] },
      { lines: [f.severity], style: SEVERITY_STYLE[f.severity] },
      { lines: [f.status] },
      { lines: [same ? '' : sanitize(f.installedVersion)] },
      { lines: (f.fixedVersion ?? '').split(', ').map(sanitize) },
      { lines: title.length ? title : [''], ...(f.url ? { whole: new Set([title.length - 1]) } : {}) },
    ];
  });
}

const PKG_HEADERS = ['Package', 'Version', 'Type', 'Source', 'Licenses', 'File'];

function packageRows(pkgs: readonly Package[]): Cell[][] {
  return pkgs.map((p) => [
    { lines: [sanitize(p.name)] },
    { lines: [sanitize(p.version)] },
    { lines: [p.type] },
    { lines: [p.source && (p.source.name !== p.name || p.source.version !== p.version) ? sanitize(`${p.source.name} ${p.source.version}`) : ''] },
    { lines: [sanitize((p.licenses ?? []).join(', '))] },
    { lines: [sanitize(packageFile(p) ?? '')] },
  ]);
}

function header(g: ResultGroup): string {
  const title = sanitize(g.class === 'os-pkgs' ? g.target : `${g.target} (${g.type})`);
  return `${title}\n${'='.repeat(displayWidth(title))}`;
}

export function renderTable(report: ScanReport, opts: RenderOptions): string {
  const width = opts.width ?? DEFAULT_WIDTH;
  const groups = groupResults(report, { withEmpty: Boolean(opts.listAllPackages) });
  const parts: string[] = [];
  for (const g of groups) {
    const section = [header(g), summaryLine(g.findings)];
    if (g.findings.length) section.push('', boxTable(VULN_HEADERS, vulnRows(g.findings), { width, flex: 6, color: opts.color, separators: true }));
    if (opts.listAllPackages && g.packages.length) section.push('', `Packages: ${g.packages.length}`, boxTable(PKG_HEADERS, packageRows(g.packages), { width, flex: 5, color: false, separators: false }));
    parts.push(section.join('\n'));
  }
  const tail: string[] = [];
  const npkgs = report.inventory.packages.length;
  if (report.findings.length === 0) {
    tail.push(npkgs === 0 ? 'No packages found: nothing was checked for vulnerabilities.' : `No vulnerabilities found in ${npkgs} package${npkgs === 1 ? '' : 's'}.`);
  }
  tail.push(summaryLine(report.findings));
  for (const n of report.inventory.notes) {
    const w = `WARNING: ${sanitize(n)}`;
    tail.push(opts.color ? styleText('yellow', w, { validateStream: false }) : w);
  }
  if (report.inventory.notes.length) tail.push('These results may be incomplete (see the warnings above).');
  return `${[...parts, tail.join('\n')].map((p) => `\n${p}\n`).join('')}`;
}

export const writeTable: Writer = async (report, opts, out) => {
  await writeAll(out, renderTable(report, opts));
};
