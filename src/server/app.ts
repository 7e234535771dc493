/**
 * The HTTP(S) face of the admission server (fastify 5). Routes:
 *
 *   POST /image-policy, POST /scan   ImagePolicyWebhook (imagepolicy.k8s.io/v1alpha1 ImageReview)
 *   POST /validate                   ValidatingAdmissionWebhook (admission.k8s.io/v1 AdmissionReview)
 *   POST /mutate                     MutatingAdmissionWebhook: JSONPatch pinning tags to digests (when enabled)
 *   GET  /healthz  /readyz  /metrics
 *
 * Admission logic lives in src/admission (pure); this file does HTTP: body limits and content types,
 * the `?timeout=` deadline, `{code, message}` 4xx answers for unreadable requests, a fail-policy
 * answer (never exception text) when something inside breaks, one log line and metrics per decision.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  admissionResponse,
  imageReviewResponse,
  parseAdmissionReview,
  parseImageReview,
  ProtocolError,
  reviewAdmission,
  reviewImageReview,
  type AdmissionReview,
  type ImageLookup,
} from '../admission/index.ts';
import type { ServerConfig } from '../config/server-schema.ts';
import type { Decision, Policy } from '../domain/policy.ts';
import type { BackendState } from '../backends/index.ts';
import type { Metrics } from '../metrics/index.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { answerBudget, parseTimeoutParam } from './timing.ts';

export type RouteName = 'image-policy' | 'validate' | 'mutate';

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
  now?: () => Date;
}

export interface App {
  fastify: FastifyInstance;
  server: HttpServer | HttpsServer;
  /** /readyz answers 503 from now on (graceful shutdown). */
  setDraining(): void;
}

interface ErrorBody {
  code: string;
  message: string;
}

function protocolReply(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(body);
}

/** fastify's own 4xx errors → our `{code, message}` (fastify's messages are not part of our contract). */
function fastifyError(err: { code?: unknown; statusCode?: unknown }, bodyLimit: number): { status: number; body: ErrorBody } | undefined {
  const code = typeof err.code === 'string' ? err.code : '';
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { code: 'BODY_TOO_LARGE', message: `request body is larger than ${bodyLimit} bytes` } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json' } };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: { code: 'EMPTY_BODY', message: 'request body is empty' } };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: { code: 'MALFORMED_JSON', message: 'request body is not valid JSON' } };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: { code: 'BAD_CONTENT_LENGTH', message: 'Content-Length does not match the body' } };
    default:
      break;
  }
  const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
  if (status === 400 && err instanceof SyntaxError) return { status: 400, body: { code: 'MALFORMED_JSON', message: 'request body is not valid JSON' } };
  if (status >= 400 && status < 500) return { status, body: { code: 'BAD_REQUEST', message: 'bad request' } };
  return undefined;
}

/** A decision when the review itself failed: the configured fail policy, a curated reason. */
function failDecision(policy: Policy): Decision {
  const allowed = policy.onError === 'allow' || policy.mode !== 'enforce';
  const outcome = policy.onError === 'allow' ? 'allow' : policy.mode === 'enforce' ? 'deny' : policy.mode;
  const reason = allowed ? 'internal error; admitted by policy (onError: allow or non-enforcing mode)' : 'internal error; denied by policy (onError: deny)';
  return {
    allowed,
    mode: policy.mode,
    outcome,
    code: 'scan-error',
    images: [],
    warnings: [],
    auditAnnotations: { decision: outcome, mode: policy.mode, code: 'scan-error', reason },
    reason,
  };
}

function routeOf(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  if (path === '/scan' || path === '/image-policy') return 'image-policy';
  if (path === '/validate') return 'validate';
  if (path === '/mutate') return 'mutate';
  return 'other';
}

export function buildApp(deps: AppDeps): App {
  const { config, policy, metrics: m } = deps;
  const log = deps.logger.child({ component: 'http' });
  const now = deps.now ?? ((): Date => new Date());
  const t = config.timeouts;
  let draining = false;
  const received = new WeakMap<IncomingMessage, number>();
  let server: HttpServer | HttpsServer | undefined;

  const fastify = Fastify({
    logger: false,
    bodyLimit: config.bodyLimit,
    // Our own error bodies; keep fastify from logging or answering on its own.
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
      server = deps.tls ? createHttpsServer({ ...opts, ...deps.tls }, handler) : createHttpServer(opts, handler);
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

  // JSON only: an AdmissionReview or ImageReview is never text/plain.
  fastify.removeContentTypeParser('text/plain');

  fastify.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const route = routeOf(req.url);
    if (err instanceof ProtocolError) {
      m.protocolErrors.inc({ route, code: m.label('code', err.code) });
      log.info({ route, code: err.code, status: err.statusCode }, `refused: ${err.message}`);
      return protocolReply(reply, err.statusCode, { code: err.code, message: err.message });
    }
    const mapped = fastifyError(err as { code?: unknown; statusCode?: unknown }, config.bodyLimit);
    if (mapped) {
      m.protocolErrors.inc({ route, code: m.label('code', mapped.body.code) });
      log.info({ route, code: mapped.body.code, status: mapped.status }, `refused: ${mapped.body.message}`);
      if (mapped.status === 413) reply.header('connection', 'close');
      return protocolReply(reply, mapped.status, mapped.body);
    }
    m.errors.inc({ kind: 'internal' });
    log.error({ route, err: describeError(err), stack: err instanceof Error ? err.stack : undefined }, 'internal error');
    return protocolReply(reply, 500, { code: 'INTERNAL', message: 'internal error' });
  });

  fastify.setNotFoundHandler((req, reply) => protocolReply(reply, 404, { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?', 1)[0]?.slice(0, 100) ?? ''}` }));

  /** The request's deadline: from the API server's ?timeout= or the route default, minus the margin. */
  const deadlineFor = (req: FastifyRequest, route: RouteName, receivedAt: number): number => {
    const q = req.query as Record<string, unknown> | undefined;
    const timeout = parseTimeoutParam(q?.['timeout']) ?? (route === 'image-policy' ? t.imagePolicy : t.validate);
    return receivedAt + answerBudget(timeout, t.margin);
  };

  const record = (route: RouteName, d: Decision, started: number, extra: Record<string, unknown>): void => {
    const secs = (performance.now() - started) / 1000;
    m.decisions.inc({ route, result: d.outcome, code: m.label('code', d.code) });
    m.requestDuration.observe({ route }, secs);
    if (d.breakGlass) m.breakGlass.inc({ route });
    try {
      deps.onDecision?.(d);
    } catch (err) {
      log.warn({ err: describeError(err) }, 'decision hook failed');
    }
    log.info(
      {
        ...extra,
        route,
        images: d.images.map((v) => v.image),
        digests: d.images.map((v) => v.digest ?? null),
        cached: d.images.filter((v) => v.fromCache).length,
        decision: d.outcome,
        allowed: d.allowed,
        code: d.code,
        reason: d.reason,
        ...(d.breakGlass ? { breakGlass: true } : {}),
        durationMs: Math.round(secs * 10_000) / 10,
      },
      'decision',
    );
  };

  const imagePolicy = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const started = performance.now();
    const receivedAt = received.get(req.raw) ?? Date.now();
    const deadline = deadlineFor(req, 'image-policy', receivedAt);
    const review = parseImageReview(req.body);
    let out: { response: unknown; decision: Decision };
    try {
      out = await reviewImageReview(review, deps.lookup, policy, { now: now(), deadline });
    } catch (err) {
      m.errors.inc({ kind: 'internal' });
      log.error({ err: describeError(err) }, 'ImageReview failed');
      const d = failDecision(policy);
      out = { response: imageReviewResponse(d), decision: d };
    }
    record('image-policy', out.decision, started, { namespace: review.spec.namespace ?? null });
    return reply.code(200).header('content-type', 'application/json; charset=utf-8').send(out.response);
  };

  const admission = (route: 'validate' | 'mutate') => async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const started = performance.now();
    const receivedAt = received.get(req.raw) ?? Date.now();
    const deadline = deadlineFor(req, route, receivedAt);
    const review: AdmissionReview = parseAdmissionReview(req.body);
    let out: { response: unknown; decision: Decision };
    try {
      out = await reviewAdmission(review, deps.lookup, policy, { now: now(), deadline, mutate: route === 'mutate' });
    } catch (err) {
      m.errors.inc({ kind: 'internal' });
      log.error({ err: describeError(err), uid: review.request.uid }, 'AdmissionReview failed');
      const d = failDecision(policy);
      out = { response: admissionResponse(review, d), decision: d };
    }
    const r = review.request;
    if (out.decision.code === 'unknown-kind') m.unknownKinds.inc({ kind: m.label('kind', r.kind.kind) });
    record(route, out.decision, started, {
      uid: r.uid,
      kind: r.kind.kind,
      namespace: r.namespace ?? null,
      name: r.name ?? null,
      operation: r.operation,
    });
    return reply.code(200).header('content-type', 'application/json; charset=utf-8').send(out.response);
  };

  // While draining, every answer closes its connection, so keep-alive sockets do not hold the shutdown.
  fastify.addHook('onSend', async (_req, reply, payload) => {
    if (draining) reply.header('connection', 'close');
    return payload;
  });

  // The deadline counts from the moment the request arrived (body upload and parsing included).
  fastify.addHook('onRequest', async (req) => {
    received.set(req.raw, Date.now());
  });

  fastify.post('/image-policy', imagePolicy);
  fastify.post('/scan', imagePolicy);
  fastify.post('/validate', admission('validate'));
  if (config.mutate) fastify.post('/mutate', admission('mutate'));

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
    },
  };
}
