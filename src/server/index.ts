/**
 * The admission server, composed: metrics registry, scanner backend, results store, scan service
 * (cache, single flight, worker pool, deadlines), TLS files with reload, the fastify app, prescan,
 * and a graceful stop that lets in-flight requests finish. `portcullis server` calls startServer;
 * tests call it too (port 0, plain HTTP or TLS, a fixed DB).
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createBackend, type ScanBackend } from '../backends/index.ts';
import type { ServerConfig } from '../config/server-schema.ts';
import type { Decision, Policy } from '../domain/policy.ts';
import { createMetrics, type Metrics } from '../metrics/index.ts';
import type { AdvisoryDb } from '../scan/index.ts';
import { UserError, describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { SqliteResultStore, resultsDbPath, type ResultStore } from '../store/results-store.ts';
import { buildApp, type App } from './app.ts';
import { ScanService, parsePrescanList } from './scan-service.ts';
import { TlsFiles } from './tls.ts';

export { buildApp, type App, type AppDeps } from './app.ts';
export { ScanService, parsePrescanList, clientReason } from './scan-service.ts';
export { answerBudget, parseTimeoutParam } from './timing.ts';

export interface StartOptions {
  config: ServerConfig;
  policy: Policy;
  cacheDir: string;
  logger: Logger;
  /** Tests: a fixed advisory DB for the builtin backend. */
  db?: AdvisoryDb;
  /** Tests: how often the builtin backend checks the DB files. */
  dbWatchIntervalMs?: number;
  /** Tests: a backend built elsewhere. */
  backend?: ScanBackend;
  /** Tests: Node process metrics off (they are global to the process). */
  processMetrics?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  metrics: Metrics;
  scans: ScanService;
  backend: ScanBackend;
  app: App;
  /** Resolves when the prescan list (if any) has been scanned. */
  prescanned: Promise<void>;
  /** Graceful stop: refuse new connections, finish in-flight requests (≤ timeouts.shutdown), release everything. */
  close(): Promise<void>;
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const { config: cfg, logger } = opts;
  const log = logger.child({ component: 'server' });
  const metrics = createMetrics({ processMetrics: opts.processMetrics !== false });

  let prescanList: string[] = [];
  if (cfg.prescan) {
    try {
      prescanList = parsePrescanList(readFileSync(cfg.prescan, 'utf8'));
    } catch (err) {
      throw new UserError(`cannot read prescan list ${cfg.prescan}: ${describeError(err)}`, { code: 'PRESCAN_FILE', cause: err });
    }
  }
  let tls: TlsFiles | undefined;
  let tlsOptions: object | undefined;
  if (cfg.tls.cert && cfg.tls.key) {
    tls = new TlsFiles({ cert: cfg.tls.cert, key: cfg.tls.key, minVersion: cfg.tls.minVersion, ...(cfg.tls.clientCa ? { clientCa: cfg.tls.clientCa } : {}) }, logger);
    tlsOptions = tls.serverOptions();
  } else if (cfg.tls.clientCa) {
    throw new UserError('a client CA (--client-ca / server.tls.clientCa) needs a serving certificate (--tls-cert and --tls-key)', { code: 'CONFIG_INVALID' });
  }

  const backend =
    opts.backend ??
    createBackend(cfg, {
      cacheDir: opts.cacheDir,
      logger,
      ...(opts.db ? { db: opts.db } : {}),
      ...(opts.dbWatchIntervalMs !== undefined ? { dbWatchIntervalMs: opts.dbWatchIntervalMs } : {}),
    });
  await backend.start();
  const st = backend.state();
  if (st.ready) log.info({ backend: backend.name, scanner: st.scannerVersion, db: st.db }, 'scanner ready');
  else log.warn({ backend: backend.name, reason: st.reason }, 'scanner not ready: /readyz answers 503 and scans fail until it is');

  const store: ResultStore | undefined = cfg.cache.persist ? SqliteResultStore.open(resultsDbPath(opts.cacheDir), logger) : undefined;
  const scans = new ScanService({
    backend,
    metrics,
    logger,
    registry: {
      allowPrivateRegistries: cfg.allowPrivateRegistries,
      insecureRegistries: cfg.insecureRegistries,
      ...(cfg.registryConfig !== undefined ? { registryConfig: cfg.registryConfig } : {}),
    },
    cache: cfg.cache,
    workers: cfg.workers,
    queueSize: cfg.queueSize,
    scanTimeout: cfg.timeouts.scan,
    ...(store ? { store } : {}),
  });

  const app = buildApp({
    config: cfg,
    policy: opts.policy,
    lookup: scans.lookup,
    metrics,
    logger,
    backendState: () => backend.state(),
    onDecision: (d: Decision) => scans.noteVerdicts(d.images),
    identity: () => backend.cacheIdentity(),
    decisionTtlMs: cfg.cache.decisionTtl,
    ...(tlsOptions ? { tls: tlsOptions } : {}),
  });
  try {
    await app.fastify.listen({ host: cfg.host, port: cfg.port });
  } catch (err) {
    await backend.close();
    store?.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      throw new UserError(`cannot listen on ${cfg.host}:${cfg.port}: ${e.code}`, { code: 'LISTEN_FAILED', cause: err });
    }
    throw err;
  }
  const addr = app.server.address() as AddressInfo;
  const scheme = tls ? 'https' : 'http';
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${scheme}://${host}:${addr.port}`;
  if (tls) tls.watch(app.server as import('node:https').Server, cfg.tls.reloadInterval, (ok) => metrics.tlsReloads.inc({ result: ok ? 'ok' : 'error' }));
  log.info({ url, backend: backend.name, mutate: cfg.mutate, mtls: Boolean(cfg.tls.clientCa), workers: cfg.workers }, 'listening');

  const prescanned = prescanList.length
    ? scans.prescan(prescanList).then(
        (r) => log.info({ ...r, images: prescanList.length }, 'prescan finished'),
        (err: unknown) => log.warn({ err: describeError(err) }, 'prescan failed'),
      )
    : Promise.resolve();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      app.setDraining();
      tls?.stop();
      log.info({}, 'shutting down: finishing in-flight requests');
      const force = setTimeout(() => {
        log.warn({}, 'shutdown grace period over: closing remaining connections');
        app.server.closeAllConnections();
      }, cfg.timeouts.shutdown);
      force.unref();
      try {
        await app.fastify.close();
      } finally {
        clearTimeout(force);
        scans.close();
        await backend.close();
        store?.close();
        log.info({}, 'stopped');
      }
    })();
    return closing;
  };

  return { url, port: addr.port, metrics, scans, backend, app, prescanned, close };
}
