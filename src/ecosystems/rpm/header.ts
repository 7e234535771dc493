/**
 * rpm header blobs as the rpmdb stores them (no lead, no magic): big-endian
 *   int32 il (index entries), int32 dl (data bytes), il × {int32 tag, uint32 type, int32 offset, uint32 count},
 *   then dl bytes of data. Every offset comes from the image, so every read is bounds-checked.
 * Reference: rpm's lib/header.c (headerImport / hdrblobInit) and the LSB package format chapter.
 */

export const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  SIZE: 1009,
  VENDOR: 1011,
  LICENSE: 1014,
  ARCH: 1022,
  SOURCERPM: 1044,
  MODULARITYLABEL: 5096,
} as const;

const TYPE_INT32 = 4;
const NONE = '(none)';
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;

/** rpm's own sanity limits (HEADER_TAGS_MAX / HEADER_DATA_MAX in header_internal.h). */
const MAX_TAGS = 0xffff;
const MAX_DATA = 0x0fffffff;

export class RpmHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpmHeaderError';
  }
}

export interface RpmHeaderInfo {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  arch?: string;
  sourceRpm?: string;
  license?: string;
  vendor?: string;
  size?: number;
  modularityLabel?: string;
}

interface Entry {
  type: number;
  offset: number;
  count: number;
}

/** The index entries of the tags we read, bounds-checked against the data store. */
function readIndex(blob: Uint8Array): { entries: Map<number, Entry>; data: number; dl: number } {
  if (blob.length < 8) throw new RpmHeaderError(`header blob too short (${blob.length} bytes)`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const il = view.getInt32(0);
  const dl = view.getInt32(4);
  if (il < 1 || il > MAX_TAGS) throw new RpmHeaderError(`bad header index count ${il}`);
  if (dl < 0 || dl > MAX_DATA) throw new RpmHeaderError(`bad header data length ${dl}`);
  const data = 8 + il * 16;
  if (data + dl > blob.length) throw new RpmHeaderError(`header blob truncated: needs ${data + dl} bytes, has ${blob.length}`);
  const wanted = new Set<number>(Object.values(TAG));
  const entries = new Map<number, Entry>();
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const tag = view.getInt32(at);
    if (!wanted.has(tag)) continue;
    const type = view.getUint32(at + 4);
    const offset = view.getInt32(at + 8);
    const count = view.getUint32(at + 12);
    if (offset < 0 || offset >= dl) throw new RpmHeaderError(`tag ${tag}: offset ${offset} outside data (${dl} bytes)`);
    // Entries after the region (the "dribble") override earlier ones, as in headerImport.
    entries.set(tag, { type, offset, count });
  }
  return { entries, data, dl };
}

function readString(blob: Uint8Array, base: number, dl: number, e: Entry | undefined, tag: number): string | undefined {
  if (!e) return undefined;
  if (e.type !== TYPE_STRING && e.type !== TYPE_STRING_ARRAY && e.type !== TYPE_I18NSTRING) {
    throw new RpmHeaderError(`tag ${tag}: expected a string, found type ${e.type}`);
  }
  const start = base + e.offset;
  const end = base + dl;
  const nul = blob.indexOf(0, start);
  if (nul < 0 || nul >= end) throw new RpmHeaderError(`tag ${tag}: unterminated string`);
  return Buffer.from(blob.buffer, blob.byteOffset + start, nul - start).toString('utf8');
}

function readInt32(view: DataView, base: number, dl: number, e: Entry | undefined, tag: number): number | undefined {
  if (!e) return undefined;
  if (e.type !== TYPE_INT32 || e.count < 1) throw new RpmHeaderError(`tag ${tag}: expected int32, found type ${e.type}`);
  if (e.offset + 4 > dl) throw new RpmHeaderError(`tag ${tag}: int32 outside data`);
  return view.getInt32(base + e.offset);
}

/** Decode the tags Portcullis uses. Throws RpmHeaderError on a malformed blob. */
export function parseRpmHeader(blob: Uint8Array): RpmHeaderInfo {
  const { entries, data, dl } = readIndex(blob);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const str = (tag: number): string | undefined => readString(blob, data, dl, entries.get(tag), tag);
  const name = str(TAG.NAME);
  if (!name) throw new RpmHeaderError('header has no NAME');
  const info: RpmHeaderInfo = { name, version: str(TAG.VERSION) ?? '', release: str(TAG.RELEASE) ?? '' };
  const epoch = readInt32(view, data, dl, entries.get(TAG.EPOCH), TAG.EPOCH);
  if (epoch !== undefined) info.epoch = epoch;
  const size = readInt32(view, data, dl, entries.get(TAG.SIZE), TAG.SIZE);
  if (size !== undefined) info.size = size;
  const optional: [keyof RpmHeaderInfo & string, number][] = [
    ['arch', TAG.ARCH],
    ['sourceRpm', TAG.SOURCERPM],
    ['license', TAG.LICENSE],
    ['vendor', TAG.VENDOR],
    ['modularityLabel', TAG.MODULARITYLABEL],
  ];
  for (const [key, tag] of optional) {
    const v = str(tag);
    // rpm stores '(none)' for a missing SOURCERPM/VENDOR (imported gpg-pubkey headers); go-rpmdb
    // and Trivy read that as absent
    if (v !== undefined && v !== '' && v !== NONE) (info as unknown as Record<string, string>)[key] = v;
  }
  return info;
}

/** 'openssl-1.0.2k-16.el7.src.rpm' → { name: 'openssl', version: '1.0.2k', release: '16.el7' }. */
export function splitSourceRpm(file: string): { name: string; version: string; release: string } | undefined {
  const base = file.replace(/\.(?:no)?src\.rpm$/, '');
  const r = base.lastIndexOf('-');
  if (r <= 0) return undefined;
  const v = base.lastIndexOf('-', r - 1);
  if (v <= 0) return undefined;
  const name = base.slice(0, v);
  const version = base.slice(v + 1, r);
  const release = base.slice(r + 1);
  return name && version && release ? { name, version, release } : undefined;
}
