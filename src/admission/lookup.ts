/**
 * Shared by both review kinds: decide every image of a request (pre-scan checks, then one lookup per
 * distinct image, bounded by the deadline), never throwing.
 */
import type { ImageVerdict, Policy } from '../domain/policy.ts';
import { evaluateFindings, preScanVerdict } from '../policy/index.ts';
import type { ImageCheck, ImageLookup, LookupContext, ReviewOptions } from './types.ts';

/** Calls the port; a rejection becomes an error check, a missed deadline a pending one. */
export async function boundedLookup(lookup: ImageLookup, image: string, ctx: LookupContext): Promise<ImageCheck> {
  const remaining = ctx.deadline - Date.now();
  if (remaining <= 0) return { state: 'pending', image, reason: 'no time left before the deadline' };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ImageCheck>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'pending', image, reason: 'scan did not finish before the deadline' }), remaining);
    timer.unref?.();
  });
  const call = (async (): Promise<ImageCheck> => {
    try {
      const r: unknown = await lookup(image, ctx);
      // The verdict names the image as written in the pod, whatever the lookup echoes.
      return isCheck(r) ? { ...r, image } : { state: 'error', image, code: 'LOOKUP_INVALID', reason: 'internal error (invalid lookup result)' };
    } catch {
      // Never send exception text: the server logs its own errors; the client gets a curated line.
      return { state: 'error', image, code: 'LOOKUP_FAILED', reason: 'internal error' };
    }
  })();
  try {
    return await Promise.race([call, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function isCheck(r: unknown): r is ImageCheck {
  if (typeof r !== 'object' || r === null) return false;
  const c = r as { state?: unknown; digest?: unknown; findings?: unknown; code?: unknown; reason?: unknown };
  if (c.digest !== undefined && typeof c.digest !== 'string') return false;
  if (c.state === 'scanned') return typeof c.digest === 'string' && Array.isArray(c.findings);
  if (c.state === 'pending') return typeof c.reason === 'string';
  if (c.state === 'error') return typeof c.code === 'string' && typeof c.reason === 'string';
  return false;
}

function safeEvaluate(check: ImageCheck, namespace: string | undefined, policy: Policy, now: Date): ImageVerdict {
  try {
    return evaluateFindings(check, namespace, policy, now);
  } catch {
    const fallback: ImageCheck = { state: 'error', image: check.image, code: 'FINDINGS_INVALID', reason: 'internal error (unreadable scan result)' };
    if (check.digest) fallback.digest = check.digest;
    return evaluateFindings(fallback, namespace, policy, now);
  }
}

/** A value now, or later. The cached path of a review stays synchronous end to end. */
export type MaybePromise<T> = T | Promise<T>;

/** `f(x)` now when `x` is a value, after it when it is a promise. */
export function thenMaybe<T, U>(x: MaybePromise<T>, f: (v: T) => MaybePromise<U>): MaybePromise<U> {
  return x instanceof Promise ? x.then(f) : f(x);
}

/** What boundedLookup makes of a check the lookup gave (or of its failure): the same, synchronously. */
function knownCheck(lookup: ImageLookup, image: string, ctx: LookupContext): ImageCheck | undefined {
  if (ctx.deadline - Date.now() <= 0) return { state: 'pending', image, reason: 'no time left before the deadline' };
  const cached = lookup.cached;
  if (cached === undefined) return undefined;
  let r: unknown;
  try {
    r = cached(image, ctx);
  } catch {
    return { state: 'error', image, code: 'LOOKUP_FAILED', reason: 'internal error' };
  }
  if (r === undefined) return undefined;
  return isCheck(r) ? (r.image === image ? r : { ...r, image }) : { state: 'error', image, code: 'LOOKUP_INVALID', reason: 'internal error (invalid lookup result)' };
}

/**
 * Verdicts for `images` in order. Identical image strings share one lookup; images decided by the
 * pre-scan checks (invalid, excluded, break-glass, registry lists, digest) are never looked up.
 * Images the lookup knows at once (`lookup.cached`) are decided synchronously; when all are, so is
 * the result (no promise, no timer), otherwise the rest are looked up with the deadline.
 */
export function decideImages(
  images: readonly string[],
  namespace: string | undefined,
  annotations: Readonly<Record<string, string>>,
  lookup: ImageLookup,
  policy: Policy,
  opts: ReviewOptions,
): MaybePromise<ImageVerdict[]> {
  const ctx: LookupContext = { deadline: opts.deadline };
  if (namespace !== undefined) ctx.namespace = namespace;
  if (opts.signal) ctx.signal = opts.signal;
  if (images.length === 1) {
    // The common ImageReview: one image, no map.
    const image = images[0] as string;
    const v = preScanVerdict(image, namespace, annotations, policy) ?? known(lookup, image, ctx, namespace, policy, opts.now);
    return v instanceof Promise ? v.then((x) => [x]) : [v];
  }
  const decided = new Map<string, ImageVerdict | Promise<ImageVerdict>>();
  let waiting = false;
  for (const image of images) {
    if (decided.has(image)) continue;
    const v = preScanVerdict(image, namespace, annotations, policy) ?? known(lookup, image, ctx, namespace, policy, opts.now);
    if (v instanceof Promise) waiting = true;
    decided.set(image, v);
  }
  if (!waiting) return images.map((i) => decided.get(i) as ImageVerdict);
  return (async () => {
    for (const [image, p] of decided) if (p instanceof Promise) decided.set(image, await p);
    return images.map((i) => decided.get(i) as ImageVerdict);
  })();
}

/** The verdict for an image that passed the pre-scan checks: now when the lookup knows it, else looked up. */
function known(lookup: ImageLookup, image: string, ctx: LookupContext, namespace: string | undefined, policy: Policy, now: Date): ImageVerdict | Promise<ImageVerdict> {
  const c = knownCheck(lookup, image, ctx);
  if (c !== undefined) return safeEvaluate(c, namespace, policy, now);
  return boundedLookup(lookup, image, ctx).then((x) => safeEvaluate(x, namespace, policy, now));
}
