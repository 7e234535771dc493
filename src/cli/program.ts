import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import type { Logger as PinoLogger } from 'pino';
import { PolicyViolation, ScannerError, describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { commands, type CommandModule } from './commands/index.ts';
import { ExitCode, defaultCacheDir, type CliContext } from './context.ts';

export { ExitCode } from './context.ts';
import { VERSION } from '../shared/version.ts';


const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
type Level = keyof typeof LEVELS;

/**
 * The CLI's logger: pino, JSON lines on stderr, credentials redacted. pino loads on the first line
 * actually logged (a clean scan at the default level `warn` logs nothing and never pays ~15 ms for it).
 */
function makeLogger(debug: boolean, quiet: boolean): Logger {
  const level = debug ? 'debug' : quiet ? 'error' : (process.env['PORTCULLIS_LOG_LEVEL'] ?? 'warn');
  const threshold = LEVELS[level as Level] ?? (level === 'trace' ? 10 : level === 'fatal' || level === 'silent' ? 60 : LEVELS.warn);
  let root: PinoLogger | undefined;
  const pinoRoot = (): PinoLogger => {
    if (root) return root;
    const pino = createRequire(import.meta.url)('pino') as typeof import('pino').default;
    root = pino(
      {
        level,
        base: null,
        redact: { paths: ['password', 'auth', 'authorization', 'headers.authorization', '*.password', '*.auth'], censor: '[redacted]' },
      },
      pino.destination({ fd: 2, sync: true }),
    );
    return root;
  };
  const lazy = (bindings: Record<string, unknown>[]): Logger => {
    let real: PinoLogger | undefined;
    const get = (): PinoLogger => (real ??= bindings.reduce<PinoLogger>((l, b) => l.child(b), pinoRoot()));
    const at =
      (lv: Level) =>
      (obj: object | string, msg?: string): void => {
        if (LEVELS[lv] < threshold) return;
        if (typeof obj === 'string') get()[lv](obj);
        else get()[lv](obj, msg);
      };
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => lazy([...bindings, b]) };
  };
  return lazy([]);
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const program = new Command();
  program
    .name('portcullis')
    .description(
      'Keep vulnerable container images out of Kubernetes. Scan images (registries, docker/OCI archives, ' +
        'OCI layouts, root filesystems) for OS and language packages, match them against an OSV or Trivy ' +
        'advisory database, write SBOMs, and decide admission in a Kubernetes webhook.',
    )
    .addHelpText(
      'after',
      '\nTargets:\n' +
        '  IMAGE                  a registry image: alpine:3.19, ghcr.io/org/app@sha256:...\n' +
        '  docker-archive:PATH    a `docker save` tarball\n' +
        '  oci-archive:PATH       an OCI image layout in a tarball\n' +
        '  oci:DIR[:TAG]          an OCI image layout directory\n' +
        '  rootfs:DIR             an unpacked root filesystem\n' +
        '  sbom:FILE              a CycloneDX or SPDX JSON SBOM (scan only)\n' +
        '\nExamples:\n' +
        '  portcullis scan alpine:3.19 --severity HIGH,CRITICAL --exit-code 1\n' +
        '  portcullis scan docker-archive:image.tar --format json --output report.json\n' +
        '  portcullis sbom oci:./layout:latest --format cyclonedx --output sbom.cdx.json\n' +
        '  portcullis db update --ecosystem Debian,Alpine,npm\n' +
        '  portcullis server --port 8443 --tls-cert tls.crt --tls-key tls.key\n',
    )
    .version(VERSION, '-v, --version')
    .option('--cache-dir <dir>', 'cache directory (advisory DB, layer cache); env PORTCULLIS_CACHE_DIR', undefined)
    .option('-d, --debug', 'debug logging and stack traces', false)
    .option('-q, --quiet', 'no progress or informational output', false)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });

  let ctx: CliContext | undefined;
  const getCtx = (): CliContext => {
    if (ctx) return ctx;
    const o = program.opts<{ cacheDir?: string; debug: boolean; quiet: boolean }>();
    ctx = {
      cacheDir: o.cacheDir ?? defaultCacheDir(env),
      cacheDirFromDefault: o.cacheDir === undefined && !env['PORTCULLIS_CACHE_DIR'],
      debug: o.debug,
      quiet: o.quiet,
      logger: makeLogger(o.debug, o.quiet),
      stdout: process.stdout,
      stderr: process.stderr,
      isTty: Boolean(process.stderr.isTTY),
      env,
    };
    return ctx;
  };

  for (const c of commandsFor(argv)) (await c.load()).register(program, getCtx);

  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    return reportError(err, argv.includes('--debug') || argv.includes('-d'));
  }
}

/** Global options that take a value: what follows them is not the command name. */
const GLOBAL_WITH_VALUE = new Set(['--cache-dir']);

/**
 * The command modules a run needs: only the one whose command argv names (its options, help and
 * errors are its own), every module otherwise (no command, top-level help, `help`, an unknown or
 * misspelt command: commander lists or suggests them all), none for `--version`. ~5 ms less
 * start-up for every command.
 */
export function commandsFor(argv: readonly string[]): readonly CommandModule[] {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') break;
    if (GLOBAL_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a === '-v' || a === '--version') return [];
    if (a.startsWith('-')) continue;
    const one = commands.find((c) => c.names.includes(a));
    return one ? [one] : commands;
  }
  return commands;
}

/**
 * Whether argv runs a one-shot command (scan, sbom, demo): once it returned and stdout/stderr are
 * flushed, nothing it started is still needed, and the process can exit without letting V8 finish an
 * incremental GC it began or Node close what is left open (~10-20 ms of a warm SBOM of a large image).
 */
export function exitsWhenDone(argv: readonly string[]): boolean {
  const c = commandsFor(argv);
  return c.length === 1 && c[0]?.exitsWhenDone === true;
}

function reportError(err: unknown, debug: boolean): number {
  if (err instanceof ExitCode) return err.code;
  if (err instanceof CommanderError) {
    // help and version exit 0; usage errors were already printed by commander.
    return err.exitCode === 0 ? 0 : 1;
  }
  if (err instanceof PolicyViolation) return err.exitCode;
  const msg = describeError(err);
  process.stderr.write(`error: ${msg}\n`);
  if (debug && err instanceof Error) {
    // the whole cause chain, innermost last
    for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
      process.stderr.write(`${depth ? 'caused by: ' : ''}${e.stack ?? e.message}\n`);
    }
  } else if (!(err instanceof ScannerError)) process.stderr.write('(run with --debug for details)\n');
  return 1;
}
