import type { Artifact } from '../../domain/index.ts';

/** One layer of an image, ready to be streamed. */
export interface LayerSource {
  /** Verified content key for the layer cache (blob digest, or the verified diff ID). */
  cacheKey: string;
  /** Recorded on the files the layer contributes (FsFile.layer). */
  id: string;
  /** Names the layer in errors and notes. */
  what: string;
  /** The raw (possibly compressed), not yet verified bytes. */
  openRaw(): Promise<RawLayer>;
  /** Expected digest of the raw bytes (the blob digest); checked while they stream. */
  digest?: string;
  /**
   * Expected sha256 of the decompressed tar (the config's diff ID), checked while it streams: set when
   * nothing else verifies the content (docker-archive layers).
   */
  verifyDiffId?: string;
  /** The config's diff ID for a layer whose blob digest is verified; hashed only with `verifyDiffIds`. */
  claimedDiffId?: string;
  /** Raw size in bytes: more is an error as soon as it happens, less at the end. */
  size?: number;
}

/** Where a layer's raw bytes come from: a byte range of a local file, or a stream (the network). */
export type RawLayer =
  | { file: { path: string; start: number; length: number } }
  /** `transient`: a chunk is valid only until the next one is asked for (copy what you keep). */
  | { stream: AsyncIterable<Buffer>; transient?: boolean };

export interface ImageSource {
  artifact: Artifact;
  layers: LayerSource[];
  notes: string[];
}
