/**
 * `portcullis demo`: the README's first command. Scans the bundled demo image (demo/image, a real
 * 3-layer OCI layout) against the bundled SAMPLE of four real OSV advisories (demo/advisories), so a
 * newcomer sees real findings on a fresh machine with no network and no DB download.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { ScannerError } from '../../shared/errors.ts';
import { addTargetOptions, settingsFor } from '../target-options.ts';
import { runScan } from './scan.ts';
import type { RegisterCommand } from './index.ts';

export const DEMO_DIR = fileURLToPath(new URL('../../../demo/', import.meta.url));

export const register: RegisterCommand = (program, getCtx) => {
  const cmd = program
    .command('demo')
    .summary('scan the bundled demo image against a bundled sample of real advisories (offline)')
    .description(
      'Scan demo/image (an Ubuntu 18.04 base + npm and Python packages, 3 real layers, one whiteout) against the ' +
        'four real OSV advisories in demo/advisories. The advisories are a SAMPLE, not a vulnerability database: ' +
        'for real scans run `portcullis db update`, then `portcullis scan IMAGE`.',
    )
    .addOption(new Option('-f, --format <format>', 'table, json, sarif, cyclonedx or spdx-json').default('table'))
    .addOption(new Option('-s, --severity <list>', 'severities to report, comma-separated'))
    .addOption(new Option('--exit-code <n>', 'exit with N when any vulnerability is found'));
  addTargetOptions(cmd);
  cmd.action(async (_o: unknown, c: Command) => {
    const ctx = getCtx();
    const s = await settingsFor(c, ctx);
    const { MemoryStore, asOsvRecord } = await import('../../vulndb/memory-store.ts');
    const { storeAdvisoryDb } = await import('../../scan/index.ts');
    const dir = join(DEMO_DIR, 'advisories');
    const records = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => {
        const r = asOsvRecord(JSON.parse(readFileSync(join(dir, f), 'utf8')));
        if (!r) throw new ScannerError('DEMO_BROKEN', `demo advisory ${f} is not a valid OSV record`);
        return r;
      });
    const db = storeAdvisoryDb(new MemoryStore(records, { source: 'demo (sample of 4 real OSV advisories)' }));
    if (!ctx.quiet) ctx.stderr.write(`demo: scanning demo/image against ${records.length} sample advisories (${records.map((r) => r.id).join(', ')})\n`);
    await runScan(`oci:${join(DEMO_DIR, 'image')}`, s, ctx, { db, name: 'demo/image' });
    if (!ctx.quiet) ctx.stderr.write('demo: the advisories above are a sample. For real scans: `portcullis db update`, then `portcullis scan IMAGE`.\n');
  });
};
