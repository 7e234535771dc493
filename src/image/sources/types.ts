import type { Artifact } from '../../domain/index.ts';

/** One layer of an image, ready to be streamed. */
export interface LayerSource {
  /** Verified content key for the layer cache (blob digest, or the verified diff ID). */
  cacheKey: string;
  /** Recorded on the files the layer contributes (FsFile.layer). */
  id: string;
  /** Names the layer in errors and notes. */
  what: string;
  /** Raw (possibly compressed) bytes; the stream throws at the end unless its digest/size match. */
  open(): Promise<AsyncIterable<Buffer>>;
  /** Compare the digest of the decompressed tar with this diff ID (docker-archive). */
  verifyDiffId?: string;
  size?: number;
}

export interface ImageSource {
  artifact: Artifact;
  layers: LayerSource[];
  notes: string[];
}
