import type { Package } from './inventory.ts';
import type { Severity } from './severity.ts';

/** Trivy's statuses; OSV matches use 'fixed' and 'affected' only. */
export type FindingStatus =
  | 'fixed'
  | 'affected'
  | 'under_investigation'
  | 'will_not_fix'
  | 'fix_deferred'
  | 'end_of_life'
  | 'not_affected'
  | 'unknown';

/** Where a score or vector came from ('nvd', 'redhat', 'ghsa', the OSV record itself …). */
export interface CvssEntry {
  v2Vector?: string;
  v2Score?: number;
  v3Vector?: string;
  v3Score?: number;
  v40Vector?: string;
  v40Score?: number;
}

export interface Finding {
  /** OSV id or CVE id as the data source names it ('CVE-2023-1234', 'GHSA-…', 'DSA-…'). */
  advisoryId: string;
  aliases: string[];
  /** Vendor advisory ids that carry this vulnerability (RHSA-…, DSA-…), as Trivy's VendorIDs. */
  vendorIds?: string[];
  package: Package;
  installedVersion: string;
  /** Lowest fixed version above the installed one; for several branches Trivy joins with ', '. */
  fixedVersion?: string;
  status: FindingStatus;
  severity: Severity;
  score?: number;
  /** Which source gave the severity: 'osv-cvss-v3', 'debian', 'nvd', 'ghsa', … (Trivy SeveritySource). */
  severitySource: string;
  vendorSeverity?: Record<string, Severity>;
  cvss?: Record<string, CvssEntry>;
  title?: string;
  description?: string;
  /** Primary URL for humans. */
  url?: string;
  references?: string[];
  /** The feed that produced the match (Trivy DataSource). */
  dataSource?: { id: string; name: string; url: string };
  publishedDate?: string;
  lastModifiedDate?: string;
  cweIds?: string[];
}
