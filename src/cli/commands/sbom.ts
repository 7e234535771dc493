/**
 * `portcullis sbom TARGET --format cyclonedx|spdx-json [--output FILE]`: what is inside an image,
 * no advisory DB needed. A target that cannot be read completely gives warnings on stderr (and the
 * SBOM says it is incomplete); a target that cannot be read at all gives one error line and no file.
 */
import { Option, type Command } from 'commander';
import { UserError } from '../../shared/errors.ts';
import { VERSION } from '../../shared/version.ts';
import { writeOutput } from '../output.ts';
import { progressBar } from '../progress.ts';
import { addTargetOptions, readInventory, renderOptions, settingsFor } from '../target-options.ts';
import type { RegisterCommand } from './index.ts';

const FORMATS = ['cyclonedx', 'spdx-json', 'json', 'table'] as const;

export const register: RegisterCommand = (program, getCtx) => {
  const cmd = program
    .command('sbom')
    .summary('write a CycloneDX or SPDX SBOM of an image, archive, layout or root filesystem')
    .description(
      'List every OS and language package in TARGET as an SBOM (no advisory DB needed). ' +
        'TARGET: an image reference, docker-archive:PATH, oci-archive:PATH, oci:DIR[:TAG] or rootfs:DIR.',
    )
    .argument('<target>', 'what to inventory')
    .addOption(new Option('-f, --format <format>', 'cyclonedx (CycloneDX 1.5 JSON), spdx-json (SPDX 2.3 JSON), json (Trivy JSON, all packages), table').default('cyclonedx').env('PORTCULLIS_SBOM_FORMAT'));
  addTargetOptions(cmd);
  cmd.action(async (target: string, _o: unknown, c: Command) => {
    const ctx = getCtx();
    const s = await settingsFor(c, ctx);
    const format = String(c.opts<{ format: string }>().format);
    if (!(FORMATS as readonly string[]).includes(format)) throw new UserError(`unknown --format "${format}" (use cyclonedx or spdx-json)`, { code: 'FLAG_INVALID' });
    if (target.startsWith('sbom:')) throw new UserError(`${target}: is already an SBOM (scan it with \`portcullis scan ${target}\`)`, { code: 'TARGET_INVALID' });
    const bar = progressBar(ctx.stderr, ctx.isTty && !ctx.quiet);
    const inventory = await readInventory(target, s, ctx, bar);
    if (!ctx.quiet) for (const n of inventory.notes) ctx.stderr.write(`warning: ${n}\n`);
    const { renderReport } = await import('../../report/index.ts');
    const report = { inventory, findings: [], createdAt: new Date().toISOString(), scannerVersion: VERSION };
    await writeOutput(s.output, ctx.stdout, (out) => renderReport(report, format as 'cyclonedx', { ...renderOptions(s, ctx, VERSION), listAllPackages: true }, out));
  });
};
