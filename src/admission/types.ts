/**
 * The ports between admission/ (pure decisions over validated wire types) and server/ (HTTP, cache,
 * worker pool, backends). admission/ never does I/O itself: it asks an `ImageLookup` for each image
 * that passed the pre-scan checks, with a deadline.
 */
import type { Finding } from '../domain/finding.ts';
import { ScannerError } from '../shared/errors.ts';

/** What the server knows about one image at the moment it must answer. */
export type ImageCheck =
  | { state: 'scanned'; image: string; digest: string; findings: Finding[]; fromCache: boolean }
  /** The scan did not finish before the deadline (it keeps running; a retry is answered from the cache). */
  | { state: 'pending'; image: string; digest?: string; reason: string }
  /** Registry or scanner failure. `code` is a stable ScannerError code (bounded), `reason` is safe to show. */
  | { state: 'error'; image: string; digest?: string; code: string; reason: string };

export interface LookupContext {
  namespace?: string;
  /** Epoch ms by which the lookup must resolve (answer 'pending' rather than overrun it). */
  deadline: number;
  /** Aborted when the request is abandoned; the lookup may keep its scan running for the cache. */
  signal?: AbortSignal;
}

/**
 * Image as written in the pod → its check. Must not reject; if it does, or does not resolve by the
 * deadline, admission/ treats it as error / pending respectively.
 */
export type ImageLookup = (image: string, ctx: LookupContext) => Promise<ImageCheck>;

/**
 * A request the webhook cannot read (wrong apiVersion/kind, missing uid, wrong JSON types). The server
 * answers `statusCode` with `{code, message}`; the message is safe for clients (no exception text).
 * 400: malformed shape; 422: well-formed JSON of the wrong apiVersion/kind.
 */
export class ProtocolError extends ScannerError {
  readonly statusCode: number;
  constructor(message: string, statusCode = 400, code = 'ADMISSION_BAD_REQUEST') {
    super(code, message);
    this.name = 'ProtocolError';
    this.statusCode = statusCode;
  }
}

/** One image found in an object, with where it came from (for JSONPatch and messages). */
export interface ExtractedImage {
  image: string;
  containerType: 'containers' | 'initContainers' | 'ephemeralContainers';
  /** Container name, when the object has one. */
  name?: string;
  /** RFC 6901 JSON pointer to the `image` field inside the request's object ('/spec/template/spec/containers/0/image'). */
  pointer: string;
}

/** How the admission review functions are told the time and the deadline. */
export interface ReviewOptions {
  now: Date;
  /** Epoch ms by which the response must be ready (safely below the API server's timeout). */
  deadline: number;
  signal?: AbortSignal;
}
