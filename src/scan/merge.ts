import type { AdvisoryDb } from './index.ts';

/** OSV + Trivy, duplicates folded by CVE id. Being written (Trivy DB helper); until then Trivy decides. */
export function mergedAdvisoryDb(trivy: AdvisoryDb, osv: AdvisoryDb): AdvisoryDb {
  osv.close();
  return trivy;
}
