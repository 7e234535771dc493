/**
 * Error types shared by every stage. Messages of UserError and ScannerError are written for people:
 * one line saying what failed and why. The CLI prints `error: <message>`; the server never sends
 * exception text to clients.
 */

/** A failure with a stable code, safe to show to a user. Wrap lower errors as `cause`. */
export class ScannerError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScannerError';
    this.code = code;
  }
}

/** Bad input from the user (flags, config, file paths): exit 1, no stack trace. */
export class UserError extends ScannerError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'USER_INPUT', message, options);
    this.name = 'UserError';
  }
}

/** Findings remain after filters and the user asked for a non-zero exit code. */
export class PolicyViolation extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'PolicyViolation';
    this.exitCode = exitCode;
  }
}

/** One line describing any thrown value, for logs and CLI output (never `{}` for an Error). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const msg = err.message || err.name;
    if (err instanceof ScannerError) return msg;
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(err);
}
