/**
 * Content digests: verification of whole buffers and of streams (hashed as they pass, compared at
 * the end, so a mismatch is an error before anything is cached).
 */
import { createHash, type Hash } from 'node:crypto';
import { ScannerError } from '../shared/errors.ts';
import { checkDigest } from './reference.ts';

export function digestAlgorithm(digest: string): 'sha256' | 'sha512' {
  checkDigest(digest);
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function digestOf(data: Buffer, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

function mismatch(what: string, expected: string, actual: string): ScannerError {
  return new ScannerError(
    'DIGEST_MISMATCH',
    `${what}: digest mismatch (expected ${expected}, got ${actual}); the content was tampered with or corrupted`,
  );
}

/** Throws DIGEST_MISMATCH when `data` does not hash to `expected`. */
export function verifyBuffer(data: Buffer, expected: string, what: string): void {
  const actual = digestOf(data, digestAlgorithm(expected));
  if (actual !== expected) throw mismatch(what, expected, actual);
}

export interface StreamCheck {
  /** Expected digest of the bytes passing through, if known. */
  digest?: string;
  /** Expected size in bytes, if known: more bytes is an error as soon as it happens. */
  size?: number;
  /** Absolute cap on bytes, when the size is unknown. */
  maxBytes?: number;
  /** Names the thing in errors: 'layer sha256:ab… of docker.io/library/alpine:3.19'. */
  what: string;
}

/**
 * Passes chunks through, counting and hashing them; at the end checks size and digest. Consumers
 * must treat the data as unverified until the iteration finished without throwing.
 */
export async function* verified(src: AsyncIterable<Buffer>, check: StreamCheck): AsyncGenerator<Buffer> {
  const algo = check.digest ? digestAlgorithm(check.digest) : undefined;
  const hash: Hash | undefined = algo ? createHash(algo) : undefined;
  const limit = check.size ?? check.maxBytes ?? Number.MAX_SAFE_INTEGER;
  let n = 0;
  for await (const chunk of src) {
    n += chunk.length;
    if (n > limit) {
      throw new ScannerError(
        'SIZE_LIMIT',
        `${check.what}: larger than ${check.size !== undefined ? `its declared size (${check.size} bytes)` : `the ${limit}-byte limit`}`,
      );
    }
    hash?.update(chunk);
    yield chunk;
  }
  if (check.size !== undefined && n !== check.size) {
    throw new ScannerError('BLOB_TRUNCATED', `${check.what}: truncated (${n} of ${check.size} bytes)`);
  }
  if (hash && check.digest) {
    const actual = `${algo}:${hash.digest('hex')}`;
    if (actual !== check.digest) throw mismatch(check.what, check.digest, actual);
  }
}

/** Hashes chunks as they pass and reports the digest when the stream ends (diff IDs). */
export async function* hashing(src: AsyncIterable<Buffer>, done: (digest: string) => void): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  for await (const chunk of src) {
    hash.update(chunk);
    yield chunk;
  }
  done(`sha256:${hash.digest('hex')}`);
}

export function shortDigest(d: string): string {
  const i = d.indexOf(':');
  return i >= 0 ? `${d.slice(0, i + 13)}` : d.slice(0, 12);
}
