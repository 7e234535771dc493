/**
 * Test-only rpm header blob writer (the rpmdb form: no lead, no magic): int32 il, int32 dl, il index
 * entries {tag, type, offset, count}, then the data store — the layout header.ts reads. Strings are
 * NUL-terminated; int32 values are 4-byte aligned, as rpm's headerExport lays them out.
 */
import { TAG } from '../header.ts';

export interface HeaderFields {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  arch?: string;
  sourceRpm?: string;
  license?: string;
  vendor?: string;
}

const TYPE_INT32 = 4;
const TYPE_STRING = 6;

export function writeHeader(h: HeaderFields): Uint8Array {
  const items: { tag: number; value: string | number }[] = [];
  const add = (tag: number, value: string | number | undefined): void => {
    if (value !== undefined) items.push({ tag, value });
  };
  add(TAG.NAME, h.name);
  add(TAG.VERSION, h.version);
  add(TAG.RELEASE, h.release);
  add(TAG.EPOCH, h.epoch);
  add(TAG.VENDOR, h.vendor);
  add(TAG.LICENSE, h.license);
  add(TAG.ARCH, h.arch);
  add(TAG.SOURCERPM, h.sourceRpm);
  items.sort((a, b) => a.tag - b.tag);
  const data: number[] = [];
  const index = Buffer.alloc(items.length * 16);
  items.forEach((it, i) => {
    if (typeof it.value === 'number') {
      while (data.length % 4) data.push(0);
      index.writeInt32BE(it.tag, i * 16);
      index.writeUInt32BE(TYPE_INT32, i * 16 + 4);
      index.writeInt32BE(data.length, i * 16 + 8);
      index.writeUInt32BE(1, i * 16 + 12);
      const b = Buffer.alloc(4);
      b.writeInt32BE(it.value);
      data.push(...b);
    } else {
      index.writeInt32BE(it.tag, i * 16);
      index.writeUInt32BE(TYPE_STRING, i * 16 + 4);
      index.writeInt32BE(data.length, i * 16 + 8);
      index.writeUInt32BE(1, i * 16 + 12);
      data.push(...Buffer.from(it.value, 'utf8'), 0);
    }
  });
  const head = Buffer.alloc(8);
  head.writeInt32BE(items.length, 0);
  head.writeInt32BE(data.length, 4);
  return Buffer.concat([head, index, Buffer.from(data)]);
}
