/**
 * One interface for every scanner the admission server can use (DESIGN.md "Scanner backends"):
 * `builtin` (our pipeline: image/ → ecosystems/ → vulndb/) and `trivy` (the Trivy CLI, or a Trivy
 * server through its client mode). The server only ever passes references pinned by digest.
 */
import type { DbInfo, Finding, Inventory, OsInfo } from '../domain/index.ts';

export interface BackendScanResult {
  findings: Finding[];
  /** The builtin backend returns the whole inventory; Trivy gives the OS only. */
  inventory?: Inventory;
  os?: OsInfo;
}

export interface BackendScanOptions {
  /** Aborted when the scan must stop (scan timeout, shutdown). */
  signal: AbortSignal;
}

export interface BackendState {
  /** True once the advisory DB is loaded (builtin) or Trivy answered its version with a DB (trivy). */
  ready: boolean;
  /** Why not ready, for /readyz and logs. */
  reason?: string;
  /** Scanner version string (ours or Trivy's). */
  scannerVersion: string;
  db?: DbInfo;
}

export interface ScanBackend {
  readonly name: 'builtin' | 'trivy';
  /** Load the DB / probe the binary. Never throws: not being ready is a state (see state()). */
  start(): Promise<void>;
  state(): BackendState;
  /**
   * Part of every result-cache key (STYLE principle 9): it changes when the scanner version or the
   * advisory DB changes, so results computed with an older DB are never reused.
   */
  cacheIdentity(): string;
  /** Scan one image reference pinned by digest ('registry/repo@sha256:…'). Errors are ScannerErrors. */
  scan(pinnedRef: string, opts: BackendScanOptions): Promise<BackendScanResult>;
  close(): Promise<void>;
}

/** Registry access settings shared by both backends. */
export interface RegistryAccess {
  allowPrivateRegistries: boolean;
  insecureRegistries: readonly string[];
  registryConfig?: string;
  platform?: string;
}
