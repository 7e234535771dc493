/**
 * Options shared by the commands that read a target (scan, sbom, demo), declared once with their
 * environment variables; `settingsFor` merges flags > env > portcullis.yaml > defaults.
 */
import { Option, type Command } from 'commander';
import type { ScanSettings } from '../config/schema.ts';
import type { Inventory } from '../domain/index.ts';
import type { RenderOptions } from '../report/types.ts';
import type { InventoryOptions } from '../scan/index.ts';
import { ScannerError, UserError } from '../shared/errors.ts';
import type { Progress } from './progress.ts';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '../shared/duration.ts';
import type { CliContext } from './context.ts';

export function addTargetOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--config <file>', 'portcullis.yaml to read (default: ./portcullis.yaml if present)').env('PORTCULLIS_CONFIG'))
    .addOption(new Option('--platform <os/arch[/variant]>', 'platform to pick from a multi-platform image (default linux/amd64)').env('PORTCULLIS_PLATFORM'))
    .addOption(new Option('--insecure', 'allow plain HTTP and unverified TLS registries').env('PORTCULLIS_INSECURE'))
    .addOption(new Option('--registry-config <file>', 'docker config.json with registry credentials (default $DOCKER_CONFIG/config.json, ~/.docker/config.json)').env('PORTCULLIS_REGISTRY_CONFIG'))
    .addOption(new Option('--no-cache', 'do not use or fill the layer and inventory caches'))
    .addOption(new Option('--verify-diff-ids', "also hash every layer's uncompressed tar against the config's diff IDs (~0.5 s per GB; blob digests are always verified)").env('PORTCULLIS_VERIFY_DIFF_IDS'))
    .addOption(new Option('--skip-dirs <dirs>', 'comma-separated directories (globs allowed) whose packages are left out').env('PORTCULLIS_SKIP_DIRS'))
    .addOption(new Option('--skip-files <files>', 'comma-separated files (globs allowed) whose packages are left out').env('PORTCULLIS_SKIP_FILES'))
    .addOption(new Option('--include-dev-deps', 'keep development dependencies of lock files (left out by default, as Trivy does)').env('PORTCULLIS_INCLUDE_DEV_DEPS'))
    .addOption(new Option('--timeout <duration>', 'give up after this long, e.g. 5m, 90s (default 10m)').env('PORTCULLIS_TIMEOUT'))
    .addOption(new Option('--cyclonedx-version <v>', 'cyclonedx: the spec version to write (default 1.5)').choices(['1.4', '1.5', '1.6']).env('PORTCULLIS_CYCLONEDX_VERSION'))
    .addOption(new Option('--sbom-compat <tool>', 'cyclonedx: also write the properties TOOL reads (trivy: so `trivy sbom` matches by source package)').choices(['trivy']).env('PORTCULLIS_SBOM_COMPAT'))
    .addOption(new Option('-o, --output <file>', 'write the report to FILE (atomically) instead of stdout').env('PORTCULLIS_OUTPUT'));
}

/** What the report writers get from the settings and the terminal. */
export function renderOptions(s: ScanSettings, ctx: CliContext, toolVersion: string): RenderOptions {
  const toStdout = !s.output || s.output === '-';
  const tty = toStdout && Boolean((ctx.stdout as NodeJS.WriteStream).isTTY);
  const o: RenderOptions = { color: tty && !ctx.env['NO_COLOR'], toolVersion };
  if (tty && (ctx.stdout as NodeJS.WriteStream).columns) o.width = (ctx.stdout as NodeJS.WriteStream).columns;
  if (s.listAllPkgs) o.listAllPackages = true;
  if (s.sbomCompat === 'trivy') o.compat = 'trivy';
  if (s.cyclonedxVersion) o.cyclonedxVersion = s.cyclonedxVersion;
  return o;
}

export interface TargetSettings extends ScanSettings {
  cacheDir: string;
  timeoutMs: number;
}

type Src = 'cli' | 'env' | 'default' | 'config' | 'implied' | undefined;

/**
 * Flags and env vars (commander knows which) win over the config file; the config file wins over
 * defaults. `flagValues` maps a ScanSettings key to the commander option name.
 */
/**
 * The names config/load.ts looks for in the working directory (its CONFIG_NAMES; a test keeps the two
 * equal): with no --config and none of them present, the config loader (and the yaml library it
 * imports, ~4.5 ms) is not loaded at all.
 */
export const DEFAULT_CONFIG_NAMES: readonly string[] = ['portcullis.yaml', 'portcullis.yml', '.portcullis.yaml'];

export async function settingsFor(cmd: Command, ctx: CliContext): Promise<TargetSettings> {
  const o = cmd.opts<Record<string, unknown>>();
  const explicitConfig = o['config'] as string | undefined;
  const cwd = process.cwd();
  let fromFile: ScanSettings = {};
  // zod and yaml load only when there is a config file to read (not for --help, nor without one).
  if (explicitConfig || DEFAULT_CONFIG_NAMES.some((n) => existsSync(join(cwd, n)))) {
    const { readConfigFile, configSection } = await import('../config/load.ts');
    const file = readConfigFile(explicitConfig, cwd);
    if (file.path) {
      const { configFileSchema, scanSettings } = await import('../config/schema.ts');
      fromFile = scanSettings(configSection(file, undefined, configFileSchema));
    }
  }
  const explicit = (name: string): boolean => {
    const s = cmd.getOptionValueSource(name) as Src;
    return s === 'cli' || s === 'env';
  };
  const s: ScanSettings = { ...fromFile };
  const split = (v: unknown): string[] => String(v).split(',').map((x) => x.trim()).filter(Boolean);
  const map: [keyof ScanSettings, string, (v: unknown) => unknown][] = [
    ['severity', 'severity', (v) => split(v).map((x) => x.toUpperCase())],
    ['ignoreUnfixed', 'ignoreUnfixed', Boolean],
    ['exitCode', 'exitCode', (v) => Number(v)],
    ['format', 'format', String],
    ['output', 'output', String],
    ['ignorefile', 'ignorefile', String],
    ['dbSource', 'dbSource', String],
    ['platform', 'platform', String],
    ['insecure', 'insecure', Boolean],
    ['registryConfig', 'registryConfig', String],
    ['skipDirs', 'skipDirs', split],
    ['skipFiles', 'skipFiles', split],
    ['listAllPkgs', 'listAllPkgs', Boolean],
    ['includeDevDeps', 'includeDevDeps', Boolean],
    ['sbomCompat', 'sbomCompat', String],
    ['verifyDiffIds', 'verifyDiffIds', Boolean],
    ['cyclonedxVersion', 'cyclonedxVersion', String],
    ['timeout', 'timeout', String],
  ];
  for (const [key, opt, conv] of map) {
    if (o[opt] !== undefined && (explicit(opt) || s[key] === undefined)) (s as Record<string, unknown>)[key] = conv(o[opt]);
  }
  // --no-cache is a negatable flag: commander sets cache=false.
  if (o['cache'] === false) s.noCache = true;
  const cacheDir = ctx.cacheDirFromDefault && fromFile.cacheDir ? fromFile.cacheDir : ctx.cacheDir;
  const timeoutMs = s.timeout !== undefined ? parseDuration(s.timeout) : 10 * 60_000;
  if (timeoutMs === undefined || timeoutMs <= 0) throw new UserError(`invalid --timeout "${s.timeout ?? ''}" (use e.g. 90s, 5m, 1h)`, { code: 'FLAG_INVALID' });
  return { ...s, cacheDir, timeoutMs };
}

/**
 * TARGET → its inventory with the user's path filters applied, as `scan` and `sbom` both need it:
 * registry credentials from --registry-config or the docker config Docker and Podman use, the
 * layer cache, the --timeout, progress on the bar. A timeout is one clear line naming the target.
 */
export async function readInventory(target: string, s: TargetSettings, ctx: CliContext, bar: Progress): Promise<Inventory> {
  const [scan, { filterInventory }, { defaultDockerConfigPath }] = await Promise.all([
    import('../scan/index.ts'),
    import('../scan/filter.ts'),
    import('../image/registry/credentials.ts'),
  ]);
  const signal = AbortSignal.timeout(s.timeoutMs);
  const opts: InventoryOptions = {
    cacheDir: s.cacheDir,
    logger: ctx.logger,
    // The CLI runs where its user is: a registry on localhost or the LAN is theirs to scan.
    allowPrivateRegistries: true,
    signal,
    onProgress: (e) => bar.update({ ...e, phase: e.phase === 'layers' ? 'reading layers' : e.phase }),
  };
  if (s.platform) opts.platform = s.platform;
  if (s.insecure) opts.insecure = s.insecure;
  const registryConfig = s.registryConfig ?? defaultDockerConfigPath(ctx.env, homedir());
  if (registryConfig) opts.registryConfig = registryConfig;
  if (s.noCache) opts.noCache = true;
  if (s.verifyDiffIds) opts.verifyDiffIds = true;
  try {
    return filterInventory(await scan.buildInventory(target, opts), s);
  } catch (err) {
    if (signal.aborted) throw new ScannerError('TIMEOUT', `${target}: gave up after ${s.timeout ?? '10m'} (--timeout)`, { cause: err });
    throw err;
  } finally {
    bar.done();
  }
}
