/**
 * The image layer's public API. Everything else in src/image is internal.
 *
 *   analyzeTarget(target, selector, opts)  any target → artifact + merged, selector-filtered fs
 *   resolveDigest(reference, opts)         tag → manifest digest (HEAD, fast; for the admission server)
 *   RegistryClient                         generic OCI distribution client (manifests, verified blobs)
 *   parseReference / formatReference       strict OCI/Docker reference grammar
 */
import { ScannerError } from '../shared/errors.ts';
import { RegistryClient, type RegistryOptions } from './registry/client.ts';
import { formatReference, parseReference, type ImageRef } from './reference.ts';

export { analyzeTarget, type AnalyzeOptions, type AnalyzeResult, type AnalyzeStats, type ProgressEvent } from './analyze.ts';
export type { FileSelector, LayerAnalysis } from './layers.ts';
export { parseTarget, type Target } from './target.ts';
export {
  parseReference,
  formatReference,
  familiarReference,
  withDefaultTag,
  checkDigest,
  isDigest,
  DOCKER_HUB,
  type ImageRef,
} from './reference.ts';
export { RegistryClient, retryAfterMs, type RegistryOptions, type RetryPolicy, type ManifestResult } from './registry/client.ts';
export { loadDockerConfig, parseDockerConfig, credentialsFromPullSecret, defaultDockerConfigPath, type Credentials, type CredentialStore } from './registry/credentials.ts';
export { classifyAddress } from './registry/ssrf.ts';
export {
  MEDIA,
  MANIFEST_ACCEPT,
  parseManifest,
  parsePlatform,
  formatPlatform,
  selectPlatform,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type Platform,
} from './manifest.ts';
export { verified, verifyBuffer, sha256Digest } from './digest.ts';
export { decompress, detectCompression } from './decompress.ts';
export { LayerCache, LAYER_ANALYZER_VERSION } from './cache.ts';

/**
 * Tag → digest with one HEAD request (Docker-Content-Digest), falling back to GET + hash. A reference
 * that already has a digest is returned without contacting the registry (mediaType '').
 */
export async function resolveDigest(
  reference: string,
  opts: RegistryOptions = {},
): Promise<{ ref: ImageRef; digest: string; mediaType: string }> {
  const ref = parseReference(reference);
  if (ref.digest) return { ref, digest: ref.digest, mediaType: '' };
  const client = new RegistryClient(opts);
  try {
    const r = await client.resolve(ref);
    return { ref, digest: r.digest, mediaType: r.mediaType };
  } catch (err) {
    if (err instanceof ScannerError && !err.message.includes(formatReference(ref))) {
      throw new ScannerError(err.code, `${formatReference(ref)}: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    client.close();
  }
}
