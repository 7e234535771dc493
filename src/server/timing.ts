/**
 * The timing model: the API server says how long it will wait (`?timeout=10s` on the webhook URL, as a
 * Go duration); we answer before min(timeout − margin, 0.8 × timeout), so the answer (even a
 * `pending` one) always arrives before the API server gives up and applies its failurePolicy.
 */
import { parseDuration } from '../config/server-schema.ts';

/** The API server never waits longer than this for a validating webhook; ImagePolicyWebhook is not bounded, we are. */
export const MAX_TIMEOUT_MS = 60_000;
/** Below this the budget is not worth racing: answer from the cache or pending at once. */
export const MIN_BUDGET_MS = 50;

/** `?timeout=` value → ms, or undefined when absent or not a duration (then the route default applies). */
export function parseTimeoutParam(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length > 32) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) return undefined;
  return Math.min(ms, MAX_TIMEOUT_MS);
}

/** How long we may work on a request the API server will wait `timeoutMs` for. */
export function answerBudget(timeoutMs: number, marginMs: number): number {
  return Math.max(MIN_BUDGET_MS, Math.min(timeoutMs - marginMs, 0.8 * timeoutMs));
}
