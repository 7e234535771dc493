/**
 * Pulling Trivy's DB, an OCI artifact (`ghcr.io/aquasecurity/trivy-db:2` or any mirror of it), with
 * the project's own registry client: docker-config credentials and token/basic auth, insecure
 * registries, retries with backoff, timeouts, the SSRF guard. The manifest (or an index of
 * manifests) must carry a layer of media type `application/vnd.aquasec.trivy.db.layer.v1.tar+gzip`;
 * that blob is streamed with its size and digest checked as it passes — a mismatch fails the stream
 * at its end, before anything is installed (the caller stages into a directory it then discards).
 */
import { Readable } from 'node:stream';
import { ScannerError, UserError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { RegistryClient } from '../../image/registry/client.ts';
import { MEDIA, type Descriptor, type ImageManifest } from '../../image/manifest.ts';
import { formatReference, parseReference, type ImageRef } from '../../image/reference.ts';

export const TRIVY_DB_LAYER_MEDIA_TYPE = 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip';
/** The compressed DB is ~70 MB today; refuse a layer claiming more than this unless told otherwise. */
export const DEFAULT_MAX_DB_BLOB_BYTES = 2 * 1024 ** 3;
const MAX_INDEX_CHILDREN = 16;

export interface PullProgress {
  phase: 'trivy-db';
  done: number;
  total?: number;
  item?: string;
}

export interface PullOptions {
  insecure?: boolean | readonly string[];
  registryConfig?: string;
  /** Registries (and token realms) on loopback/private addresses: the CLI allows them (mirrors), a server decides. Default true. */
  allowPrivateRegistries?: boolean;
  logger?: Logger;
  signal?: AbortSignal;
  /** Largest compressed layer accepted (default 2 GiB). */
  maxBytes?: number;
  /** Called as bytes arrive (the CLI draws a bar on a TTY). */
  onProgress?: (p: PullProgress) => void;
  /** Injected for tests and for callers that share one client. */
  client?: RegistryClient;
}

function dbLayer(m: ImageManifest): Descriptor | undefined {
  return m.layers.find((l) => l.mediaType === TRIVY_DB_LAYER_MEDIA_TYPE);
}

function wrongMediaType(what: string, found: readonly string[]): ScannerError {
  const list = [...new Set(found)].slice(0, 5).join(', ') || 'none';
  return new ScannerError('TRIVYDB_MEDIA_TYPE', `${what} is not a Trivy DB artifact: no layer of media type ${TRIVY_DB_LAYER_MEDIA_TYPE} (found: ${list})`);
}

/** The manifest and DB layer of `ref`, following an index to the child that carries the DB. */
async function resolveDbLayer(client: RegistryClient, ref: ImageRef, what: string): Promise<{ layer: Descriptor; digest: string }> {
  const top = await client.getManifest(ref);
  if (top.manifest.kind === 'manifest') {
    const layer = dbLayer(top.manifest);
    if (!layer) throw wrongMediaType(what, top.manifest.layers.map((l) => l.mediaType));
    return { layer, digest: top.digest };
  }
  const seen: string[] = [];
  const children = top.manifest.manifests.filter((d) => d.mediaType === MEDIA.ociManifest || d.mediaType === MEDIA.dockerManifest).slice(0, MAX_INDEX_CHILDREN);
  for (const child of children) {
    const m = await client.getManifest(ref, child.digest);
    if (m.manifest.kind !== 'manifest') continue;
    const layer = dbLayer(m.manifest);
    if (layer) return { layer, digest: m.digest };
    seen.push(...m.manifest.layers.map((l) => l.mediaType));
  }
  throw wrongMediaType(what, seen);
}

/**
 * The DB layer (db.tar.gz: trivy.db + metadata.json) of `repository` as a stream. The stream fails
 * with DIGEST_MISMATCH / BLOB_TRUNCATED / SIZE_LIMIT when the bytes are not the ones the manifest names.
 */
export async function pullTrivyDbArtifact(repository: string, opts: PullOptions = {}): Promise<Readable> {
  let ref: ImageRef;
  try {
    ref = parseReference(repository);
  } catch (err) {
    throw new UserError(`--repository ${repository}: ${err instanceof Error ? err.message : String(err)}`, { code: 'TRIVYDB_REPOSITORY', cause: err });
  }
  if (ref.tag === undefined && ref.digest === undefined) ref = { ...ref, tag: '2' };
  const what = formatReference(ref);
  const own = !opts.client;
  const client =
    opts.client ??
    new RegistryClient({
      allowPrivateRegistries: opts.allowPrivateRegistries ?? true,
      ...(opts.insecure !== undefined ? { insecure: opts.insecure } : {}),
      ...(opts.registryConfig !== undefined ? { registryConfig: opts.registryConfig } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  try {
    const { layer, digest } = await resolveDbLayer(client, ref, what);
    const max = opts.maxBytes ?? DEFAULT_MAX_DB_BLOB_BYTES;
    if (layer.size > max) throw new ScannerError('TRIVYDB_TOO_LARGE', `${what}: the DB layer is ${layer.size} bytes, more than the ${max}-byte limit`);
    opts.logger?.info({ repository: what, manifest: digest, layer: layer.digest, size: layer.size }, 'pulling the Trivy DB');
    const body = await client.fetchBlob(ref, layer, `Trivy DB layer ${layer.digest} of ${what}`);
    const onProgress = opts.onProgress;
    async function* counted(): AsyncGenerator<Buffer> {
      let done = 0;
      try {
        for await (const chunk of body) {
          done += chunk.length;
          onProgress?.({ phase: 'trivy-db', done, total: layer.size, item: layer.digest });
          yield chunk;
        }
      } finally {
        if (own) client.close();
      }
    }
    return Readable.from(counted(), { objectMode: false });
  } catch (err) {
    if (own) client.close();
    throw err;
  }
}
