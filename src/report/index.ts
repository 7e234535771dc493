/**
 * The report writers (STYLE principle 6): one module per format, listed here, each taking a
 * ScanReport — never CLI flags. An SBOM is a ScanReport with `findings: []`.
 *
 *   renderReport(report, 'json', { color: false, toolVersion: VERSION }, process.stdout)
 *
 * | format    | module          | what                                                       |
 * |-----------|-----------------|------------------------------------------------------------|
 * | table     | table.ts        | people: one table per target, Trivy-style summary lines     |
 * | json      | trivy-json.ts   | Trivy's JSON report, SchemaVersion 2                        |
 * | sarif     | sarif.ts        | SARIF 2.1.0 for GitHub code scanning                        |
 * | cyclonedx | cyclonedx.ts    | CycloneDX 1.5 JSON SBOM (+ vulnerabilities when any)        |
 * | spdx-json | spdx.ts         | SPDX 2.3 JSON SBOM                                          |
 */
import type { ScanReport } from '../domain/index.ts';
import { UserError } from '../shared/errors.ts';
import { writeCycloneDx } from './cyclonedx.ts';
import { writeSarif } from './sarif.ts';
import { writeSpdxJson } from './spdx.ts';
import { writeTable } from './table.ts';
import { writeTrivyJson } from './trivy-json.ts';
import type { FormatId, RenderOptions, Writer } from './types.ts';

export type { FormatId, RenderOptions, Writer } from './types.ts';

const notYet =
  (id: FormatId): Writer =>
  () =>
    Promise.reject(new UserError(`--format ${id} is not available in this build`, { code: 'FORMAT_UNAVAILABLE' }));

export const writers: Record<FormatId, Writer> = {
  table: writeTable,
  json: writeTrivyJson,
  sarif: writeSarif,
  cyclonedx: writeCycloneDx,
  'spdx-json': writeSpdxJson,
};

/** Every format id, in the order help texts list them. */
export const formatIds: readonly FormatId[] = ['table', 'json', 'sarif', 'cyclonedx', 'spdx-json'];

export function isFormatId(s: string): s is FormatId {
  return (formatIds as readonly string[]).includes(s);
}

/**
 * Write `report` in `format` to `out`. Resolves when everything was handed to the stream; an
 * unknown format is a UserError naming the valid ones.
 */
export async function renderReport(report: ScanReport, format: string, opts: RenderOptions, out: NodeJS.WritableStream): Promise<void> {
  if (!isFormatId(format)) throw new UserError(`unknown format "${format}" (use ${formatIds.join(', ')})`, { code: 'FLAG_INVALID' });
  await writers[format](report, opts, out);
}
