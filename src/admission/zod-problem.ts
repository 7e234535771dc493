/** One line naming the first problem of a wire payload: 'spec.containers[0].image: expected string'. */
import type { z } from 'zod';

export function zodProblem(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p).slice(0, 64)))
    .join('.')
    .replace(/\.\[/g, '[');
  const msg = issue.message.replace(/[\r\n]+/g, ' ').slice(0, 200);
  const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more)` : '';
  // eslint-disable-next-line no-control-regex
  return `${path ? `${path}: ` : ''}${msg}${more}`.replace(/[\x00-\x1f\x7f]/g, '?');
}
