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

/**
 * Verdicts for `images` in order. Identical image strings share one lookup; images decided by the
 * pre-scan checks (invalid, excluded, break-glass, registry lists, digest) are never looked up.
 */
export async function decideImages(
  images: readonly string[],
  namespace: string | undefined,
  annotations: Readonly<Record<string, string>>,
  lookup: ImageLookup,
  policy: Policy,
  opts: ReviewOptions,
): Promise<ImageVerdict[]> {
  const pending = new Map<string, Promise<ImageVerdict>>();
  const ctx: LookupContext = { deadline: opts.deadline };
  if (namespace !== undefined) ctx.namespace = namespace;
  if (opts.signal) ctx.signal = opts.signal;
  for (const image of images) {
    if (pending.has(image)) continue;
    const pre = preScanVerdict(image, namespace, annotations, policy);
    pending.set(
      image,
      pre ? Promise.resolve(pre) : boundedLookup(lookup, image, ctx).then((c) => safeEvaluate(c, namespace, policy, opts.now)),
    );
  }
  const decided = new Map<string, ImageVerdict>();
  for (const [image, p] of pending) decided.set(image, await p);
  return images.map((i) => decided.get(i) as ImageVerdict);
}
