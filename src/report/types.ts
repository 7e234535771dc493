import type { ScanReport } from '../domain/index.ts';

/**
 * Report writers (STYLE principle 6): one module per format, listed in `src/report/index.ts`,
 * with a narrow input (a ScanReport) — never CLI flags.
 * An SBOM is a ScanReport with `findings: []` (or with findings: CycloneDX then carries vulnerabilities).
 */
export type FormatId = 'table' | 'json' | 'sarif' | 'cyclonedx' | 'spdx-json';

/** CycloneDX spec versions the writer can produce (the document is the same; the schema it validates against differs). */
export const CYCLONEDX_VERSIONS = ['1.4', '1.5', '1.6'] as const;
export type CycloneDxVersion = (typeof CYCLONEDX_VERSIONS)[number];

export interface RenderOptions {
  /** ANSI colours (table on a TTY). */
  color: boolean;
  /** json: include every package (Trivy's --list-all-pkgs). */
  listAllPackages?: boolean;
  /** Fixed clock for reproducible output in tests. */
  now?: Date;
  /** Tool version for metadata. */
  toolVersion: string;
  /**
   * cyclonedx: also write Trivy's `aquasecurity:trivy:*` component properties (source package, type,
   * layer), so `trivy sbom` matches Debian/Ubuntu/Alpine packages by their source package.
   */
  compat?: 'trivy';
  /** cyclonedx: the spec version written (default '1.5', which every current reader takes). */
  cyclonedxVersion?: CycloneDxVersion;
  /** sarif: the project's home page for tool.driver.informationUri (left out when not given). */
  informationUri?: string;
  /** table: terminal width for truncating titles (default 120; 0 = never truncate). */
  width?: number;
}

export type Writer = (report: ScanReport, opts: RenderOptions, out: NodeJS.WritableStream) => Promise<void>;
