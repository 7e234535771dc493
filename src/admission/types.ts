/**
 * The ports between admission/ (pure decisions over validated wire types) and server/ (HTTP, cache,
 * worker pool, backends). admission/ never does I/O itself: it asks an `ImageLookup` for each image
 * that passed the pre-scan checks, with a deadline.
 */
import { ScannerError } from '../shared/errors.ts';

/** The lookup port's types live in domain/ so policy/ can use them too. */
export type { ImageCheck, ImageLookup, LookupContext } from '../domain/policy.ts';

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
