import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { condenseGoBinary, encodeCondensed } from './buildinfo.ts';
import { GoBuildInfoSink } from './buildinfo-stream.ts';
import { elfWithBuildInfo, machoWithBuildInfo, peWithBuildInfo, type BuildInfoSpec } from './testdata/exe-writer.ts';

const MODINFO = 'path\tx/cmd\nmod\tx\tv1.0.0\th1:a=\ndep\tgithub.com/a/b\tv1.0.0\th1:b=\n=>\tgithub.com/c/d\tv1.1.0\th1:c=';

type Outcome = Buffer | undefined | 'whole';

/**
 * Pushes `bin` in chunks of the sizes `next` gives, skipping where the sink asks; returns its answer
 * and how many bytes it was fed.
 */
function stream(bin: Buffer, next: () => number, size = bin.length): { out: Outcome; fed: number } {
  const s = new GoBuildInfoSink(size);
  let fed = 0;
  for (let i = 0; i < bin.length; ) {
    const n = Math.max(1, next());
    const chunk = Buffer.from(bin.subarray(i, i + n)); // a copy, overwritten after the push: the sink must copy what it keeps
    const r = s.push(chunk);
    chunk.fill(0xee);
    fed += chunk.length;
    i += n;
    if (r === 'drop') return { out: undefined, fed };
    if (r === 'whole') return { out: 'whole', fed };
    if (r === 'done') break;
    if (typeof r === 'number') {
      assert.ok(r > i, `a skip goes forward (${r} after ${i})`);
      i = r;
    }
  }
  return { out: s.end(), fed };
}

let seed = 42;
const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const chunkings: [string, (len: number) => () => number][] = [
  ['1-7 bytes', () => () => 1 + Math.floor(rand() * 7)],
  ['up to 5000 bytes', () => () => 1 + Math.floor(rand() * 5000)],
  ['1 MiB', () => () => 1 << 20],
  ['one chunk', (len) => () => len],
];

const same = (a: Outcome, b: Buffer | undefined): boolean => (a instanceof Buffer ? b !== undefined && a.equals(b) : a === b);

const fixtures: [string, Buffer][] = [];
for (const layout of ['inline', 'pointer'] as const) {
  const spec: BuildInfoSpec = { goVersion: layout === 'inline' ? 'go1.21.5' : 'go1.16.15', modinfo: MODINFO, layout };
  fixtures.push(
    [`ELF64 ${layout}`, elfWithBuildInfo(spec)],
    [`ELF64 .go.buildinfo ${layout}`, elfWithBuildInfo(spec, { section: true })],
    [`ELF32 BE ${layout}`, elfWithBuildInfo(spec, { bits: 32, le: false })],
    [`ELF64 BE .go.buildinfo ${layout}`, elfWithBuildInfo(spec, { le: false, section: true })],
    [`ELF64 data at 128 KiB ${layout}`, elfWithBuildInfo(spec, { section: true, dataOffset: 0x20000 })],
    [`PE32+ ${layout}`, peWithBuildInfo(spec)],
    [`Mach-O 64 ${layout}`, machoWithBuildInfo(spec)],
  );
}

describe('Go build info in one forward pass', () => {
  it('gives byte for byte what the whole-file condenser gives, for every layout and chunking', () => {
    for (const [name, bin] of fixtures) {
      const want = condenseGoBinary(bin);
      assert.ok(want, name);
      for (const [how, make] of chunkings) {
        const { out } = stream(bin, make(bin.length));
        assert.ok(out instanceof Buffer, `${name}, ${how}: ${String(out)}`);
        assert.ok(same(out, want), `${name}, ${how}`);
      }
    }
  });

  it('corrupt and truncated files: the same answer as the whole-file condenser (or a request for the whole file)', () => {
    let whole = 0;
    let total = 0;
    for (const [name, bin] of fixtures) {
      for (let i = 0; i < 150; i++) {
        const cut = rand() < 0.3 ? Math.floor(rand() * bin.length) : bin.length;
        const bad = Buffer.from(bin.subarray(0, cut));
        for (let k = 0; k < 6 && bad.length; k++) bad[Math.floor(rand() * bad.length)] = Math.floor(rand() * 256);
        const { out } = stream(bad, () => 1 + Math.floor(rand() * 300), rand() < 0.5 ? bad.length : 0);
        total++;
        if (out === 'whole') whole++;
        else assert.ok(same(out, condenseGoBinary(bad)), `${name} #${i}`);
      }
    }
    assert.ok(whole < total / 20, `${whole} of ${total} needed the whole file`);
  });

  it('drops a file that is not ELF, PE or Mach-O after its first 64 bytes', () => {
    const script = Buffer.concat([Buffer.from('#!/bin/sh\nexec /usr/bin/env python3 "$@"\n'), Buffer.alloc(1 << 20, 0x20)]);
    assert.deepEqual(stream(script, () => 64 * 1024), { out: undefined, fed: 64 * 1024 });
    assert.deepEqual(stream(script, () => 16), { out: undefined, fed: 64 });
    assert.equal(stream(Buffer.from('#!/bin/sh\n'), () => 4).out, undefined, 'shorter than 64 bytes');
    assert.equal(stream(Buffer.alloc(0), () => 1).out, undefined, 'empty');
  });

  it('pre-1.18 strings behind the header (as in .rodata) ask for the whole file; the fallback then reads them', () => {
    const spec: BuildInfoSpec = { goVersion: 'go1.16.15', modinfo: MODINFO, layout: 'pointer', stringsFirst: true };
    const far = elfWithBuildInfo(spec, { dataOffset: 0x20000 });
    assert.equal(stream(far, () => 16).out, 'whole', 'the strings went by in an earlier chunk');
    assert.ok(same(stream(far, () => 1 << 20).out, condenseGoBinary(far)), 'still in the chunk that holds the header: kept');
    assert.match(condenseGoBinary(far)?.toString() ?? '', /go1\.16\.15\npath\tx\/cmd\n/);
    // held by the prefix (small file) or kept ahead of time: no fallback needed
    const near = elfWithBuildInfo(spec);
    assert.ok(same(stream(near, () => 100).out, condenseGoBinary(near)));
  });

  it('content that already is the condensed form is left to the buffered condenser (which keeps it)', () => {
    const c = encodeCondensed({ goVersion: 'go1.22.0', modinfo: 'path\tx\n' });
    assert.equal(stream(c, () => 7).out, 'whole');
    assert.equal(stream(Buffer.concat([c, Buffer.alloc(100)]), () => 1000).out, 'whole');
    assert.equal(condenseGoBinary(c), c);
  });

  it('a file full of magic headers makes it give up, not grow', () => {
    const magic = Buffer.from('\xff Go buildinf:\x08\x02', 'latin1');
    const body = Buffer.concat(Array.from({ length: 5000 }, () => Buffer.concat([magic, Buffer.from([0xff, 0xff, 0xff, 0x01]), Buffer.alloc(16 - 4 + 16 - magic.length + 16)])));
    // ELF64 with one writable PT_LOAD over the whole file, so all of it is searched
    const header = Buffer.alloc(64 + 56);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(header);
    header.writeBigUInt64LE(64n, 0x20);
    header.writeUInt16LE(56, 0x36);
    header.writeUInt16LE(1, 0x38);
    header.writeUInt32LE(1, 64);
    header.writeUInt32LE(6, 68);
    header.writeBigUInt64LE(BigInt(header.length + body.length), 64 + 32);
    const bomb = Buffer.concat([header, body]);
    assert.equal(stream(bomb, () => 1 << 16).out, 'whole');
  });

  it('reads only the headers, the writable data and the ELF section table of a big executable', () => {
    const bin = Buffer.concat([elfWithBuildInfo({ goVersion: 'go1.22.1', modinfo: MODINFO, layout: 'inline' }, { section: true, dataOffset: 8 << 20 })]);
    const { out, fed } = stream(bin, () => 64 * 1024);
    assert.ok(same(out, condenseGoBinary(bin)));
    assert.ok(fed < 256 * 1024, `fed ${fed} of ${bin.length} bytes`);
  });

  const real = ['/usr/bin/go', '/usr/lib/go-1.19/bin/gofmt', '/usr/bin/skopeo', '/usr/bin/docker-registry', '/usr/bin/ls'].filter((p) => existsSync(p));
  it('real executables on this machine: the same as read whole', { skip: real.length ? false : 'no Go programs installed' }, () => {
    for (const p of real) {
      const bin = readFileSync(p);
      const { out, fed } = stream(bin, () => 1 << 20);
      assert.notEqual(out, 'whole', p);
      assert.ok(same(out, condenseGoBinary(bin)), p);
      if (bin.length > 8 << 20) assert.ok(fed < bin.length / 4, `${p}: fed ${fed} of ${bin.length} bytes (headers, data segment, section table)`);
    }
  });
});
