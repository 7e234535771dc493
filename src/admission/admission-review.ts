/**
 * admission.k8s.io/v1 (and v1beta1, same shape) AdmissionReview for the validating and mutating webhooks.
 *
 * The response always echoes `request.uid` and the request's apiVersion. Denials carry
 * `status: {code: 403, reason: 'Forbidden', message}` naming each denied image, why, and its worst
 * findings; warn mode sends `warnings`; every answer carries `auditAnnotations` (the API server prefixes
 * the keys with the webhook name). With `mutate`, an allowed answer carries a JSONPatch pinning each
 * scanned image to the digest that was checked.
 */
import { z } from 'zod';
import type { Decision, ImageVerdict, Policy } from '../domain/policy.ts';
import { isDigest } from '../image/reference.ts';
import { breakGlassAnnotation, combine, noImageDecision } from '../policy/index.ts';
import { checkEnvelope } from './image-review.ts';
import { decideImages, thenMaybe, type MaybePromise } from './lookup.ts';
import { ProtocolError, type ExtractedImage, type ImageLookup, type ReviewOptions } from './types.ts';
import { CONTAINER_LISTS, discoverPodSpecs, extractImages, runsNoContainers, workloadKind, type ContainerList, type WorkloadKind } from './workloads.ts';
import { zodProblem } from './zod-problem.ts';

export const ADMISSION_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type AdmissionApiVersion = (typeof ADMISSION_API_VERSIONS)[number];
export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;
export type Operation = (typeof OPERATIONS)[number];

// The API server always sends `group` ("" for the core group); kwctl-style requests (kubewarden
// test_data) leave it and `resource` out, so "" and the kind's group/version stand in for them.
const gvk = z.looseObject({ group: z.string().max(253).default(''), version: z.string().max(63), kind: z.string().max(253) });
const gvr = z.looseObject({ group: z.string().max(253).default(''), version: z.string().max(63), resource: z.string().max(253) });

const requestSchema = z.looseObject({
  uid: z.string().min(1).max(256),
  kind: gvk,
  resource: gvr.optional(),
  subResource: z.string().max(253).nullish(),
  requestKind: gvk.nullish(),
  requestResource: gvr.nullish(),
  requestSubResource: z.string().max(253).nullish(),
  name: z.string().max(253).nullish(),
  namespace: z.string().max(253).nullish(),
  // Any string: an operation we do not know still gets a well-formed answer echoing the uid (a deny).
  operation: z.string().min(1).max(64),
  userInfo: z
    .looseObject({ username: z.string().optional(), uid: z.string().optional(), groups: z.array(z.string()).nullish() })
    .nullish(),
  object: z.unknown().optional(),
  oldObject: z.unknown().optional(),
  dryRun: z.boolean().nullish(),
  options: z.unknown().optional(),
});

const reviewSchema = z.looseObject({
  apiVersion: z.enum(ADMISSION_API_VERSIONS),
  kind: z.literal('AdmissionReview'),
  request: requestSchema,
});

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}
export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

/** A validated AdmissionRequest, read-only (after pepr's AdmissionRequest<T>). `object` is checked per kind later. */
export interface AdmissionRequest {
  /** Echoed in the response; identifies this admission call. */
  readonly uid: string;
  /** The object's kind, in the version the webhook receives. */
  readonly kind: GroupVersionKind;
  readonly resource: GroupVersionResource;
  /** 'ephemeralcontainers', 'status', 'scale', 'exec', … */
  readonly subResource?: string;
  readonly name?: string;
  /** Empty for cluster-scoped objects. */
  readonly namespace?: string;
  /** CREATE, UPDATE, DELETE, CONNECT (anything else is denied as unknown). */
  readonly operation: Operation | (string & {});
  readonly username?: string;
  readonly object: unknown;
  readonly oldObject: unknown;
  readonly dryRun: boolean;
}

export interface AdmissionReview {
  readonly apiVersion: AdmissionApiVersion;
  readonly kind: 'AdmissionReview';
  readonly request: AdmissionRequest;
}

type RequestData = z.infer<typeof requestSchema>;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown, max: number, min = 0): v is string => typeof v === 'string' && v.length <= max && v.length >= min;
const isOptStr = (v: unknown, max: number): boolean => v === undefined || isStr(v, max);
const isNullishStr = (v: unknown, max: number): boolean => v === undefined || v === null || isStr(v, max);

function fastGvk(v: unknown): { group: string; version: string; kind: string } | undefined {
  if (!isPlainObject(v)) return undefined;
  const g = v['group'];
  const version = v['version'];
  const kind = v['kind'];
  if (!isOptStr(g, 253) || !isStr(version, 63) || !isStr(kind, 253)) return undefined;
  return { group: (g as string | undefined) ?? '', version, kind };
}

function fastGvr(v: unknown): { group: string; version: string; resource: string } | undefined {
  if (!isPlainObject(v)) return undefined;
  const g = v['group'];
  const version = v['version'];
  const resource = v['resource'];
  if (!isOptStr(g, 253) || !isStr(version, 63) || !isStr(resource, 253)) return undefined;
  return { group: (g as string | undefined) ?? '', version, resource };
}

/**
 * The request's fields as `requestSchema` would give them, for a request of the common shape, by
 * plain checks (the schema costs several µs per review); undefined for anything else — then the
 * schema decides, and names the problem. Accepts nothing the schema refuses.
 */
function fastRequest(q: Record<string, unknown>): Pick<RequestData, 'uid' | 'kind' | 'resource' | 'subResource' | 'name' | 'namespace' | 'operation' | 'userInfo' | 'object' | 'oldObject' | 'dryRun'> | undefined {
  const uid = q['uid'];
  const operation = q['operation'];
  if (!isStr(uid, 256, 1) || !isStr(operation, 64, 1)) return undefined;
  const kind = fastGvk(q['kind']);
  if (kind === undefined) return undefined;
  const rawResource = q['resource'];
  const resource = rawResource === undefined ? undefined : fastGvr(rawResource);
  if (rawResource !== undefined && resource === undefined) return undefined;
  const requestKind = q['requestKind'];
  const requestResource = q['requestResource'];
  if (requestKind !== undefined && requestKind !== null && fastGvk(requestKind) === undefined) return undefined;
  if (requestResource !== undefined && requestResource !== null && fastGvr(requestResource) === undefined) return undefined;
  const subResource = q['subResource'];
  const name = q['name'];
  const namespace = q['namespace'];
  if (!isNullishStr(subResource, 253) || !isNullishStr(q['requestSubResource'], 253) || !isNullishStr(name, 253) || !isNullishStr(namespace, 253)) return undefined;
  const dryRun = q['dryRun'];
  if (dryRun !== undefined && dryRun !== null && typeof dryRun !== 'boolean') return undefined;
  const u = q['userInfo'];
  let userInfo: RequestData['userInfo'];
  if (u !== undefined && u !== null) {
    if (!isPlainObject(u)) return undefined;
    const username = u['username'];
    const groups = u['groups'];
    if (!isOptStr(username, Infinity) || !isOptStr(u['uid'], Infinity)) return undefined;
    if (groups !== undefined && groups !== null && !(Array.isArray(groups) && groups.every((g) => typeof g === 'string'))) return undefined;
    userInfo = username === undefined ? {} : { username: username as string };
  }
  return {
    uid,
    kind,
    resource,
    subResource: subResource as string | null | undefined,
    name: name as string | null | undefined,
    namespace: namespace as string | null | undefined,
    operation,
    userInfo,
    object: q['object'],
    oldObject: q['oldObject'],
    dryRun: dryRun as boolean | null | undefined,
  };
}

/**
 * Validates an AdmissionReview envelope (the server has parsed the JSON). Throws ProtocolError.
 * `via: 'schema'` skips the plain-check fast path (tests compare both).
 */
export function parseAdmissionReview(body: unknown, via: 'fast' | 'schema' = 'fast'): AdmissionReview {
  const o = checkEnvelope(body, ADMISSION_API_VERSIONS, 'AdmissionReview');
  const rq = o['request'];
  if (typeof rq !== 'object' || rq === null) {
    throw new ProtocolError('AdmissionReview has no request', 400, 'ADMISSION_BAD_REQUEST');
  }
  let q = via === 'fast' && isPlainObject(rq) ? fastRequest(rq) : undefined;
  if (q === undefined) {
    const r = reviewSchema.safeParse(body);
    if (!r.success) throw new ProtocolError(`invalid AdmissionReview: ${zodProblem(r.error)}`, 400, 'ADMISSION_BAD_REQUEST');
    q = r.data.request;
  }
  const request: { -readonly [K in keyof AdmissionRequest]: AdmissionRequest[K] } = {
    uid: q.uid,
    kind: { group: q.kind.group, version: q.kind.version, kind: q.kind.kind },
    resource: q.resource
      ? { group: q.resource.group, version: q.resource.version, resource: q.resource.resource }
      : { group: q.kind.group, version: q.kind.version, resource: '' },
    operation: q.operation,
    object: q.object ?? null,
    oldObject: q.oldObject ?? null,
    dryRun: q.dryRun === true,
  };
  if (q.subResource) request.subResource = q.subResource;
  if (q.name) request.name = q.name;
  if (q.namespace) request.namespace = q.namespace;
  if (q.userInfo?.username !== undefined) request.username = q.userInfo.username;
  return { apiVersion: o['apiVersion'] as AdmissionApiVersion, kind: 'AdmissionReview', request };
}

export interface JsonPatchOp {
  op: 'replace';
  path: string;
  value: string;
}

export interface AdmissionResponseBody {
  uid: string;
  allowed: boolean;
  status?: { status: 'Failure'; code: number; reason: string; message: string };
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
  patchType?: 'JSONPatch';
  /** base64 of the RFC 6902 JSON array. */
  patch?: string;
}

export interface AdmissionReviewResponse {
  apiVersion: AdmissionApiVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponseBody;
}

/** `repo:tag` → `repo:tag@sha256:…` (the tag kept for people; runtimes pull by the digest). */
export function pinnedImage(image: string, digest: string): string {
  return `${image}@${digest}`;
}

/** One `replace` per scanned image written without a digest, at its exact JSON pointer. */
export function digestPatch(extracted: readonly ExtractedImage[], verdicts: readonly ImageVerdict[]): JsonPatchOp[] {
  const digestOf = new Map<string, string>();
  for (const v of verdicts) if (v.digest && isDigest(v.digest)) digestOf.set(v.image, v.digest);
  const ops: JsonPatchOp[] = [];
  for (const e of extracted) {
    const d = digestOf.get(e.image);
    if (!d || e.image.includes('@')) continue;
    ops.push({ op: 'replace', path: e.pointer, value: pinnedImage(e.image, d) });
  }
  return ops;
}

/** `"allowed":…` up to the end of auditAnnotations, per memoised (frozen) decision. */
const middles = new WeakMap<Decision, string>();

/** What admissionResponse puts after `uid` and before the patch, as JSON members. */
function responseMiddle(decision: Decision): string {
  const frozen = Object.isFrozen(decision);
  if (frozen) {
    const hit = middles.get(decision);
    if (hit !== undefined) return hit;
  }
  const r = admissionResponse({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: '' } as AdmissionRequest }, decision).response as Partial<AdmissionResponseBody>;
  delete r.uid;
  const middle = JSON.stringify(r).slice(1, -1);
  if (frozen) middles.set(decision, middle);
  return middle;
}

/**
 * The JSON of `admissionResponse(review, decision, patch)`, exactly `JSON.stringify` of it, made
 * from parts: the envelope and uid per request, the decision's members once per memoised decision.
 */
export function admissionResponseJson(review: AdmissionReview, decision: Decision, patch: readonly JsonPatchOp[] = []): string {
  const middle = responseMiddle(decision);
  const p = decision.allowed && patch.length ? `,"patchType":"JSONPatch","patch":"${Buffer.from(JSON.stringify(patch)).toString('base64')}"` : '';
  return `{"apiVersion":${JSON.stringify(review.apiVersion)},"kind":"AdmissionReview","response":{"uid":${JSON.stringify(review.request.uid)},${middle}${p}}}`;
}

export function admissionResponse(review: AdmissionReview, decision: Decision, patch: readonly JsonPatchOp[] = []): AdmissionReviewResponse {
  const response: AdmissionResponseBody = { uid: review.request.uid, allowed: decision.allowed };
  if (!decision.allowed) response.status = { status: 'Failure', code: 403, reason: 'Forbidden', message: decision.reason };
  if (decision.warnings.length) response.warnings = [...decision.warnings];
  if (Object.keys(decision.auditAnnotations).length) response.auditAnnotations = { ...decision.auditAnnotations };
  if (decision.allowed && patch.length) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  return { apiVersion: review.apiVersion, kind: 'AdmissionReview', response };
}

function kindLabel(r: AdmissionRequest): string {
  const g = r.kind.group ? `${r.kind.group}/` : '';
  return `${g}${r.kind.version}/${r.kind.kind}`.slice(0, 200);
}

/** Unknown kind without a pod spec we can find: explicit policy; a deny obeys the mode like any other. */
function unknownKindDecision(r: AdmissionRequest, policy: Policy): Decision {
  const what = `kind ${kindLabel(r)} has no pod spec Portcullis knows`;
  if (policy.unknownKinds === 'allow') return noImageDecision('unknown-kind', true, `${what} (unknownKinds: allow)`, policy);
  const reason = `${what}; denied by unknownKinds: ${policy.unknownKinds} (send only workload kinds to this webhook, or set policy.unknownKinds: allow)`;
  const d = noImageDecision('unknown-kind', policy.mode !== 'enforce', reason, policy);
  if (policy.mode !== 'enforce') {
    d.outcome = policy.mode;
    d.auditAnnotations['decision'] = policy.mode;
    d.auditAnnotations['reason'] = reason.slice(0, 1024);
    if (policy.mode === 'warn') d.warnings.push(`would be denied: ${what}`.slice(0, 256));
  }
  return d;
}

/** The pod specs to read: the table's row, or (unknownKinds: scan) those a walk of the object finds. */
function podSpecsOf(r: AdmissionRequest, object: unknown, policy: Policy): WorkloadKind[] {
  const w = workloadKind(r.kind.group, r.kind.kind);
  if (w) return [w];
  return policy.unknownKinds === 'scan' ? discoverPodSpecs(object) : [];
}

/** What to check: which container lists, and which images (on UPDATE only those not already admitted). */
function selectImages(r: AdmissionRequest, lists: readonly ContainerList[], policy: Policy): { images: ExtractedImage[]; annotations: Record<string, string> } | { problem: string } {
  const specs = podSpecsOf(r, r.object, policy);
  if (specs.length === 0) return { problem: 'unknown kind' };
  const update = r.operation === 'UPDATE' && r.oldObject !== null && r.oldObject !== undefined;
  if (specs.length === 1 && !update) {
    // The common case (one pod spec, a CREATE): the extraction as it is.
    const now = extractImages(specs[0] as WorkloadKind, r.object, lists);
    return now.ok ? { images: now.images, annotations: now.annotations } : { problem: now.problem };
  }
  const images: ExtractedImage[] = [];
  const annotations: Record<string, string> = {};
  for (const w of specs) {
    const now = extractImages(w, r.object, lists);
    if (!now.ok) return { problem: now.problem };
    images.push(...now.images);
    Object.assign(annotations, now.annotations);
  }
  if (!update) return { images, annotations };
  const before = new Set<string>();
  for (const w of podSpecsOf(r, r.oldObject, policy)) {
    const old = extractImages(w, r.oldObject, lists);
    if (!old.ok) return { images, annotations };
    for (const i of old.images) before.add(i.image);
  }
  return { images: images.filter((i) => !before.has(i.image)), annotations };
}

/**
 * Decide an AdmissionReview, never throwing: DELETE/CONNECT and subresources other than
 * ephemeralcontainers are allowed unscanned; unknown kinds follow `policy.unknownKinds`; on UPDATE only
 * images that were not in the old object are checked (metadata updates and finalizer removal never
 * block on a scan); any denied image denies. Synchronous when every image is decided without waiting
 * (pre-scan checks, `lookup.cached`).
 */
export function decideAdmission(
  review: AdmissionReview,
  lookup: ImageLookup,
  policy: Policy,
  opts: ReviewOptions & { mutate: boolean },
): MaybePromise<AdmissionDecided> {
  const r = review.request;
  const done = (decision: Decision, patch: JsonPatchOp[] = []): AdmissionDecided => new Decided(review, decision, patch);
  if (r.operation === 'DELETE' || r.operation === 'CONNECT') {
    return done(noImageDecision('skipped', true, `${r.operation} is not checked`, policy));
  }
  if (!(OPERATIONS as readonly string[]).includes(r.operation)) {
    return done(noImageDecision('invalid-object', false, `operation ${r.operation.slice(0, 64)} is not one of ${OPERATIONS.join(', ')}`, policy));
  }
  const ephemeral = r.subResource === 'ephemeralcontainers';
  if (r.subResource && !ephemeral) {
    return done(noImageDecision('skipped', true, `subresource ${r.subResource.slice(0, 64)} is not checked`, policy));
  }
  if (!workloadKind(r.kind.group, r.kind.kind)) {
    if (runsNoContainers(r.kind.group, r.kind.kind)) return done(noImageDecision('skipped', true, `kind ${kindLabel(r)} runs no containers`, policy));
    if (podSpecsOf(r, r.object, policy).length === 0) return done(unknownKindDecision(r, policy));
  }
  const sel = selectImages(r, ephemeral ? ['ephemeralContainers'] : CONTAINER_LISTS, policy);
  if ('problem' in sel) return done(noImageDecision('invalid-object', false, `invalid ${r.kind.kind} object: ${sel.problem}`, policy));
  if (sel.images.length === 0) {
    const why = r.operation === 'UPDATE' ? 'no image changed' : 'no container images';
    return done(noImageDecision(r.operation === 'UPDATE' ? 'skipped' : 'no-containers', true, why, policy));
  }
  const images = sel.images.map((i) => i.image);
  return thenMaybe(decideImages(images, r.namespace, sel.annotations, lookup, policy, opts), (verdicts) => {
    const bg = verdicts.some((v) => v.code === 'break-glass') ? breakGlassAnnotation(sel.annotations, policy) : undefined;
    const decision = combine(verdicts, policy, bg ? { breakGlass: bg } : {});
    return done(decision, opts.mutate ? digestPatch(sel.images, verdicts) : []);
  });
}

/** A decided AdmissionReview: the answer, its JSON (exactly `JSON.stringify(response)`), the decision. */
export interface AdmissionDecided {
  readonly response: AdmissionReviewResponse;
  readonly json: string;
  readonly decision: Decision;
}

/** The answer object is made when asked for (the server sends `json` and never needs it). */
class Decided implements AdmissionDecided {
  readonly decision: Decision;
  readonly json: string;
  readonly #review: AdmissionReview;
  readonly #patch: readonly JsonPatchOp[];
  #response: AdmissionReviewResponse | undefined;
  constructor(review: AdmissionReview, decision: Decision, patch: readonly JsonPatchOp[]) {
    this.#review = review;
    this.#patch = patch;
    this.decision = decision;
    this.json = admissionResponseJson(review, decision, patch);
  }
  get response(): AdmissionReviewResponse {
    return (this.#response ??= admissionResponse(this.#review, this.decision, this.#patch));
  }
}

/** As decideAdmission, always a promise. */
export async function reviewAdmission(
  review: AdmissionReview,
  lookup: ImageLookup,
  policy: Policy,
  opts: ReviewOptions & { mutate: boolean },
): Promise<AdmissionDecided> {
  return decideAdmission(review, lookup, policy, opts);
}
