/** A registry image as an ImageSource: manifest (index → platform), verified config, layer streams. */
import { ScannerError } from '../../shared/errors.ts';
import { verifyBuffer } from '../digest.ts';
import type { LayerCache } from '../cache.ts';
import type { Platform } from '../manifest.ts';
import { familiarReference, formatReference, type ImageRef } from '../reference.ts';
import type { RegistryClient } from '../registry/client.ts';
import { imageFromManifest, resolveManifest, type BlobStore } from './image.ts';
import type { ImageSource } from './types.ts';

export async function registrySource(
  input: string,
  ref: ImageRef,
  client: RegistryClient,
  platform: Platform,
  cache: LayerCache | undefined,
): Promise<ImageSource> {
  const what = formatReference(ref);
  const store: BlobStore = {
    what,
    openBlob: (desc, w) => client.fetchBlob(ref, desc, w),
    async readBlob(desc, max, w) {
      const cached = cache?.getBlob(desc.digest);
      if (cached) {
        try {
          verifyBuffer(cached, desc.digest, w);
          return cached;
        } catch {
          /* a tampered cache entry: fetch again */
        }
      }
      if (desc.size > max) throw new ScannerError('SIZE_LIMIT', `${w}: ${desc.size} bytes exceeds the ${max}-byte limit`);
      const buf = await client.fetchBlobBytes(ref, desc, max, w);
      cache?.putBlob(desc.digest, buf);
      return buf;
    },
    async readManifest(desc) {
      const m = await client.getManifest(ref, desc.digest);
      if (m.bytes.length !== desc.size) {
        throw new ScannerError('MANIFEST_INVALID', `${what}: manifest ${desc.digest} is ${m.bytes.length} bytes, the index says ${desc.size}`);
      }
      return m.bytes;
    },
  };
  const top = await client.getManifest(ref);
  const { manifest, digest } = await resolveManifest(store, { bytes: top.bytes, mediaType: top.mediaType, digest: top.digest }, platform);
  const repo = familiarReference({ registry: ref.registry, repository: ref.repository });
  const names: { name: string; repoTags?: string[]; repoDigests: string[] } = { name: input, repoDigests: [`${repo}@${top.digest}`] };
  if (ref.tag !== undefined) names.repoTags = [`${repo}:${ref.tag}`];
  return imageFromManifest(store, manifest, digest, names, async (d, w) => ({ stream: await client.fetchBlobRaw(ref, d, w, { transient: true }), transient: true }));
}
