/**
 * `portcullis db update | import | export | status | changes | show`: the advisory databases in the
 * cache directory (the OSV SQLite DB, and the Trivy DB beside it). docs/vulndb.md has the details.
 *
 * Informational lines go to stderr (progress bar on a TTY); `--format json` output and `db show`
 * go to stdout. Failures are one `error:` line and exit 1 (program.ts); a partly failed update
 * also exits 1 after saying which feeds failed and that they kept their previous data.
 */
import { Option, type Command } from 'commander';
import { ScannerError, UserError } from '../../shared/errors.ts';
import { parseDuration } from '../../shared/duration.ts';
import type { CliContext } from '../context.ts';
import { progressBar, type Progress } from '../progress.ts';
import type { RegisterCommand } from './index.ts';
import type { DbStatus } from '../../vulndb/status.ts';
import type { SourceChange } from '../../vulndb/sqlite-store.ts';

const FORMATS = ['table', 'json'] as const;

function format(v: unknown): 'table' | 'json' {
  const f = String(v ?? 'table');
  if (!(FORMATS as readonly string[]).includes(f)) throw new UserError(`unknown --format "${f}" (use table or json)`, { code: 'FLAG_INVALID' });
  return f as 'table' | 'json';
}

function list(v: unknown): string[] {
  if (v === undefined) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.flatMap((x) => String(x).split(',')).map((s) => s.trim()).filter(Boolean);
}

function collect(value: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), value];
}

function timeoutMs(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const ms = parseDuration(String(v));
  if (ms === undefined || ms <= 0) throw new UserError(`--timeout: "${String(v)}" is not a duration (e.g. 30s, 2m)`, { code: 'FLAG_INVALID' });
  return ms;
}

function intFlag(name: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`${name}: "${String(v)}" is not a whole number from ${min} to ${max}`, { code: 'FLAG_INVALID' });
  return n;
}

function bytesFlag(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i.exec(String(v).trim());
  if (!m) throw new UserError(`${name}: "${String(v)}" is not a size (e.g. 500MB, 2GiB)`, { code: 'FLAG_INVALID' });
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };
  return Math.round(Number(m[1]) * (mult[unit] ?? 1));
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function age(hours: number | undefined): string {
  if (hours === undefined) return '';
  if (hours < 1) return ` (${Math.round(hours * 60)} min ago)`;
  if (hours < 48) return ` (${hours.toFixed(1)} h ago)`;
  return ` (${Math.round(hours / 24)} days ago)`;
}

function hoursSince(iso: string | undefined): number | undefined {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? Math.max(0, (Date.now() - t) / 36e5) : undefined;
}

function changeText(c: SourceChange | undefined): string {
  if (!c) return '';
  const parts = [`+${n(c.added)} added`, `${n(c.modified)} modified`, `${n(c.withdrawn)} withdrawn`, `${n(c.removed)} removed`];
  const extra = [c.records !== undefined ? `${n(c.records)} records` : '', c.malformed ? `${n(c.malformed)} malformed skipped` : ''].filter(Boolean);
  return `${parts.join(', ')}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

function pad(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

/** Ctrl-C / SIGTERM abort the running update or import (the live DB stays as it was). */
function interruptible(): { signal: AbortSignal; dispose: () => void } {
  const ctl = new AbortController();
  const on = (): void => ctl.abort(new Error('interrupted'));
  process.once('SIGINT', on);
  process.once('SIGTERM', on);
  return {
    signal: ctl.signal,
    dispose: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/**
 * `db:` in portcullis.yaml (./portcullis.yaml, or PORTCULLIS_CONFIG) gives `db update` its defaults:
 * mirror, ecosystems, nvd feeds, the Trivy DB repository. A flag or its env var wins.
 */
async function applyDbConfig(o: Record<string, unknown>, ctx: CliContext): Promise<void> {
  const [{ readConfigFile, configSection }, { configFileSchema }] = await Promise.all([import('../../config/load.ts'), import('../../config/schema.ts')]);
  const db = configSection(readConfigFile(ctx.env['PORTCULLIS_CONFIG'], process.cwd()), undefined, configFileSchema).db;
  if (!db) return;
  if (o['mirror'] === undefined && db.mirror) o['mirror'] = db.mirror;
  if (o['ecosystem'] === undefined && db.ecosystems?.length) o['ecosystem'] = [...db.ecosystems];
  if (o['nvd'] === undefined && db.nvd?.length) o['nvd'] = [...db.nvd];
  if (o['repository'] === undefined && db.repository) o['repository'] = db.repository;
}

/** `--every`: a duration of at least a minute (an update every few seconds would only hammer the feed). */
function everyMs(v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const ms = parseDuration(String(v));
  if (ms === undefined || ms < 60_000) throw new UserError(`--every: "${String(v).slice(0, 40)}" is not a duration of at least 1m (e.g. 6h)`, { code: 'FLAG_INVALID' });
  return ms;
}

/**
 * `db update --every`: one round now, then one every `every` ms until the signal fires (then exit 0).
 * A failed round is one `error:` line (the DB keeps its previous data, as for a single update) and the
 * next round tries again; the exit code stays 0 because the loop did what it was asked.
 */
export async function updateEvery(ctx: CliContext, once: () => Promise<void>, every: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    const started = Date.now();
    try {
      await once();
    } catch (err) {
      if (signal.aborted) return;
      ctx.stderr.write(`error: ${(err as Error).message}\n`);
    }
    if (signal.aborted) return;
    const wait = Math.max(0, started + every - Date.now());
    if (!ctx.quiet) ctx.stderr.write(`next update at ${new Date(Date.now() + wait).toISOString()}\n`);
    const stopped = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(false);
      }, wait);
      const onAbort = (): void => {
        clearTimeout(t);
        resolve(true);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    if (stopped) return;
  }
}

function bar(ctx: CliContext): Progress {
  return progressBar(ctx.stderr, ctx.isTty && !ctx.quiet);
}

function info(ctx: CliContext, line: string): void {
  if (!ctx.quiet) ctx.stderr.write(`${line}\n`);
}

async function updateTrivy(ctx: CliContext, o: Record<string, unknown>, signal: AbortSignal): Promise<void> {
  const { updateTrivyDb } = await import('../../vulndb/trivy/index.ts');
  const insecure = o['insecure'] === true ? true : undefined;
  const status = await updateTrivyDb({
    cacheDir: ctx.cacheDir,
    logger: ctx.logger,
    isTty: ctx.isTty && !ctx.quiet,
    signal,
    ...(typeof o['repository'] === 'string' ? { repository: o['repository'] } : {}),
    ...(insecure ? { insecure } : {}),
    ...(typeof o['registryConfig'] === 'string' ? { registryConfig: o['registryConfig'] } : {}),
    ...(o['force'] === true ? { force: true } : {}),
  });
  if (format(o['format']) === 'json') ctx.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
  else if (status.skipped) info(ctx, `Trivy DB is current (next update ${status.metadata.NextUpdate ?? '?'}); use --force to pull anyway`);
  else info(ctx, `Trivy DB updated: ${status.path} (${mb(status.sizeBytes)}, ${n(status.vulnerabilities)} vulnerabilities, updated ${status.metadata.UpdatedAt ?? '?'})`);
}

async function updateOsv(ctx: CliContext, o: Record<string, unknown>, signal: AbortSignal): Promise<void> {
  const { updateOsvDb } = await import('../../vulndb/update.ts');
  const progress = bar(ctx);
  const ms = timeoutMs(o['timeout']);
  const retries = intFlag('--retries', o['retries'], 0, 10);
  const maxSize = bytesFlag('--max-size', o['maxSize']);
  let result;
  try {
    result = await updateOsvDb({
      cacheDir: ctx.cacheDir,
      logger: ctx.logger,
      ecosystems: list(o['ecosystem']),
      nvd: list(o['nvd']),
      signal,
      onProgress: (e) => progress.update(e),
      ...(typeof o['mirror'] === 'string' && o['mirror'] ? { mirror: o['mirror'] } : {}),
      ...(o['force'] === true ? { force: true } : {}),
      ...(ms !== undefined ? { timeoutMs: ms } : {}),
      ...(retries !== undefined ? { retries } : {}),
      ...(maxSize !== undefined ? { maxDownloadBytes: maxSize } : {}),
    });
  } finally {
    progress.done();
  }
  if (format(o['format']) === 'json') ctx.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    const detail = (x: (typeof result.outcomes)[number]): string => {
      if (x.status === 'failed') return x.error ?? '';
      if (x.status === 'skipped') return `not published there (${x.url})`;
      if (x.status === 'updated') return `${changeText(x.change)}${x.bytes ? `, ${mb(x.bytes)}` : ''}`;
      return 'not modified since the last update';
    };
    const rows = result.outcomes.map((x) => [x.name, x.status, detail(x)]);
    for (const l of pad(rows)) info(ctx, l);
    if (result.swapped) info(ctx, `advisory DB updated: ${result.dbPath} (update #${result.updateId ?? '?'}; \`portcullis db changes\` lists the ids)`);
    else if (result.failed === 0) info(ctx, `advisory DB is current: ${result.dbPath}`);
  }
  if (result.failed > 0) {
    const failed = result.outcomes.filter((x) => x.status === 'failed');
    const first = failed[0];
    const rest = failed.length > 1 ? ` and ${failed.length - 1} more` : '';
    throw new ScannerError(
      'DB_UPDATE_FAILED',
      `db update: ${failed.length} of ${result.outcomes.length} feeds failed (${first?.name}: ${first?.error}${rest}); ${result.swapped ? 'the others were updated, the failed ones kept their previous data' : 'the advisory DB was left as it was'}`,
    );
  }
}

async function runImport(ctx: CliContext, paths: string[], o: Record<string, unknown>, signal: AbortSignal): Promise<void> {
  const trivy = paths.filter((p) => p.startsWith('trivy:'));
  const osv = paths.filter((p) => !p.startsWith('trivy:'));
  const json = format(o['format']) === 'json';
  const out: Record<string, unknown> = {};
  if (trivy.length > 1) throw new UserError('db import: give one trivy:PATH at a time');
  if (trivy[0]) {
    const path = trivy[0].slice('trivy:'.length);
    if (!path) throw new UserError('db import trivy:PATH: PATH is missing');
    const { importTrivyDb } = await import('../../vulndb/trivy/index.ts');
    const s = await importTrivyDb(path, { cacheDir: ctx.cacheDir, logger: ctx.logger });
    out['trivy'] = s;
    if (!json) info(ctx, `Trivy DB imported: ${s.path} (${mb(s.sizeBytes)}, ${n(s.vulnerabilities)} vulnerabilities, updated ${s.metadata.UpdatedAt ?? '?'})`);
  }
  if (osv.length > 0) {
    const { importIntoDb } = await import('../../vulndb/import.ts');
    const progress = bar(ctx);
    let r;
    try {
      r = await importIntoDb(osv, {
        cacheDir: ctx.cacheDir,
        logger: ctx.logger,
        signal,
        onProgress: (e) => progress.update(e),
        ...(typeof o['sha256'] === 'string' ? { sha256: o['sha256'] } : {}),
      });
    } finally {
      progress.done();
    }
    out['osv'] = r;
    if (!json) {
      for (const l of pad(r.outcomes.map((x) => [x.sourceId, x.status, x.status === 'failed' ? (x.error ?? '') : changeText(x.change)]))) info(ctx, l);
      if (r.swapped) info(ctx, `advisory DB updated: ${r.dbPath} (update #${r.updateId ?? '?'})`);
    }
    if (json) ctx.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    if (r.failed > 0) {
      const f = r.outcomes.find((x) => x.status === 'failed');
      throw new ScannerError('DB_IMPORT_FAILED', `db import: ${r.failed} of ${r.outcomes.length} inputs failed (${f?.path}: ${f?.error}); the others were imported`);
    }
    return;
  }
  if (json) ctx.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

function statusText(s: DbStatus): string[] {
  const lines: string[] = [];
  if (s.osv) {
    const o = s.osv;
    lines.push(`OSV advisory DB  ${o.path} (${mb(o.sizeBytes)}, schema ${o.schemaVersion})`);
    lines.push(`  built        ${o.builtAt ?? '?'}${age(o.ageHours)}${o.checkedAt ? `; last checked ${o.checkedAt}${age(hoursSince(o.checkedAt))}` : ''}`);
    lines.push(`  advisories   ${n(o.advisories)} (${n(o.withdrawn)} withdrawn, never matched); NVD CVE severities ${n(o.cveSeverities)}`);
    lines.push('  sources');
    const rows = [['    SOURCE', 'RECORDS', 'WITHDRAWN', 'MALFORMED', 'IMPORTED', 'URL / VALIDATOR']];
    for (const x of o.sources) {
      const validator = [x.etag ? `etag ${x.etag}` : '', x.lastModified ? `last-modified ${x.lastModified}` : ''].filter(Boolean).join(', ');
      const checked = x.checkedAt && x.checkedAt !== x.importedAt ? `, checked${age(hoursSince(x.checkedAt))}` : '';
      rows.push([`    ${x.id}`, n(x.records), n(x.withdrawn), n(x.malformed), `${x.importedAt}${age(hoursSince(x.importedAt))}${checked}`, `${x.url ?? ''}${validator ? ` (${validator})` : ''}`]);
    }
    lines.push(...pad(rows));
    if (o.malformed > 0) {
      lines.push(`  malformed records skipped: ${n(o.malformed)}`);
      for (const x of o.sources) {
        if (x.malformed === 0) continue;
        for (const m of x.malformedSample) lines.push(`    ${x.id}: ${m.name}: ${m.reason}`);
        if (x.malformed > x.malformedSample.length) lines.push(`    ${x.id}: … and ${n(x.malformed - x.malformedSample.length)} more`);
      }
    }
    const ecos = Object.entries(o.ecosystems).sort((a, b) => b[1] - a[1]);
    lines.push(`  ecosystems   ${ecos.length === 0 ? 'none' : ecos.map(([e, c]) => `${e} ${n(c)}`).join(', ')}`);
    const u = o.lastUpdate;
    if (u) {
      const t = u.totals;
      lines.push(`  last update  #${u.id} ${u.finishedAt}${age(hoursSince(u.finishedAt))}: \`${u.command}\`: +${n(t.added)} added, ${n(t.modified)} modified, ${n(t.withdrawn)} withdrawn, ${n(t.removed)} removed${t.failed ? `, ${t.failed} feed(s) failed` : ''}`);
      for (const [id, c] of Object.entries(u.summary.sources)) if (c.status === 'failed') lines.push(`    failed ${id}: ${c.error ?? ''}`);
    }
  } else if (s.osvError) lines.push(`OSV advisory DB  unusable: ${s.osvError}`);
  else lines.push('OSV advisory DB  not installed (`portcullis db update`, or `portcullis db import PATH` offline)');
  if (s.trivy) {
    const t = s.trivy;
    lines.push(`Trivy DB         ${t.path} (${mb(t.sizeBytes)}, schema ${t.metadata.Version})`);
    lines.push(`  updated      ${t.metadata.UpdatedAt ?? '?'}${age(t.ageHours)}; next update ${t.metadata.NextUpdate ?? '?'}`);
    lines.push(`  contents     ${n(t.vulnerabilities)} vulnerabilities, ${t.osBuckets} OS and ${t.langBuckets} language buckets`);
  } else if (s.trivyError) lines.push(`Trivy DB         unusable: ${s.trivyError}`);
  else lines.push('Trivy DB         not installed (`portcullis db update --source trivy`, or `portcullis db import trivy:PATH`)');
  return lines;
}

export const register: RegisterCommand = (program, getCtx) => {
  const db = program
    .command('db')
    .summary('update, import, export and inspect the advisory databases')
    .description(
      'The advisory databases in the cache directory: the OSV DB (SQLite, from the OSV bucket, a mirror, or files) ' +
        'and the Trivy DB (trivy-db:2). Air-gapped sites: `db export FILE` on a connected host, `db import FILE` inside.',
    );

  db.command('update')
    .summary('download the latest advisories (OSV ecosystems, NVD feeds, or the Trivy DB)')
    .description(
      'Download each ecosystem\'s all.zip from the OSV bucket (or --mirror with the same <base>/<Ecosystem>/all.zip layout: ' +
        'http(s)://, file:// or a directory). Unchanged ecosystems are skipped (ETag / Last-Modified); the new DB is built ' +
        'beside the old one and swapped in atomically, so a failed or interrupted update leaves the old DB working. ' +
        'Default ecosystems: Debian, Ubuntu, Alpine, Rocky Linux, AlmaLinux, SUSE, openSUSE, Wolfi, Chainguard, Photon OS, ' +
        'Azure Linux, npm, PyPI, Go, Maven, crates.io, RubyGems, NuGet, Packagist.',
    )
    .addOption(new Option('--source <source>', 'osv (the OSV DB) or trivy (the trivy-db:2 OCI artifact)').choices(['osv', 'trivy']).default('osv'))
    .addOption(new Option('--ecosystem <list>', 'comma-separated OSV ecosystems (repeatable), e.g. Debian,Alpine,npm').argParser(collect).env('PORTCULLIS_DB_ECOSYSTEMS'))
    .addOption(new Option('--mirror <url>', 'base URL or directory laid out as <base>/<Ecosystem>/all.zip (default: the public OSV bucket)').env('PORTCULLIS_DB_MIRROR'))
    .addOption(new Option('--nvd <url|path>', 'NVD CVE JSON 2.0 feed (plain, .gz, .zst) for CVE severities; repeatable').argParser(collect).env('PORTCULLIS_DB_NVD'))
    .addOption(new Option('--force', 'download again even when unchanged (osv) / fresh (trivy)'))
    .addOption(new Option('--timeout <duration>', 'per request: response headers and each stall in a download (default 60s)'))
    .addOption(new Option('--retries <n>', 'retries after a failed download, with backoff (default 3)'))
    .addOption(new Option('--max-size <bytes>', 'refuse downloads larger than this (default 4GiB)'))
    .addOption(new Option('--repository <ref>', 'trivy: the DB artifact (default ghcr.io/aquasecurity/trivy-db:2)').env('PORTCULLIS_TRIVY_DB_REPOSITORY'))
    .addOption(new Option('--insecure', 'trivy: allow plain HTTP / unverified TLS for the registry'))
    .addOption(new Option('--registry-config <file>', 'trivy: docker config.json with registry credentials'))
    .addOption(new Option('--format <format>', 'table (lines on stderr) or json (result on stdout)').default('table'))
    .addOption(new Option('--every <duration>', 'keep running: update again every DURATION (e.g. 6h; at least 1m), a failed round is reported and retried at the next one; SIGTERM/SIGINT stop it (a sidecar next to `portcullis server`)').env('PORTCULLIS_DB_UPDATE_EVERY'))
    .action(async (_o: unknown, c: Command) => {
      const ctx = getCtx();
      const o = c.opts<Record<string, unknown>>();
      format(o['format']);
      await applyDbConfig(o, ctx);
      const every = everyMs(o['every']);
      const { signal, dispose } = interruptible();
      const once = (): Promise<void> => (o['source'] === 'trivy' ? updateTrivy(ctx, o, signal) : updateOsv(ctx, o, signal));
      try {
        if (every === undefined) await once();
        else await updateEvery(ctx, once, every, signal);
      } finally {
        dispose();
      }
    });

  db.command('import')
    .summary('import advisories from files (offline): OSV zip/JSON, NVD feeds, a `db export` bundle, trivy:PATH')
    .description(
      'PATH is an OSV all.zip, a directory of OSV JSON (or a mirror directory of <Ecosystem>/all.zip), one OSV JSON file, ' +
        'an NVD CVE JSON 2.0 feed (plain, .gz, .zst), a bundle written by `db export`, or trivy:PATH (trivy.db, a directory ' +
        'holding it, or db.tar.gz). Malformed OSV records are skipped, counted and named in `db status`.',
    )
    .argument('<path...>', 'files or directories to import')
    .addOption(new Option('--sha256 <hex>', 'refuse the file unless its sha256 is this (as `db export` printed it)'))
    .addOption(new Option('--format <format>', 'table (lines on stderr) or json (result on stdout)').default('table'))
    .action(async (paths: string[], _o: unknown, c: Command) => {
      const ctx = getCtx();
      const o = c.opts<Record<string, unknown>>();
      format(o['format']);
      const { signal, dispose } = interruptible();
      try {
        await runImport(ctx, paths, o, signal);
      } finally {
        dispose();
      }
    });

  db.command('export')
    .summary('write the OSV DB to one file for an air-gapped host (`db import FILE` there)')
    .description('Writes the DB vacuumed into FILE (atomically: never a half-written FILE). FILE ending in .zst or .gz is compressed.\nPrints the sha256 to check on the other side with `db import FILE --sha256 HEX`.')
    .argument('<file>', 'bundle to write, e.g. portcullis-db.sqlite.zst')
    .addOption(new Option('--format <format>', 'table or json').default('table'))
    .action(async (file: string, _o: unknown, c: Command) => {
      const ctx = getCtx();
      const f = format(c.opts<Record<string, unknown>>()['format']);
      const { exportDb } = await import('../../vulndb/import.ts');
      const r = await exportDb(ctx.cacheDir, file, { logger: ctx.logger });
      if (f === 'json') ctx.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else ctx.stdout.write(`${r.sha256}  ${r.path}\n`);
      info(ctx, `exported ${mb(r.bytes)} (${r.compression === 'none' ? 'uncompressed' : r.compression}); on the air-gapped host: portcullis db import ${file} --sha256 ${r.sha256}`);
    });

  db.command('status')
    .summary('what the advisory DBs hold: sources, counts, age, malformed records, last changes')
    .addOption(new Option('--format <format>', 'table or json').default('table'))
    .action(async (_o: unknown, c: Command) => {
      const ctx = getCtx();
      const f = format(c.opts<Record<string, unknown>>()['format']);
      const { dbStatus, requireSomeDb } = await import('../../vulndb/status.ts');
      const s = requireSomeDb(dbStatus(ctx.cacheDir));
      if (f === 'json') ctx.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      else ctx.stdout.write(`${statusText(s).join('\n')}\n`);
      if (!s.osv && s.osvError) throw new ScannerError('VULNDB_CORRUPT', s.osvError);
    });

  db.command('changes')
    .summary('advisory ids added, modified, withdrawn or removed by an update (default: the last)')
    .addOption(new Option('--update <id>', 'update number (see `db status`)'))
    .addOption(new Option('--format <format>', 'table or json').default('table'))
    .action(async (_o: unknown, c: Command) => {
      const ctx = getCtx();
      const o = c.opts<Record<string, unknown>>();
      const f = format(o['format']);
      const id = intFlag('--update', o['update'], 1, Number.MAX_SAFE_INTEGER);
      const { openOsvStore } = await import('../../vulndb/index.ts');
      const store = openOsvStore(ctx.cacheDir, { cacheRecords: 0 });
      if (!store) throw new UserError(`no advisory database in ${ctx.cacheDir}: run \`portcullis db update\``, { code: 'DB_MISSING' });
      try {
        const updates = store.updates(50);
        const u = id === undefined ? updates[0] : updates.find((x) => x.id === id);
        if (!u) throw new UserError(id === undefined ? 'no update recorded yet' : `no update #${id} (kept: ${updates.map((x) => `#${x.id}`).join(', ') || 'none'})`);
        const rows = store.changes(u.id);
        if (f === 'json') ctx.stdout.write(`${JSON.stringify({ update: u, changes: rows }, null, 2)}\n`);
        else {
          info(ctx, `update #${u.id} ${u.finishedAt}: \`${u.command}\``);
          for (const r of rows) ctx.stdout.write(`${r.change.padEnd(9)}  ${r.advisoryId}  ${r.source}\n`);
        }
      } finally {
        store.close();
      }
    });

  db.command('show')
    .summary('print the OSV records for an advisory id or alias (CVE-…, GHSA-…)')
    .argument('<id>', 'advisory id or alias')
    .action(async (id: string) => {
      const ctx = getCtx();
      const { openOsvStore } = await import('../../vulndb/index.ts');
      const store = openOsvStore(ctx.cacheDir, { cacheRecords: 0 });
      if (!store) throw new UserError(`no advisory database in ${ctx.cacheDir}: run \`portcullis db update\``, { code: 'DB_MISSING' });
      try {
        const recs = store.byAlias(id);
        if (recs.length === 0) throw new UserError(`no advisory ${id} in the OSV DB`, { code: 'NOT_FOUND' });
        ctx.stdout.write(`${JSON.stringify(recs.length === 1 ? recs[0] : recs, null, 2)}\n`);
      } finally {
        store.close();
      }
    });
};
