/**
 * The HTTP(S) face of the admission server (fastify 5). Routes:
 *
 *   POST /image-policy, POST /scan   ImagePolicyWebhook (imagepolicy.k8s.io/v1alpha1 ImageReview)
 *   POST /validate                   ValidatingAdmissionWebhook (admission.k8s.io/v1 AdmissionReview)
 *   POST /mutate                     MutatingAdmissionWebhook: JSONPatch pinning tags to digests (when enabled)
 *   GET  /healthz  /readyz  /metrics
 *
 * Admission logic lives in src/admission (pure) and the review core (reviews.ts); this file does HTTP:
 * the server and its timeouts, body limits and content types, `{code, message}` 4xx answers for
 * unreadable requests, generic 500s that never carry exception text, ops routes. Small JSON admission
 * requests are answered by the lean pre-router (hot-path.ts) with the same core; everything else by
 * fastify.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ImageLookup } from '../admission/index.ts';
import type { BackendState } from '../backends/index.ts';
import type { ServerConfig } from '../config/server-schema.ts';
import type { Decision, Policy } from '../domain/policy.ts';
import type { Metrics } from '../metrics/index.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { createHotPath } from './hot-path.ts';
import { createReviewCore, routeOf, type Answer, type RouteName } from './reviews.ts';

export type { RouteName } from './reviews.ts';

export interface AppDeps {
  config: Pick<ServerConfig, 'bodyLimit' | 'mutate' | 'timeouts'>;
  policy: Policy;
  lookup: ImageLookup;
  metrics: Metrics;
  logger: Logger;
  /** Backend readiness for /readyz and the DB age gauge. */
  backendState: () => BackendState;
  /** Called after each decision with its verdicts (cache TTL by allow/deny). */
  onDecision?: (d: Decision) => void;
  /** TLS options for https.createServer; plain HTTP when absent. */
  tls?: object;
  /** The backend's cache identity (scanner + DB): decision-memo entries die when it changes. */
  identity?: () => string;
  /** How long identical reviews get the memoized answer (ms; 0 = off). Default 1000. */
  decisionTtlMs?: number;
  /** Answer small JSON admission requests without fastify's lifecycle (default true). */
  hotPath?: boolean;
  now?: () => Date;
}

export interface App {
  fastify: FastifyInstance;
  server: HttpServer | HttpsServer;
  /** /readyz answers 503 from now on, and answers close their connections (graceful shutdown). */
  setDraining(): void;
}

function protocolReply(reply: FastifyReply, status: number, body: { code: string; message: string }): FastifyReply {
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(body);
}

/** fastify's own 4xx errors → our `{code, message}` (fastify's messages are not part of our contract). */
function fastifyError(err: { code?: unknown; statusCode?: unknown }, bodyLimit: number): { status: number; code: string; message: string } | undefined {
  const code = typeof err.code === 'string' ? err.code : '';
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'BODY_TOO_LARGE', message: `request body is larger than ${bodyLimit} bytes` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'EMPTY_BODY', message: 'request body is empty' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'MALFORMED_JSON', message: 'request body is not valid JSON' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'BAD_CONTENT_LENGTH', message: 'Content-Length does not match the body' };
    default:
      break;
  }
  const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
  if (status >= 400 && status < 500) return { status, code: 'BAD_REQUEST', message: 'bad request' };
  return undefined;
}

export function buildApp(deps: AppDeps): App {
  const { config, metrics: m } = deps;
  const log = deps.logger.child({ component: 'http' });
  const now = deps.now ?? ((): Date => new Date());
  const t = config.timeouts;
  let draining = false;
  let server: HttpServer | HttpsServer | undefined;
  const received = new WeakMap<IncomingMessage, number>();
  const core = createReviewCore({
    config,
    policy: deps.policy,
    lookup: deps.lookup,
    metrics: m,
    logger: deps.logger,
    ...(deps.onDecision ? { onDecision: deps.onDecision } : {}),
    ...(deps.identity ? { identity: deps.identity } : {}),
    ...(deps.decisionTtlMs !== undefined ? { decisionTtlMs: deps.decisionTtlMs } : {}),
    now,
  });
  const hot = deps.hotPath === false ? undefined : createHotPath({ core, mutate: config.mutate, draining: () => draining });

  const fastify = Fastify({
    logger: false,
    bodyLimit: config.bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    routerOptions: { ignoreTrailingSlash: true },
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
      const opts = {
        requestTimeout: t.request,
        headersTimeout: Math.min(t.headers, t.request),
        keepAliveTimeout: t.keepAlive,
        // Node checks request/headers timeouts on this interval (default 30 s): check often enough.
        connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(t.request / 4))),
        maxHeaderSize: 16 * 1024,
      };
      const listener = hot
        ? (req: IncomingMessage, res: ServerResponse): void => {
            if (!hot(req, res)) handler(req, res);
          }
        : handler;
      server = deps.tls ? createHttpsServer({ ...opts, ...deps.tls }, listener) : createHttpServer(opts, listener);
      server.keepAliveTimeout = t.keepAlive;
      server.requestTimeout = t.request;
      server.headersTimeout = Math.min(t.headers, t.request);
      // A socket idle this long (no bytes either way) is closed: slow-loris protection.
      server.setTimeout(t.request + t.keepAlive);
      server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
        m.protocolErrors.inc({ route: 'other', code: m.label('code', err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT' : 'CLIENT_ERROR') });
        if (socket.writable && !socket.destroyed) {
          const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
          socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        } else socket.destroy();
      });
      return server;
    },
  });

  // JSON only (an AdmissionReview or ImageReview is never text/plain); the review core parses it.
  fastify.removeContentTypeParser('text/plain');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
    done(null, typeof body === 'string' ? body : body.toString('utf8'));
  });

  fastify.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const route = routeOf(req.url.split('?', 1)[0] ?? '') ?? 'other';
    const mapped = fastifyError(err as { code?: unknown; statusCode?: unknown }, config.bodyLimit);
    if (mapped) {
      // No `Connection: close` on a 413 (fastify sets it on every parser error): closing with the
      // client's body still unread makes the kernel reset the connection, and the client can lose the
      // answer. Node discards the rest of the body (never buffered) until it ends or
      // `timeouts.request` cuts the connection off.
      if (mapped.status === 413) reply.removeHeader('connection');
      const a = core.refuse(route, mapped.status, mapped.code, mapped.message);
      return reply.code(a.status).header('content-type', 'application/json; charset=utf-8').send(a.json);
    }
    m.errors.inc({ kind: 'internal' });
    log.error({ route, err: describeError(err), stack: err instanceof Error ? err.stack : undefined }, 'internal error');
    return protocolReply(reply, 500, { code: 'INTERNAL', message: 'internal error' });
  });

  fastify.setNotFoundHandler((req, reply) => protocolReply(reply, 404, { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?', 1)[0]?.slice(0, 100) ?? ''}` }));

  /** The answer; while draining the connection is closed after it (keep-alive must not hold the shutdown). */
  const answer = (reply: FastifyReply, a: Answer): FastifyReply => {
    reply.code(a.status).header('content-type', 'application/json; charset=utf-8');
    if (draining) reply.header('connection', 'close');
    return reply.send(a.json);
  };

  const route = (name: RouteName) => async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const q = req.query as Record<string, unknown> | undefined;
    const timeout = typeof q?.['timeout'] === 'string' ? q['timeout'] : undefined;
    const raw = typeof req.body === 'string' ? req.body : '';
    return answer(reply, await core.review(name, raw, timeout, received.get(req.raw) ?? Date.now()));
  };

  // The deadline counts from the moment the request arrived (body upload included).
  fastify.addHook('onRequest', (req, _reply, done) => {
    received.set(req.raw, Date.now());
    done();
  });

  fastify.post('/image-policy', route('image-policy'));
  fastify.post('/scan', route('image-policy'));
  fastify.post('/validate', route('validate'));
  if (config.mutate) fastify.post('/mutate', route('mutate'));

  fastify.get('/healthz', async (_req, reply) => reply.code(200).send({ status: 'ok' }));
  fastify.get('/readyz', async (_req, reply) => {
    const s = deps.backendState();
    if (draining) return reply.code(503).send({ status: 'draining' });
    if (!s.ready) return reply.code(503).send({ status: 'not ready', reason: s.reason ?? 'backend not ready' });
    return reply.code(200).send({ status: 'ready', scanner: s.scannerVersion, db: s.db ?? null });
  });
  fastify.get('/metrics', async (_req, reply) => {
    const s = deps.backendState();
    m.dbLoaded.set(s.ready ? 1 : 0);
    const when = s.db?.builtAt ?? s.db?.updatedAt;
    const ts = when ? Date.parse(when) : NaN;
    m.dbAgeSeconds.set(Number.isFinite(ts) ? Math.max(0, (now().getTime() - ts) / 1000) : -1);
    return reply.code(200).header('content-type', m.registry.contentType).send(await m.text());
  });

  return {
    fastify,
    get server(): HttpServer | HttpsServer {
      if (!server) throw new Error('server not created yet (call fastify.ready() first)');
      return server;
    },
    setDraining: () => {
      draining = true;
      server?.closeIdleConnections();
    },
  };
}
