export const SEVERITIES = ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function isSeverity(s: string): s is Severity {
  return (SEVERITIES as readonly string[]).includes(s);
}

/** Higher is worse: UNKNOWN=0 … CRITICAL=4. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** CVSS base score → qualitative rating (CVSS v3/v4 table; 0 → LOW as Trivy/NVD do for None-ish). */
export function severityFromScore(score: number): Severity {
  if (score >= 9) return 'CRITICAL';
  if (score >= 7) return 'HIGH';
  if (score >= 4) return 'MEDIUM';
  if (score > 0) return 'LOW';
  return 'UNKNOWN';
}
