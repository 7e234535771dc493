/**
 * Curated, bounded messages: what a developer reads in `kubectl` output. Built from policy facts only
 * (image, digest, severities, advisory ids, package versions), never from exception text.
 */
import { SEVERITIES, severityRank, type Finding, type Severity } from '../domain/index.ts';
import { displayImage } from './match.ts';

/** Bounds (characters). Kubernetes truncates warnings beyond 256; a status message stays readable under 2 KB. */
export const MAX_IMAGE_REASON = 480;
export const MAX_DECISION_REASON = 2000;
export const MAX_WARNING = 256;
export const MAX_ANNOTATION_VALUE = 1024;

export function clip(s: string, max: number): string {
  const oneLine = s.replace(/[\r\n\t]+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, Math.max(0, max - 1))}…` : oneLine;
}

/** 'sha256:ab12cd34ef56' (12 hex digits: enough to find it, short enough to read). */
export function shortDigest(digest: string): string {
  const i = digest.indexOf(':');
  return i < 0 ? digest.slice(0, 19) : `${digest.slice(0, i)}:${digest.slice(i + 1, i + 13)}`;
}

/** 'nginx:latest (sha256:ab12cd34ef56)' or 'nginx:latest'. */
export function imageLabel(image: string, digest?: string): string {
  const shown = displayImage(image);
  return digest && !image.includes('@') ? `${shown} (${shortDigest(digest)})` : shown;
}

/** Worst first: severity, then has-a-fix (actionable first), then score, then id. */
export function compareFindings(a: Finding, b: Finding): number {
  const s = severityRank(b.severity) - severityRank(a.severity);
  if (s) return s;
  const fa = a.fixedVersion ? 1 : 0;
  const fb = b.fixedVersion ? 1 : 0;
  if (fa !== fb) return fb - fa;
  const sc = (b.score ?? -1) - (a.score ?? -1);
  if (sc) return sc;
  return a.advisoryId < b.advisoryId ? -1 : a.advisoryId > b.advisoryId ? 1 : 0;
}

/** '2 CRITICAL, 5 HIGH' (worst first). */
export function severityCounts(findings: readonly Finding[]): string {
  const counts = new Map<Severity, number>();
  for (const f of findings) counts.set(f.severity, (counts.get(f.severity) ?? 0) + 1);
  return [...SEVERITIES]
    .reverse()
    .filter((s) => counts.has(s))
    .map((s) => `${counts.get(s)} ${s}`)
    .join(', ');
}

/** 'CVE-2023-1234 (openssl 3.0.2, fixed 3.0.7)' / 'GHSA-… (lodash 4.17.20, no fix)'. */
export function describeFinding(f: Finding): string {
  const fix = f.fixedVersion ? `fixed ${f.fixedVersion}` : 'no fix';
  return `${displayImage(f.advisoryId, 64)} (${displayImage(f.package.name, 64)} ${displayImage(f.installedVersion, 48)}, ${displayImage(fix, 64)})`;
}

/** 'nginx:latest (sha256:ab12…): 2 CRITICAL, 5 HIGH: CVE-… (…), CVE-… (…), …' */
export function vulnerableReason(image: string, digest: string | undefined, findings: readonly Finding[], worst: readonly Finding[]): string {
  const more = findings.length > worst.length ? ', …' : '';
  const named = worst.length ? `: ${worst.map(describeFinding).join(', ')}${more}` : '';
  return clip(`${imageLabel(image, digest)}: ${severityCounts(findings)}${named}`, MAX_IMAGE_REASON);
}

/**
 * 'head: reason; reason; …' within `max`; reasons that do not fit are counted ('… and 3 more').
 */
export function joinReasons(head: string, reasons: readonly string[], max = MAX_DECISION_REASON): string {
  let out = head;
  for (let i = 0; i < reasons.length; i++) {
    const sep = i === 0 ? (out ? ': ' : '') : '; ';
    const next = `${out}${sep}${reasons[i]}`;
    const rest = reasons.length - i - 1;
    const tail = rest > 0 ? `; … and ${rest} more` : '';
    if (next.length + tail.length > max) return clip(`${out}${i === 0 ? ':' : ';'} … and ${reasons.length - i} more`, max);
    out = next;
  }
  return clip(out, max);
}
