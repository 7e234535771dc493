/**
 * `portcullis scan TARGET` (alias `image`, as `trivy image`): inventory × advisory DB → report,
 * with Trivy's filters and exit-code semantics, for people and CI.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import type { ScanReport, Severity } from '../../domain/index.ts';
import type { AdvisoryDb } from '../../scan/index.ts';
import { isSeverity } from '../../domain/index.ts';
import { UserError } from '../../shared/errors.ts';
import { VERSION } from '../../shared/version.ts';
import { ExitCode, type CliContext } from '../context.ts';
import { writeOutput } from '../output.ts';
import { progressBar } from '../progress.ts';
import type { RegisterCommand } from './index.ts';
import { addTargetOptions, readInventory, renderOptions, settingsFor, type TargetSettings } from '../target-options.ts';

export const register: RegisterCommand = (program, getCtx) => {
  const cmd = program
    .command('scan')
    .alias('image')
    .summary('scan an image, archive, layout, root filesystem or SBOM for vulnerabilities')
    .description(
      'Scan TARGET for OS and language packages and match them against the advisory DB in the cache ' +
        '(`portcullis db update` fills it). TARGET is an image reference (alpine:3.19, host:5000/app@sha256:…), ' +
        'docker-archive:PATH, oci-archive:PATH, oci:DIR[:TAG], rootfs:DIR or sbom:FILE (CycloneDX/SPDX JSON).',
    )
    .argument('<target>', 'what to scan')
    .addOption(new Option('-s, --severity <list>', 'severities to report, comma-separated (default all: UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL)').env('PORTCULLIS_SEVERITY'))
    .addOption(new Option('--ignore-unfixed', 'leave out vulnerabilities that have no fixed version yet').env('PORTCULLIS_IGNORE_UNFIXED'))
    .addOption(new Option('--exit-code <n>', 'exit with N when any vulnerability remains after the filters (default 0)').env('PORTCULLIS_EXIT_CODE'))
    .addOption(new Option('-f, --format <format>', 'table, json (Trivy JSON), sarif, cyclonedx or spdx-json (default table)').env('PORTCULLIS_FORMAT'))
    .addOption(new Option('--ignorefile <file>', 'ignore rules: .trivyignore (ids, exp:DATE) or .trivyignore.yaml (default ./.trivyignore, ./.trivyignore.yaml)').env('PORTCULLIS_IGNOREFILE'))
    .addOption(new Option('--db-source <source>', 'advisory data that decides: auto (Trivy DB if installed, else OSV), osv, trivy, merge').env('PORTCULLIS_DB_SOURCE'))
    .addOption(new Option('--list-all-pkgs', 'json: list every package, not only vulnerable ones').env('PORTCULLIS_LIST_ALL_PKGS'));
  addTargetOptions(cmd);
  cmd.action(async (target: string, _opts: unknown, c: Command) => {
    const ctx = getCtx();
    await runScan(target, await settingsFor(c, ctx), ctx);
  });
};

const FORMATS = ['table', 'json', 'sarif', 'cyclonedx', 'spdx-json'] as const;
type Format = (typeof FORMATS)[number];

export function defaultIgnoreFile(cwd: string): string | undefined {
  for (const n of ['.trivyignore', '.trivyignore.yaml', '.trivyignore.yml']) if (existsSync(join(cwd, n))) return join(cwd, n);
  return undefined;
}

export async function runScan(target: string, s: TargetSettings, ctx: CliContext, preset?: { db?: AdvisoryDb; name?: string }): Promise<void> {
  const format = (s.format ?? 'table') as Format;
  if (!(FORMATS as readonly string[]).includes(format)) throw new UserError(`unknown --format "${format}" (use ${FORMATS.join(', ')})`, { code: 'FLAG_INVALID' });
  const severities = s.severity?.map((x) => x.toUpperCase());
  for (const x of severities ?? []) if (!isSeverity(x)) throw new UserError(`unknown severity "${x}" (use UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL)`, { code: 'FLAG_INVALID' });
  if (s.exitCode !== undefined && (!Number.isInteger(s.exitCode) || s.exitCode < 0 || s.exitCode > 255)) throw new UserError(`--exit-code must be an integer from 0 to 255`, { code: 'FLAG_INVALID' });
  const dbSource = s.dbSource ?? 'auto';
  if (!['auto', 'osv', 'trivy', 'merge'].includes(dbSource)) throw new UserError(`unknown --db-source "${dbSource}" (use auto, osv, trivy, merge)`, { code: 'FLAG_INVALID' });

  const [{ loadIgnoreFile, applyIgnores }, { filterFindings }] = await Promise.all([import('../../scan/ignore.ts'), import('../../scan/filter.ts')]);
  const ignorePath = s.ignorefile ?? defaultIgnoreFile(process.cwd());
  const ignores = ignorePath ? loadIgnoreFile(ignorePath, s.ignorefile !== undefined) : { rules: [], expired: [] };

  const scan = await import('../../scan/index.ts');
  const db = preset?.db ?? (await scan.openAdvisoryDb(s.cacheDir, dbSource as 'auto'));
  const bar = progressBar(ctx.stderr, ctx.isTty && !ctx.quiet);
  let report: ScanReport;
  try {
    const inventory = await readInventory(target, s, ctx, bar);
    if (preset?.name) inventory.artifact.name = preset.name;
    const matched = scan.matchInventory(inventory, db);
    inventory.notes.push(...matched.notes);
    const filtered = filterFindings(matched.findings, {
      ...(severities ? { severities: severities as Severity[] } : {}),
      ...(s.ignoreUnfixed ? { ignoreUnfixed: true } : {}),
      ignore: (fs) => applyIgnores(fs, ignores),
    });
    for (const r of ignores.expired) ctx.logger.warn({ rule: r.origin, id: r.id, expired: r.expires }, 'ignore rule expired; not applied');
    if (filtered.ignored.length) ctx.logger.info({ ignored: filtered.ignored.length }, 'findings ignored by the ignore file');
    report = { inventory, findings: filtered.findings, db: db.info, createdAt: new Date().toISOString(), scannerVersion: VERSION };
    bar.done();
    const stale = staleDbNote(db.info, new Date());
    const notes = [...inventory.notes, ...(stale ? [stale] : []), ...ignores.expired.map((r) => `ignore rule ${r.origin} (${r.id ?? r.packageName ?? 'purl'}) expired on ${r.expires ?? '?'} and was not applied`)];
    if (!ctx.quiet) for (const n of notes) ctx.stderr.write(`warning: ${n}\n`);
  } finally {
    bar.done();
    if (!preset?.db) db.close();
  }
  await render(report, format, s, ctx);
  if (s.exitCode && report.findings.length > 0) {
    throw new ExitCode(s.exitCode);
  }
}

/** Advisories older than a week miss what was published since: say so (Trivy does too). */
export function staleDbNote(info: AdvisoryDb['info'], now: Date): string | undefined {
  const at = Date.parse(info.updatedAt ?? info.builtAt ?? '');
  if (!Number.isFinite(at) || info.source.startsWith('demo')) return undefined;
  const days = Math.floor((now.getTime() - at) / 86_400_000);
  if (days < 7) return undefined;
  const how = info.source === 'trivy' ? '`portcullis db update --source trivy`' : '`portcullis db update`';
  return `the ${info.source} advisory DB was last updated ${days} days ago: newer vulnerabilities are missing (run ${how})`;
}

async function render(report: ScanReport, format: Format, s: TargetSettings, ctx: CliContext): Promise<void> {
  const { renderReport } = await import('../../report/index.ts');
  await writeOutput(s.output, ctx.stdout, (out) => renderReport(report, format, renderOptions(s, ctx, VERSION), out));
}
