/**
 * The admission routes' work, independent of the HTTP framework: raw body text in, status + JSON out.
 *
 *   memo hit? ─yes─► the memoized answer (uid put back), logged and counted
 *      │no
 *   parse JSON (prototype-poisoning keys refused) → validate the review → decide (src/admission,
 *   with the scan service's lookup and the request's deadline) → log line + metrics → memoize
 *
 * Unreadable requests get a 4xx `{code, message}`; an internal failure gets the configured fail
 * policy as a well-formed review answer (echoing the uid), never exception text. Both the fastify
 * routes and the lean pre-router (hot-path.ts) call `review`, so they cannot disagree.
 */
import {
  admissionResponse,
  decideAdmission,
  decideImageReview,
  imageReviewResponse,
  parseAdmissionReview,
  parseImageReview,
  ProtocolError,
  type ImageLookup,
  type MaybePromise,
} from '../admission/index.ts';
import type { ServerConfig } from '../config/server-schema.ts';
import type { Decision, Policy } from '../domain/policy.ts';
import type { CounterSeries, HistogramSeries, Metrics } from '../metrics/index.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { DecisionMemo, MEMO_MAX_BODY, memoizable, type MemoEntry, type MemoSlot } from './decision-memo.ts';
import { decisionLineSink } from './log.ts';
import { answerBudget, parseTimeoutParam } from './timing.ts';

export type RouteName = 'image-policy' | 'validate' | 'mutate';

export interface Answer {
  status: number;
  json: string;
  /** UTF-8 length of `json`, when known. */
  bytes?: number;
}

export interface ReviewDeps {
  config: Pick<ServerConfig, 'timeouts'>;
  policy: Policy;
  lookup: ImageLookup;
  metrics: Metrics;
  logger: Logger;
  onDecision?: (d: Decision) => void;
  /** Backend cache identity: memo entries die when it changes. Without it the memo is off. */
  identity?: () => string;
  decisionTtlMs?: number;
  now?: () => Date;
}

export interface ReviewCore {
  /** The memoized answer if there is one, else the review decided (`bytes`: the body as received, when at hand). */
  review(route: RouteName, raw: string, timeoutParam: string | undefined, receivedAt: number, bytes?: Buffer): Promise<Answer>;
  /**
   * As `review`, without looking in the memo first (the caller just did). A value when the review
   * was decided without waiting (every image known to the caches: the common case), else a promise.
   */
  decide(route: RouteName, raw: string, timeoutParam: string | undefined, receivedAt: number, bytes?: Buffer): MaybePromise<Answer>;
  /** The memoized answer for this exact review, synchronously (logged and counted), or undefined. */
  fromMemo(route: RouteName, raw: string): Answer | undefined;
  /** As `fromMemo`, on the body's bytes as received. */
  fromMemoBytes(route: RouteName, body: Buffer): Answer | undefined;
  /** A 4xx answer for a protocol problem found before the body was read (logged and counted). */
  refuse(route: string, status: number, code: string, message: string): Answer;
  memo: DecisionMemo;
}

/** The route for a request path ('/scan' and '/image-policy' are one route), or undefined. */
export function routeOf(path: string): RouteName | undefined {
  if (path === '/scan' || path === '/image-policy') return 'image-policy';
  if (path === '/validate') return 'validate';
  if (path === '/mutate') return 'mutate';
  return undefined;
}

/** JSON.parse refusing prototype-poisoning keys (`__proto__`, `constructor.prototype`) anywhere in the document. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0 || /^\s*$/.test(text)) throw new ProtocolError('request body is empty', 400, 'EMPTY_BODY');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ProtocolError('request body is not valid JSON', 400, 'MALFORMED_JSON');
  }
  if (text.includes('__proto__') || text.includes('constructor')) {
    const stack: unknown[] = [doc];
    while (stack.length) {
      const v = stack.pop();
      if (typeof v !== 'object' || v === null) continue;
      if (Object.hasOwn(v, '__proto__')) throw new ProtocolError('request body has a forbidden "__proto__" key', 400, 'MALFORMED_JSON');
      const c = (v as Record<string, unknown>)['constructor'];
      if (Object.hasOwn(v, 'constructor') && typeof c === 'object' && c !== null && Object.hasOwn(c, 'prototype')) {
        throw new ProtocolError('request body has a forbidden "constructor.prototype" key', 400, 'MALFORMED_JSON');
      }
      for (const x of Object.values(v)) if (typeof x === 'object' && x !== null) stack.push(x);
    }
  }
  return doc;
}

const DECISION_HIT = { cache: 'decision', result: 'hit' } as const;

/** Two fixed UUIDs for the uid-slot proof in `probeParsesAsUid` (one of them differs from any uid). */
const PROBE_UIDS = [Buffer.from('00000000-0000-0000-0000-000000000000'), Buffer.from('11111111-1111-1111-1111-111111111111')] as const;

const UID_KEY = Buffer.from('"uid"');
const isJsonSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const HEX = new Uint8Array(256);
for (const c of Buffer.from('0123456789abcdefABCDEF')) HEX[c] = 1;

/** 36 bytes from `p` are a UUID: 8-4-4-4-12 hex digits. */
function isUuidAt(b: Buffer, p: number): boolean {
  for (let i = 0; i < 36; i++) {
    const c = b[p + i] as number;
    if (i === 8 || i === 13 || i === 18 || i === 23 ? c !== 0x2d : HEX[c] !== 1) return false;
  }
  return true;
}

/**
 * The AdmissionReview memo slot: the 36 bytes of the first `"uid" : "<UUID>"` in the body (the API
 * server writes request.uid first). Two requests share a memo entry only when their bytes are equal
 * outside this slot, and answers are only served from entries whose slot is proven to be request.uid
 * (`slotHoldsUid`, `probeParsesAsUid`), so a match means "the same review but for its uid".
 */
export function uidSlot(body: Buffer): MemoSlot | undefined {
  for (let i = body.indexOf(UID_KEY); i >= 0; i = body.indexOf(UID_KEY, i + 1)) {
    let p = i + UID_KEY.length;
    while (isJsonSpace(body[p])) p++;
    if (body[p] !== 0x3a) continue;
    p++;
    while (isJsonSpace(body[p])) p++;
    if (body[p] !== 0x22 || body[p + 37] !== 0x22 || !isUuidAt(body, p + 1)) continue;
    return { at: p + 1, len: 36 };
  }
  return undefined;
}

/**
 * Proof that the slot is request.uid — never assumed from the bytes. The body parsed with
 * request.uid equal to the slot's text (`slotHoldsUid`, when the entry is made), and the same body
 * with another UUID in the slot parses with request.uid equal to that UUID (`probeParsesAsUid`,
 * when the entry is first matched, so reviews that never repeat never pay its parse): hex digits and
 * dashes inside a string literal change no token (and, being ASCII, no UTF-8 sequence around them),
 * so the slot is the whole request.uid literal (escapes, duplicate keys or a first match elsewhere —
 * userInfo.uid, an object's uid — all fail one of the two), and any UUID put there parses as exactly
 * that request.uid with everything else unchanged. No answer is served from an entry before both hold.
 */
function slotHoldsUid(body: Buffer, slot: MemoSlot, requestUid: string): boolean {
  return requestUid === body.toString('latin1', slot.at, slot.at + slot.len);
}

function probeParsesAsUid(e: MemoEntry): boolean {
  const probe = PROBE_UIDS[0].toString() === e.uid ? PROBE_UIDS[1] : PROBE_UIDS[0];
  try {
    const text = Buffer.concat([e.head, probe, e.tail]).toString('utf8');
    const doc = JSON.parse(text) as { request?: { uid?: unknown } } | null;
    return doc?.request?.uid === probe.toString();
  } catch {
    return false;
  }
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

export function createReviewCore(deps: ReviewDeps): ReviewCore {
  const { policy, metrics: m } = deps;
  const log = deps.logger.child({ component: 'http' });
  const t = deps.config.timeouts;
  const now = deps.now ?? ((): Date => new Date());
  const memo = new DecisionMemo(policy, { ttlMs: deps.identity ? (deps.decisionTtlMs ?? 1000) : 0 });
  const identity = deps.identity ?? ((): string => '');

  const refuse = (route: string, status: number, code: string, message: string): Answer => {
    m.protocolErrors.inc({ route, code: m.label('code', code) });
    log.info({ route, code, status }, `refused: ${message}`);
    return { status, json: JSON.stringify({ code, message }) };
  };

  /** The decision line's fields after `extra` (the request's own), in pino's order of the original call. */
  const decisionFields = (route: RouteName, d: Decision, extra: Record<string, unknown>): Record<string, unknown> => {
    const images: string[] = [];
    const digests: (string | null)[] = [];
    let cached = 0;
    for (const v of d.images) {
      images.push(v.image);
      digests.push(v.digest ?? null);
      if (v.fromCache) cached++;
    }
    const f: Record<string, unknown> = { ...extra, route, images, digests, cached, decision: d.outcome, allowed: d.allowed, code: d.code, reason: d.reason };
    if (d.breakGlass) f['breakGlass'] = true;
    return f;
  };

  /** Metric series per route and per (route, outcome, code): made once, then each count is an addition. */
  const routeSeries = new Map<RouteName, { duration: HistogramSeries; breakGlass: CounterSeries; decisions: Map<string, Map<string, CounterSeries>> }>();
  const seriesFor = (route: RouteName, d: Decision): { duration: HistogramSeries; breakGlass: CounterSeries; decision: CounterSeries } => {
    let r = routeSeries.get(route);
    if (!r) routeSeries.set(route, (r = { duration: m.requestDuration.series(route), breakGlass: m.series(m.breakGlass, { route }), decisions: new Map() }));
    let byCode = r.decisions.get(d.outcome);
    if (!byCode) r.decisions.set(d.outcome, (byCode = new Map()));
    let decision = byCode.get(d.code);
    if (!decision) byCode.set(d.code, (decision = m.series(m.decisions, { route, result: d.outcome, code: m.label('code', d.code) })));
    return { duration: r.duration, breakGlass: r.breakGlass, decision };
  };
  const decisionHit = m.series(m.cacheLookups, DECISION_HIT);

  const count = (route: RouteName, d: Decision, secs: number): void => {
    const c = seriesFor(route, d);
    c.decision.inc();
    c.duration.observe(secs);
    if (d.breakGlass) c.breakGlass.inc();
  };

  const ms = (secs: number): number => Math.round(secs * 10_000) / 10;

  // Decision lines are written directly when the logger is the server's own (pino's layout — level,
  // time, the child's bindings, the call's fields, msg — through the same writer, so lines stay in
  // order; the fields are one JSON.stringify, not pino's per-key serialiser). Memo hits use a
  // pre-serialised prefix per entry, then the uid and duration. Any other logger (tests) gets the
  // same fields through pino.
  const sink = decisionLineSink(deps.logger);

  const record = (route: RouteName, d: Decision, started: number, extra: Record<string, unknown>): void => {
    const secs = (performance.now() - started) / 1000;
    count(route, d, secs);
    try {
      deps.onDecision?.(d);
    } catch (err) {
      log.warn({ err: describeError(err) }, 'decision hook failed');
    }
    if (sink) {
      if (!sink.infoEnabled()) return;
      const own = JSON.stringify(extra);
      sink.write(`{"level":30,"time":${Date.now()},"component":"http",${own.length > 2 ? `${own.slice(1, -1)},` : ''}${decisionMembers(route, d)},"durationMs":${ms(secs)},"msg":"decision"}\n`);
      return;
    }
    const fields = decisionFields(route, d, extra);
    fields['durationMs'] = ms(secs);
    log.info(fields, 'decision');
  };

  /** The decision line's members from `route` to the end of the decision, serialised once per memoised (frozen) decision and route. */
  const members = new WeakMap<Decision, Partial<Record<RouteName, string>>>();
  const decisionMembers = (route: RouteName, d: Decision): string => {
    const frozen = Object.isFrozen(d);
    let byRoute = frozen ? members.get(d) : undefined;
    const hit = byRoute?.[route];
    if (hit !== undefined) return hit;
    const json = JSON.stringify(decisionFields(route, d, {})).slice(1, -1);
    if (frozen) {
      if (!byRoute) members.set(d, (byRoute = {}));
      byRoute[route] = json;
    }
    return json;
  };

  const recordMemo = (route: RouteName, e: MemoEntry, started: number, uid?: string): void => {
    const secs = (performance.now() - started) / 1000;
    const c = (e.counted ??= {
      ...seriesFor(route, e.decision),
      ...(e.decision.code === 'unknown-kind' ? { kind: m.series(m.unknownKinds, { kind: m.label('kind', String(e.log['kind'])) }) } : {}),
    });
    c.decision.inc();
    c.duration.observe(secs);
    if (e.decision.breakGlass) c.breakGlass.inc();
    c.kind?.inc();
    decisionHit.inc();
    if (sink) {
      if (!sink.infoEnabled()) return;
      // pino's layout: level, time, the child's bindings, the call's fields, msg.
      e.line ??= JSON.stringify({ component: 'http', ...decisionFields(route, e.decision, e.log) }).slice(1, -1);
      sink.write(`{"level":30,"time":${Date.now()},${e.line}${uid === undefined ? '' : `,"uid":"${uid}"`},"memo":true,"durationMs":${ms(secs)},"msg":"decision"}\n`);
      return;
    }
    e.logger ??= log.child(decisionFields(route, e.decision, e.log));
    e.logger.info(uid === undefined ? { memo: true, durationMs: ms(secs) } : { uid, memo: true, durationMs: ms(secs) }, 'decision');
  };

  // The API server sends the same `?timeout=` on every call: its parse is kept.
  let lastParam: string | undefined;
  let lastTimeout: number | undefined;
  const deadlineFor = (route: RouteName, timeoutParam: string | undefined, receivedAt: number): number => {
    if (timeoutParam !== lastParam) {
      lastTimeout = parseTimeoutParam(timeoutParam);
      lastParam = timeoutParam;
    }
    const timeout = lastTimeout ?? (route === 'image-policy' ? t.imagePolicy : t.validate);
    return receivedAt + answerBudget(timeout, t.margin);
  };

  const fromMemoBytes = (route: RouteName, body: Buffer): Answer | undefined => {
    if (!memo.enabled || body.length > MEMO_MAX_BODY) return undefined;
    const started = performance.now();
    if (route === 'image-policy') {
      const hit = memo.get('ir', body, identity(), Date.now());
      if (!hit) return undefined;
      recordMemo(route, hit, started);
      return { status: 200, json: hit.parts[0], bytes: hit.bytes };
    }
    const slot = uidSlot(body);
    const hit = slot !== undefined ? memo.get(route, body, identity(), Date.now(), slot) : undefined;
    if (!hit || slot === undefined || hit.parts.length !== 2) return undefined;
    if (hit.proven !== true) {
      if (!probeParsesAsUid(hit)) {
        memo.drop(hit);
        return undefined;
      }
      hit.proven = true;
    }
    const uid = body.toString('latin1', slot.at, slot.at + slot.len);
    recordMemo(route, hit, started, uid);
    // The uid is a UUID (hex digits and dashes): quoting it is its JSON encoding, 38 bytes.
    return { status: 200, json: `${hit.parts[0]}"${uid}"${hit.parts[1]}`, bytes: hit.bytes + 38 };
  };

  const fromMemo = (route: RouteName, raw: string): Answer | undefined => (memo.enabled ? fromMemoBytes(route, Buffer.from(raw)) : undefined);

  const reviewFailed = (err: unknown, uid?: string): Decision => {
    m.errors.inc({ kind: 'internal' });
    log.error(uid === undefined ? { err: describeError(err) } : { err: describeError(err), uid }, uid === undefined ? 'ImageReview failed' : 'AdmissionReview failed');
    return failDecision(policy);
  };

  const imagePolicy = (raw: string, bytes: Buffer | undefined, timeoutParam: string | undefined, receivedAt: number, started: number): MaybePromise<Answer> => {
    const review = parseImageReview(parseJsonBody(raw));
    const finish = (out: { json: string; decision: Decision }): Answer => {
      const logFields = { namespace: review.spec.namespace ?? null };
      record('image-policy', out.decision, started, logFields);
      const json = out.json;
      if (memo.enabled && memoizable(out.decision)) {
        memo.set('ir', bytes ?? Buffer.from(raw), { parts: [json], bytes: Buffer.byteLength(json), decision: out.decision, identity: identity(), log: logFields }, Date.now());
      }
      return { status: 200, json };
    };
    const failed = (err: unknown): Answer => {
      const d = reviewFailed(err);
      return finish({ json: JSON.stringify(imageReviewResponse(d)), decision: d });
    };
    let out: MaybePromise<{ json: string; decision: Decision }>;
    try {
      out = decideImageReview(review, deps.lookup, policy, { now: now(), deadline: deadlineFor('image-policy', timeoutParam, receivedAt) });
    } catch (err) {
      return failed(err);
    }
    return out instanceof Promise ? out.then(finish, failed) : finish(out);
  };

  const admission = (route: 'validate' | 'mutate', raw: string, bytes: Buffer | undefined, timeoutParam: string | undefined, receivedAt: number, started: number): MaybePromise<Answer> => {
    const review = parseAdmissionReview(parseJsonBody(raw));
    const finish = (out: { json: string; decision: Decision }): Answer => {
      const r = review.request;
      if (out.decision.code === 'unknown-kind') m.unknownKinds.inc({ kind: m.label('kind', r.kind.kind) });
      const own = { uid: r.uid, kind: r.kind.kind, namespace: r.namespace ?? null, name: r.name ?? null, operation: r.operation };
      record(route, out.decision, started, own);
      const json = out.json;
      const body = memo.enabled && memoizable(out.decision) ? (bytes ?? Buffer.from(raw)) : undefined;
      const slot = body !== undefined && body.length <= MEMO_MAX_BODY ? uidSlot(body) : undefined;
      // An entry only for a review that repeats (see DecisionMemo.set), and only then prepared.
      if (body !== undefined && slot !== undefined && memo.wouldKeepRepeated(route, body, Date.now(), slot) && slotHoldsUid(body, slot, r.uid)) {
        // The answer with its uid cut out, to be put back per request (the uid must occur once in it).
        const quoted = `"uid":"${r.uid}"`;
        const at = json.indexOf(quoted);
        if (at >= 0 && json.indexOf(r.uid, at + quoted.length) < 0 && json.lastIndexOf(r.uid, at) < 0) {
          const parts: [string, string] = [json.slice(0, at + 6), json.slice(at + quoted.length)];
          const logFields = { kind: own.kind, namespace: own.namespace, name: own.name, operation: own.operation };
          memo.set(route, body, { parts, bytes: Buffer.byteLength(parts[0]) + Buffer.byteLength(parts[1]), decision: out.decision, identity: identity(), log: logFields, uid: r.uid, proven: false }, Date.now(), slot, { repeated: true });
        }
      }
      return { status: 200, json };
    };
    const failed = (err: unknown): Answer => {
      const d = reviewFailed(err, review.request.uid);
      return finish({ json: JSON.stringify(admissionResponse(review, d)), decision: d });
    };
    let out: MaybePromise<{ json: string; decision: Decision }>;
    try {
      out = decideAdmission(review, deps.lookup, policy, { now: now(), deadline: deadlineFor(route, timeoutParam, receivedAt), mutate: route === 'mutate' });
    } catch (err) {
      return failed(err);
    }
    return out instanceof Promise ? out.then(finish, failed) : finish(out);
  };

  const internal = (route: RouteName, err: unknown): Answer => {
    if (err instanceof ProtocolError) return refuse(route, err.statusCode, err.code, err.message);
    m.errors.inc({ kind: 'internal' });
    log.error({ route, err: describeError(err), stack: err instanceof Error ? err.stack : undefined }, 'internal error');
    return { status: 500, json: JSON.stringify({ code: 'INTERNAL', message: 'internal error' }) };
  };

  const decide = (route: RouteName, raw: string, timeoutParam: string | undefined, receivedAt: number, bytes?: Buffer): MaybePromise<Answer> => {
    const started = performance.now();
    let a: MaybePromise<Answer>;
    try {
      a = route === 'image-policy' ? imagePolicy(raw, bytes, timeoutParam, receivedAt, started) : admission(route, raw, bytes, timeoutParam, receivedAt, started);
    } catch (err) {
      return internal(route, err);
    }
    return a instanceof Promise ? a.catch((err: unknown) => internal(route, err)) : a;
  };

  const review = async (route: RouteName, raw: string, timeoutParam: string | undefined, receivedAt: number, bytes?: Buffer): Promise<Answer> => {
    if (!memo.enabled) return decide(route, raw, timeoutParam, receivedAt, bytes);
    // One buffer for the lookup and the entry (the memo recognises the body it just looked up).
    const body = bytes ?? Buffer.from(raw);
    return fromMemoBytes(route, body) ?? decide(route, raw, timeoutParam, receivedAt, body);
  };

  return { review, decide, fromMemo, fromMemoBytes, refuse, memo };
}
