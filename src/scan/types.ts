import type { Inventory, ScanReport } from '../domain/index.ts';
import type { Logger } from '../shared/log.ts';

/**
 * The scanning entry points the CLI and the admission server share (so a CI scan and an admission
 * decision can never disagree). Implemented in src/scan/index.ts.
 *
 *   buildInventory(target, opts): Promise<Inventory>   // image/ + ecosystems/
 *   scanTarget(target, opts): Promise<ScanReport>       // + vulndb/ + matching
 *
 * `target` is what a user types: 'alpine:3.19', 'docker-archive:x.tar', 'oci-archive:x.tar',
 * 'oci:DIR[:TAG]', 'rootfs:DIR', 'sbom:FILE' (scan only).
 */
export interface InventoryOptions {
  cacheDir: string;
  logger: Logger;
  /** 'linux/amd64' by default. */
  platform?: string;
  /** Allow plain HTTP / unverified TLS for these registries ('127.0.0.1:5000'); `true` = any. */
  insecure?: boolean | readonly string[];
  /** docker config.json path (else DOCKER_CONFIG / ~/.docker/config.json, resolved by the caller). */
  registryConfig?: string;
  /** Allow registries on loopback/private/link-local addresses (SSRF guard). CLI: true; server: config. */
  allowPrivateRegistries?: boolean;
  /** Skip the per-layer analysis cache. */
  noCache?: boolean;
  /** Also hash each layer's tar against the config's diff ID when its blob digest is verified (docs/image.md). */
  verifyDiffIds?: boolean;
  signal?: AbortSignal;
  /** Progress for large downloads (the CLI draws a bar on a TTY). */
  onProgress?: (e: { phase: string; done: number; total?: number; item?: string }) => void;
}

export type DbSourceChoice = 'auto' | 'osv' | 'trivy' | 'merge';

export interface ScanOptions extends InventoryOptions {
  /** Which advisory data decides: 'auto' = Trivy DB if present else OSV (see docs). */
  dbSource?: DbSourceChoice;
}

export type { Inventory, ScanReport };
