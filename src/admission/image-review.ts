/**
 * imagepolicy.k8s.io/v1alpha1 ImageReview: what the ImagePolicyWebhook admission plugin POSTs (and what
 * the original Flask example's curl sends), and its answer.
 *
 * Request (Kubernetes 1.25 on the wire):
 *   {"kind":"ImageReview","apiVersion":"imagepolicy.k8s.io/v1alpha1","metadata":{"creationTimestamp":null},
 *    "spec":{"containers":[{"image":"ghcr.io/acme/a:2"},{"image":"b"}],
 *            "annotations":{"mycluster.image-policy.k8s.io/ticket-1234":"break-glass"},"namespace":"default"},
 *    "status":{"allowed":false}}
 * Response:
 *   {"apiVersion":"imagepolicy.k8s.io/v1alpha1","kind":"ImageReview",
 *    "status":{"allowed":false,"reason":"…","auditAnnotations":{…},
 *              "results":[{"image":"b","allowed":false,"reason":"…"}]}}
 *
 * `status.results` is the original example's per-image list (the API server ignores it); `reason` is set
 * only when denied, as the API documents. Go's `omitempty` means an empty image arrives as `{}` and
 * absent lists as missing keys: both are accepted.
 */
import { z } from 'zod';
import type { Decision, Policy } from '../domain/policy.ts';
import { breakGlassAnnotation, combine, noImageDecision } from '../policy/index.ts';
import { decideImages, thenMaybe, type MaybePromise } from './lookup.ts';
import { isStringRecord } from './record.ts';
import { ProtocolError, type ImageLookup, type ReviewOptions } from './types.ts';
import { zodProblem } from './zod-problem.ts';

export const IMAGE_REVIEW_API_VERSION = 'imagepolicy.k8s.io/v1alpha1';
export const IMAGE_REVIEW_KIND = 'ImageReview';
/** More containers than any pod can have (the API server's object size limit is ~1.5 MB anyway). */
export const MAX_CONTAINERS = 1000;
export const MAX_ANNOTATIONS = 1000;

/**
 * Only these annotations reach the webhook through a real API server (its filter is
 * `strings.Contains(key, ".image-policy.k8s.io/")`); we filter the same way so a curl test behaves like
 * a cluster.
 */
export const IMAGE_POLICY_ANNOTATION = /\.image-policy\.k8s\.io\//;

const containerSchema = z.looseObject({ image: z.string().optional() });

const imageReviewSchema = z.looseObject({
  apiVersion: z.literal(IMAGE_REVIEW_API_VERSION),
  kind: z.literal(IMAGE_REVIEW_KIND),
  metadata: z.looseObject({}).nullish(),
  spec: z
    .looseObject({
      containers: z.array(containerSchema).max(MAX_CONTAINERS).nullish(),
      annotations: z
        .record(z.string(), z.string())
        .nullish()
        .refine((a) => !a || Object.keys(a).length <= MAX_ANNOTATIONS, `at most ${MAX_ANNOTATIONS} annotations`),
      namespace: z.string().max(253).nullish(),
    })
    .nullish(),
  status: z.unknown().optional(),
});

/** A validated ImageReview request, read-only. */
export interface ImageReview {
  readonly apiVersion: typeof IMAGE_REVIEW_API_VERSION;
  readonly kind: typeof IMAGE_REVIEW_KIND;
  readonly spec: {
    /** Images exactly as written in the pod, in the API server's order (containers, then init containers). */
    readonly containers: readonly { readonly image: string }[];
    /** Only `*.image-policy.k8s.io/*` keys. */
    readonly annotations: Readonly<Record<string, string>>;
    readonly namespace?: string;
  };
}

/** The envelope check: not an object → 400; another apiVersion/kind → 422; wrong field types → 400. */
export function checkEnvelope(body: unknown, apiVersions: readonly string[], kind: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ProtocolError(`request body must be a JSON object (a ${kind})`, 400, 'ADMISSION_BAD_REQUEST');
  }
  const o = body as Record<string, unknown>;
  const av = o['apiVersion'];
  const k = o['kind'];
  if (typeof av !== 'string' || typeof k !== 'string' || !apiVersions.includes(av) || k !== kind) {
    const got = `${typeof av === 'string' ? av.slice(0, 80) : '(none)'} ${typeof k === 'string' ? k.slice(0, 80) : '(none)'}`;
    throw new ProtocolError(`expected apiVersion ${apiVersions.join(' or ')} kind ${kind}, got ${got}`, 422, 'ADMISSION_WRONG_KIND');
  }
  return o;
}

type SpecData = NonNullable<z.infer<typeof imageReviewSchema>['spec']>;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The spec as `imageReviewSchema` would give it, for a review of the common shape, by plain checks;
 * undefined for anything else (then the schema decides and names the problem). Accepts nothing the
 * schema refuses.
 */
function fastSpec(o: Record<string, unknown>): SpecData | undefined {
  const md = o['metadata'];
  if (md !== undefined && md !== null && !isPlainObject(md)) return undefined;
  const spec = o['spec'];
  if (spec === undefined || spec === null) return {};
  if (!isPlainObject(spec)) return undefined;
  const cs = spec['containers'];
  const an = spec['annotations'];
  const ns = spec['namespace'];
  if (cs !== undefined && cs !== null) {
    if (!Array.isArray(cs) || cs.length > MAX_CONTAINERS) return undefined;
    for (const c of cs) if (!isPlainObject(c) || (c['image'] !== undefined && typeof c['image'] !== 'string')) return undefined;
  }
  if (an !== undefined && an !== null && !isStringRecord(an, MAX_ANNOTATIONS)) return undefined;
  if (ns !== undefined && ns !== null && !(typeof ns === 'string' && ns.length <= 253)) return undefined;
  return { containers: cs as SpecData['containers'], annotations: an as SpecData['annotations'], namespace: ns as SpecData['namespace'] };
}

/**
 * Validates an ImageReview (the server has parsed the JSON). Throws ProtocolError. `via: 'schema'`
 * skips the plain-check fast path (tests compare both).
 */
export function parseImageReview(body: unknown, via: 'fast' | 'schema' = 'fast'): ImageReview {
  const o = checkEnvelope(body, [IMAGE_REVIEW_API_VERSION], IMAGE_REVIEW_KIND);
  let spec = via === 'fast' ? fastSpec(o) : undefined;
  if (spec === undefined) {
    const r = imageReviewSchema.safeParse(body);
    if (!r.success) throw new ProtocolError(`invalid ImageReview: ${zodProblem(r.error)}`, 400, 'ADMISSION_BAD_REQUEST');
    spec = r.data.spec ?? {};
  }
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.annotations ?? {})) if (IMAGE_POLICY_ANNOTATION.test(k)) annotations[k] = v;
  const out: { apiVersion: typeof IMAGE_REVIEW_API_VERSION; kind: typeof IMAGE_REVIEW_KIND; spec: ImageReview['spec'] } = {
    apiVersion: IMAGE_REVIEW_API_VERSION,
    kind: IMAGE_REVIEW_KIND,
    spec:
      spec.namespace
        ? { containers: (spec.containers ?? []).map((c) => ({ image: c.image ?? '' })), annotations, namespace: spec.namespace }
        : { containers: (spec.containers ?? []).map((c) => ({ image: c.image ?? '' })), annotations },
  };
  return out;
}

export interface ImageReviewResult {
  image: string;
  allowed: boolean;
  reason: string;
  digest?: string;
}

export interface ImageReviewResponse {
  apiVersion: typeof IMAGE_REVIEW_API_VERSION;
  kind: typeof IMAGE_REVIEW_KIND;
  status: { allowed: boolean; reason?: string; auditAnnotations?: Record<string, string>; results: ImageReviewResult[] };
}

/** Answers (object and JSON) of memoised decisions (frozen: the policy's decision memo gives them). */
const answers = new WeakMap<Decision, { response: ImageReviewResponse; json: string }>();

/**
 * The answer to an ImageReview, as an object and as its JSON (`json === JSON.stringify(response)`).
 * Both are made once per memoised (frozen) decision; callers must not change them.
 */
export function imageReviewAnswer(decision: Decision): { response: ImageReviewResponse; json: string } {
  const frozen = Object.isFrozen(decision);
  if (frozen) {
    const hit = answers.get(decision);
    if (hit) return hit;
  }
  const response = imageReviewResponse(decision);
  const a = { response, json: JSON.stringify(response) };
  if (frozen) answers.set(decision, a);
  return a;
}

/** The ImageReview JSON for a decision. In warn mode the would-be denials go to auditAnnotations (no warnings field). */
export function imageReviewResponse(decision: Decision): ImageReviewResponse {
  const results = decision.images.map((v) => {
    const r: ImageReviewResult = { image: v.image, allowed: v.allowed, reason: v.reason };
    if (v.digest) r.digest = v.digest;
    return r;
  });
  const audit = { ...decision.auditAnnotations };
  if (decision.warnings.length) audit['warnings'] = decision.warnings.join(' | ').slice(0, 1024);
  const status: ImageReviewResponse['status'] = decision.allowed
    ? { allowed: true, auditAnnotations: audit, results }
    : { allowed: false, reason: decision.reason, auditAnnotations: audit, results };
  return { apiVersion: IMAGE_REVIEW_API_VERSION, kind: IMAGE_REVIEW_KIND, status };
}

/**
 * Decide an ImageReview: every image checked (any deny ⇒ deny), no containers ⇒ deny, never throws.
 * Synchronous when every image is decided without waiting (pre-scan checks, `lookup.cached`).
 */
export function decideImageReview(review: ImageReview, lookup: ImageLookup, policy: Policy, opts: ReviewOptions): MaybePromise<ImageReviewDecided> {
  const images = review.spec.containers.map((c) => c.image);
  if (images.length === 0) {
    const decision = noImageDecision('no-containers', false, 'no containers provided', policy);
    return { ...imageReviewAnswer(decision), decision };
  }
  return thenMaybe(decideImages(images, review.spec.namespace, review.spec.annotations, lookup, policy, opts), (verdicts) => {
    const bg = verdicts.some((v) => v.code === 'break-glass') ? breakGlassAnnotation(review.spec.annotations, policy) : undefined;
    const decision = combine(verdicts, policy, bg ? { breakGlass: bg } : {});
    return { ...imageReviewAnswer(decision), decision };
  });
}

/** A decided ImageReview: the answer, its JSON (exactly `JSON.stringify(response)`), the decision. */
export interface ImageReviewDecided {
  response: ImageReviewResponse;
  json: string;
  decision: Decision;
}

/** As decideImageReview, always a promise. */
export async function reviewImageReview(review: ImageReview, lookup: ImageLookup, policy: Policy, opts: ReviewOptions): Promise<ImageReviewDecided> {
  return decideImageReview(review, lookup, policy, opts);
}
