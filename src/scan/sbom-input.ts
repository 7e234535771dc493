import type { Inventory } from '../domain/index.ts';
import { UserError } from '../shared/errors.ts';

/** sbom:FILE → Inventory (CycloneDX or SPDX JSON). Being written (report helper). */
export function readSbomFile(path: string, target: string): Inventory {
  throw new UserError(`${target}: reading SBOMs is not available yet (${path})`, { code: 'SBOM_UNSUPPORTED' });
}
