/**
 * Severity of an OSV record, in this order (the first that gives an answer wins):
 *   1. the record's own CVSS vector: CVSS_V3 (3.0/3.1), then CVSS_V4, then CVSS_V2, scored with
 *      ae-cvss-calculator → 'osv-cvss-v3' / 'osv-cvss-v4' / 'osv-cvss-v2'
 *   2. the matched affected[] entry's own `severity` vectors → 'osv-affected-cvss-v3' …
 *   3. the vendor's qualitative rating: GHSA `database_specific.severity` (LOW/MODERATE/HIGH/CRITICAL)
 *      → 'ghsa' (or '<prefix>' of the record id for other feeds), Ubuntu priority (`severity` type
 *      'Ubuntu') → 'ubuntu'; then the matched affected[] entry's rating: `database_specific.severity`,
 *      Ubuntu's `ecosystem_specific.ubuntu_priority`, Debian's `ecosystem_specific.urgency`
 *      ('unimportant' is LOW, as Trivy reads the Debian tracker; 'not yet assigned' is no answer)
 *   4. store.cveSeverity(CVE alias) (NVD data) → the source it names ('nvd')
 *   5. UNKNOWN → 'none'
 */
import { createRequire } from 'node:module';

type CvssLib = typeof import('ae-cvss-calculator');
let lib: CvssLib | undefined;
/** ae-cvss-calculator (CommonJS) loads on the first vector scored, not at start-up. */
function cvssLib(): CvssLib {
  return (lib ??= createRequire(import.meta.url)('ae-cvss-calculator') as CvssLib);
}
import { severityFromScore, type Severity } from '../domain/index.ts';
import type { OsvAffected, OsvRecord, OsvSeverity } from '../vulndb/osv-types.ts';
import type { AdvisoryStore } from '../vulndb/store.ts';

export interface SeverityResult {
  severity: Severity;
  score?: number;
  vector?: string;
  source: string;
  /** Rank of the source in the order above (lower = more authoritative). */
  rank: number;
  /** Who published the vector, for Finding.cvss keys (Trivy style): 'ghsa', 'go', 'pysec', 'nvd' … */
  vendor?: string;
}

const CVSS_ORDER: readonly [string, string][] = [
  ['CVSS_V3', 'v3'],
  ['CVSS_V4', 'v4'],
  ['CVSS_V2', 'v2'],
];

/** Base score of a CVSS vector, or undefined when the library rejects it. Never throws. */
export function cvssScore(type: string, vector: string): number | undefined {
  try {
    let r: { base?: number | undefined; overall?: number | undefined } | undefined;
    if (type === 'CVSS_V3') {
      r = vector.startsWith('CVSS:3.0/') ? new (cvssLib().Cvss3P0)(vector).calculateScores() : new (cvssLib().Cvss3P1)(vector).calculateScores();
    } else if (type === 'CVSS_V4') r = new (cvssLib().Cvss4P0)(vector).calculateScores();
    else if (type === 'CVSS_V2') r = new (cvssLib().Cvss2)(vector).calculateScores();
    const s = r?.base ?? r?.overall;
    return typeof s === 'number' && Number.isFinite(s) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** CVSS v2 has no official 'CRITICAL'; NVD's v2 bands: ≥7 HIGH, ≥4 MEDIUM, else LOW. */
function v2Severity(score: number): Severity {
  if (score >= 7) return 'HIGH';
  if (score >= 4) return 'MEDIUM';
  return 'LOW';
}

function fromVectors(list: readonly OsvSeverity[] | undefined, prefix: string, rankBase: number): SeverityResult | undefined {
  if (!list) return undefined;
  for (const [i, [type, tag]] of CVSS_ORDER.entries()) {
    for (const s of list) {
      if (s.type !== type || typeof s.score !== 'string') continue;
      const score = cvssScore(type, s.score);
      // a 0.0 vector (no impact: GHSA-2cjh-75gp-34gc) rates nothing; the vendor's word decides
      if (score === undefined || score === 0) continue;
      const severity = type === 'CVSS_V2' ? v2Severity(score) : severityFromScore(score);
      return { severity, score, vector: s.score, source: `${prefix}-cvss-${tag}`, rank: rankBase + i };
    }
  }
  return undefined;
}

const VENDOR_WORDS: Readonly<Record<string, Severity>> = {
  unimportant: 'LOW',
  negligible: 'LOW',
  low: 'LOW',
  moderate: 'MEDIUM',
  medium: 'MEDIUM',
  important: 'HIGH',
  high: 'HIGH',
  critical: 'CRITICAL',
};

function vendorWord(v: unknown): Severity | undefined {
  // Debian's tracker marks provisional urgencies with a trailing '*' ('medium*')
  return typeof v === 'string' ? VENDOR_WORDS[v.trim().toLowerCase().replace(/\*+$/, '')] : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fromAffectedVendor(record: OsvRecord, affected: OsvAffected | undefined): SeverityResult | undefined {
  if (!affected) return undefined;
  const ds = isRecord(affected.database_specific) ? affected.database_specific : undefined;
  const es = isRecord(affected.ecosystem_specific) ? affected.ecosystem_specific : undefined;
  const dsWord = vendorWord(ds?.['severity']);
  if (dsWord) return { severity: dsWord, source: idPrefix(record.id), rank: 12 };
  const ubuntu = vendorWord(es?.['ubuntu_priority']);
  if (ubuntu) return { severity: ubuntu, source: 'ubuntu', rank: 12 };
  const debian = vendorWord(es?.['urgency']);
  if (debian) return { severity: debian, source: 'debian', rank: 12 };
  return undefined;
}

function idPrefix(id: string): string {
  const p = id.split('-', 1)[0] ?? id;
  return p.toLowerCase();
}

function fromVendor(record: OsvRecord): SeverityResult | undefined {
  const ds = record.database_specific;
  const word = vendorWord(ds?.['severity']);
  if (word) return { severity: word, source: idPrefix(record.id), rank: 10 };
  for (const s of record.severity ?? []) {
    if (s.type === 'Ubuntu') {
      const w = vendorWord(s.score);
      if (w) return { severity: w, source: 'ubuntu', rank: 11 };
    }
  }
  return undefined;
}

function cveIds(record: OsvRecord): string[] {
  return [record.id, ...(record.aliases ?? []), ...(record.upstream ?? [])].filter((x) => x.startsWith('CVE-'));
}

export function recordSeverity(record: OsvRecord, affected: OsvAffected | undefined, store: AdvisoryStore): SeverityResult {
  const own = fromVectors(record.severity, 'osv', 0);
  if (own) return { ...own, vendor: idPrefix(record.id) };
  const aff = fromVectors(affected?.severity, 'osv-affected', 3);
  if (aff) return { ...aff, vendor: idPrefix(record.id) };
  const vendor = fromVendor(record) ?? fromAffectedVendor(record, affected);
  if (vendor) return vendor;
  if (store.cveSeverity) {
    for (const cve of cveIds(record)) {
      const n = store.cveSeverity(cve);
      const sev = n ? normaliseSeverity(n.severity) : undefined;
      if (n && sev) {
        const r: SeverityResult = { severity: sev, source: n.source, rank: 20, vendor: n.source };
        if (n.score !== undefined) r.score = n.score;
        if (n.vector !== undefined) r.vector = n.vector;
        return r;
      }
    }
  }
  return { severity: 'UNKNOWN', source: 'none', rank: 99 };
}

function normaliseSeverity(s: string): Severity | undefined {
  const u = s.trim().toUpperCase();
  if (u === 'UNKNOWN' || u === 'LOW' || u === 'MEDIUM' || u === 'HIGH' || u === 'CRITICAL') return u;
  return vendorWord(s);
}
