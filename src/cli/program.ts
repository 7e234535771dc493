import { Command, CommanderError } from 'commander';
import pino from 'pino';
import { PolicyViolation, ScannerError, describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { commands } from './commands/index.ts';
import { ExitCode, defaultCacheDir, type CliContext } from './context.ts';

export { ExitCode } from './context.ts';
import { VERSION } from '../shared/version.ts';


function makeLogger(debug: boolean, quiet: boolean): Logger {
  const level = debug ? 'debug' : quiet ? 'error' : (process.env['PORTCULLIS_LOG_LEVEL'] ?? 'warn');
  return pino(
    {
      level,
      base: null,
      redact: { paths: ['password', 'auth', 'authorization', 'headers.authorization', '*.password', '*.auth'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: true }),
  ) as unknown as Logger;
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

  for (const load of commands) (await load()).register(program, getCtx);

  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    return reportError(err, argv.includes('--debug') || argv.includes('-d'));
  }
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
