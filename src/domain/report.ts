import type { Finding } from './finding.ts';
import type { Inventory } from './inventory.ts';

export interface DbInfo {
  /** 'osv', 'trivy', 'osv+trivy', or 'demo' for the bundled sample set. */
  source: string;
  builtAt?: string;
  updatedAt?: string;
}

/** One scan of one artifact: what is inside and what is wrong with it. */
export interface ScanReport {
  inventory: Inventory;
  findings: Finding[];
  db?: DbInfo;
  /** ISO time the scan finished. */
  createdAt: string;
  scannerVersion: string;
}
