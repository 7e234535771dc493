/**
 * Scan targets in skopeo's transport syntax. A string without a known transport prefix is a
 * registry reference.
 *
 *   docker-archive:PATH      `docker save` tarball
 *   oci-archive:PATH         an OCI image layout inside a tar
 *   oci:DIR[:TAG]            an OCI image layout directory (TAG = org.opencontainers.image.ref.name)
 *   rootfs:DIR               an unpacked filesystem
 *   docker://REF or REF      a registry image
 */
import { UserError } from '../shared/errors.ts';
import { clip, parseReference, type ImageRef } from './reference.ts';

export type Target =
  | { kind: 'registry'; input: string; ref: ImageRef }
  | { kind: 'docker-archive'; input: string; path: string }
  | { kind: 'oci-archive'; input: string; path: string }
  | { kind: 'oci-layout'; input: string; path: string; tag?: string }
  | { kind: 'rootfs'; input: string; path: string };

function needPath(input: string, transport: string, rest: string): string {
  if (!rest) throw new UserError(`invalid target "${clip(input)}": ${transport}: needs a path`, { code: 'TARGET_INVALID' });
  if (rest.includes('\0')) throw new UserError(`invalid target: path contains a NUL byte`, { code: 'TARGET_INVALID' });
  return rest;
}

/** Splits 'DIR:TAG' at the last colon whose right side is a valid ref name (skopeo's rule, simplified). */
function splitLayout(rest: string): { path: string; tag?: string } {
  const i = rest.lastIndexOf(':');
  if (i > 0) {
    const tag = rest.slice(i + 1);
    if (tag && !tag.includes('/') && /^[A-Za-z0-9_.@:+-]+$/.test(tag)) return { path: rest.slice(0, i), tag };
  }
  return { path: rest };
}

export function parseTarget(input: string): Target {
  if (typeof input !== 'string' || !input) throw new UserError('empty target', { code: 'TARGET_INVALID' });
  const m = /^([a-z-]+):(?!\/\/)/.exec(input);
  const transport = m?.[1];
  const rest = m ? input.slice(m[0].length) : '';
  switch (transport) {
    case 'docker-archive': {
      // skopeo allows docker-archive:PATH[:REF]; we read the whole archive's first image.
      return { kind: 'docker-archive', input, path: needPath(input, transport, rest) };
    }
    case 'oci-archive':
      return { kind: 'oci-archive', input, path: needPath(input, transport, rest) };
    case 'oci': {
      const { path, tag } = splitLayout(needPath(input, transport, rest));
      return tag === undefined ? { kind: 'oci-layout', input, path } : { kind: 'oci-layout', input, path, tag };
    }
    case 'rootfs':
      return { kind: 'rootfs', input, path: needPath(input, transport, rest) };
    default:
      break;
  }
  const ref = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
  return { kind: 'registry', input, ref: parseReference(ref) };
}
