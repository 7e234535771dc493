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
import type { FormatId, RenderOptions, Writer } from './types.ts';

export type { FormatId, RenderOptions, Writer } from './types.ts';

/**
 * Each writer module loads on first use: a JSON report must not pay for the CycloneDX library (most of
 * a warm scan's time is start-up).
 */
export const writers: Record<FormatId, Writer> = {
  table: async (r, o, out) => (await import('./table.ts')).writeTable(r, o, out),
  json: async (r, o, out) => (await import('./trivy-json.ts')).writeTrivyJson(r, o, out),
  sarif: async (r, o, out) => (await import('./sarif.ts')).writeSarif(r, o, out),
  cyclonedx: async (r, o, out) => (await import('./cyclonedx.ts')).writeCycloneDx(r, o, out),
  'spdx-json': async (r, o, out) => (await import('./spdx.ts')).writeSpdxJson(r, o, out),
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
