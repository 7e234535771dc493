/**
 * `portcullis server`: the admission webhook (ImagePolicyWebhook at /image-policy and /scan,
 * validating at /validate, mutating at /mutate), with the `server:` and `policy:` sections of
 * portcullis.yaml; flags override the file. Runs until SIGTERM/SIGINT, then finishes in-flight
 * requests and exits 0.
 */
import { Option, type Command } from 'commander';
import { UserError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { CliContext } from '../context.ts';
import type { RegisterCommand } from './index.ts';

interface ServerFlags {
  config?: string;
  host?: string;
  port?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  backend?: string;
  allowPrivateRegistries?: boolean;
  insecureRegistry?: string[];
  prescan?: string;
  registryConfig?: string;
  mutate?: boolean;
  trivyBinary?: string;
  trivyServer?: string;
  workers?: string;
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export const register: RegisterCommand = (program, getCtx) => {
  program
    .command('server')
    .summary('run the admission webhook (ImagePolicyWebhook, validating and mutating admission)')
    .description(
      'Serve Kubernetes admission decisions: POST /image-policy and /scan (ImageReview), POST /validate\n' +
        '(AdmissionReview), POST /mutate (JSONPatch pinning digests, when enabled), GET /healthz, /readyz,\n' +
        '/metrics. Plain HTTP without --tls-cert/--tls-key (local use only). Settings come from the\n' +
        '`server:` and `policy:` sections of portcullis.yaml; flags override them. See docs/server.md.',
    )
    .addOption(new Option('-c, --config <file>', 'portcullis.yaml (default ./portcullis.yaml if present)').env('PORTCULLIS_CONFIG'))
    .addOption(new Option('--host <host>', 'address to listen on (default 0.0.0.0)'))
    .addOption(new Option('-p, --port <n>', 'port to listen on (default 8443)'))
    .addOption(new Option('--tls-cert <file>', 'PEM serving certificate (chain); reloaded when it changes'))
    .addOption(new Option('--tls-key <file>', 'PEM private key of the serving certificate'))
    .addOption(new Option('--client-ca <file>', 'require client certificates signed by this PEM CA bundle'))
    .addOption(new Option('--backend <name>', 'scanner: builtin (default) or trivy').choices(['builtin', 'trivy']))
    .addOption(new Option('--trivy-binary <path>', 'trivy backend: the Trivy executable (default trivy)'))
    .addOption(new Option('--trivy-server <url>', 'trivy backend: use a Trivy server in client mode'))
    .addOption(new Option('--allow-private-registries', 'allow registries on loopback, private and link-local addresses'))
    .addOption(new Option('--insecure-registry <host:port>', 'allow plain HTTP for this registry (repeatable)').argParser(collect))
    .addOption(new Option('--registry-config <file>', 'docker config.json or .dockerconfigjson with registry credentials'))
    .addOption(new Option('--prescan <file>', 'scan these images at start-up (one per line, # comments)'))
    .addOption(new Option('--mutate', 'serve POST /mutate'))
    .addOption(new Option('--workers <n>', 'scans running at the same time (default 2)'))
    .action(async (flags: ServerFlags, c: Command) => {
      await runServer(flags, getCtx(), c);
    });
};

function intFlag(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`${name} must be an integer from ${min} to ${max}`, { code: 'FLAG_INVALID' });
  return n;
}

/** The server logs at info (one line per decision) unless PORTCULLIS_LOG_LEVEL or --debug/--quiet say otherwise. */
async function serverLogger(ctx: CliContext): Promise<Logger> {
  const { createServerLogger } = await import('../../server/log.ts');
  const level = ctx.debug ? 'debug' : ctx.quiet ? 'warn' : (ctx.env['PORTCULLIS_LOG_LEVEL'] ?? 'info');
  return createServerLogger({ level });
}

async function runServer(flags: ServerFlags, ctx: CliContext, _c: Command): Promise<void> {
  const [{ readConfigFile, configSection }, { serverSchema }, { policySchema }, { startServer }] = await Promise.all([
    import('../../config/load.ts'),
    import('../../config/server-schema.ts'),
    import('../../config/policy-schema.ts'),
    import('../../server/index.ts'),
  ]);
  const file = readConfigFile(flags.config, process.cwd());
  const fromFile = configSection(file, 'server', serverSchema);
  const policy = configSection(file, 'policy', policySchema);
  // Flags override the file: re-validate the merged raw section so every rule still applies.
  const raw = structuredClone((file.data['server'] ?? {}) as Record<string, unknown>);
  const tls = { ...((raw['tls'] as Record<string, unknown> | undefined) ?? {}) };
  const trivy = { ...((raw['trivy'] as Record<string, unknown> | undefined) ?? {}) };
  if (flags.host !== undefined) raw['host'] = flags.host;
  const port = intFlag(flags.port, '--port', 0, 65535);
  if (port !== undefined) raw['port'] = port;
  const workers = intFlag(flags.workers, '--workers', 1, 64);
  if (workers !== undefined) raw['workers'] = workers;
  if (flags.tlsCert !== undefined) tls['cert'] = flags.tlsCert;
  if (flags.tlsKey !== undefined) tls['key'] = flags.tlsKey;
  if (flags.clientCa !== undefined) tls['clientCa'] = flags.clientCa;
  if (flags.backend !== undefined) raw['backend'] = flags.backend;
  if (flags.trivyBinary !== undefined) trivy['binary'] = flags.trivyBinary;
  if (flags.trivyServer !== undefined) trivy['serverUrl'] = flags.trivyServer;
  if (flags.allowPrivateRegistries) raw['allowPrivateRegistries'] = true;
  if (flags.insecureRegistry?.length) raw['insecureRegistries'] = [...((fromFile.insecureRegistries as readonly string[]) ?? []), ...flags.insecureRegistry];
  if (flags.registryConfig !== undefined) raw['registryConfig'] = flags.registryConfig;
  if (flags.prescan !== undefined) raw['prescan'] = flags.prescan;
  if (flags.mutate) raw['mutate'] = true;
  raw['tls'] = tls;
  raw['trivy'] = trivy;
  const config = configSection({ ...file, data: { ...file.data, server: raw } }, 'server', serverSchema);

  const logger = await serverLogger(ctx);
  const running = await startServer({ config, policy, cacheDir: ctx.cacheDir, logger });
  ctx.stderr.write(`portcullis server listening on ${running.url} (backend ${running.backend.name})\n`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal: sig }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal: sig }, 'signal received');
      running.close().then(resolve, (err: unknown) => {
        logger.error({ err: String(err) }, 'shutdown failed');
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
