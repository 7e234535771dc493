/**
 * Layer decoding off the main thread. A layer's raw bytes (a file range the worker reads itself, or
 * chunks the main thread forwards from the network) are hashed (blob digest), decompressed (gzip /
 * zstd / plain, chosen by magic bytes) and hashed again (diff ID) inside a worker; the main thread only
 * parses tar headers. On two cores this keeps zlib busy instead of waiting for the main thread, and the
 * two hashes run beside decompression instead of after it.
 *
 * Flow control both ways: the worker asks for input (`pull`) only when its zlib stream wants more, and
 * stops decompressing while all MAX_BUFS transfer buffers of a layer wait on the main thread.
 *
 * The worker body is the function `workerMain` below, started with `eval: true` from its own source
 * text, so no separate file has to be found or type-stripped at run time. It uses only node: built-ins.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { ScannerError } from '../shared/errors.ts';
import { digestAlgorithm } from './digest.ts';

export interface DecodeJob {
  /** Names the layer in errors. */
  what: string;
  /** Expected digest of the raw bytes. */
  digest?: string;
  /** Expected raw size (more bytes is an error as soon as it happens). */
  size?: number;
  /** Expected sha256 of the decompressed tar. */
  diffId?: string;
  /** Read these bytes in the worker. */
  file?: { path: string; start: number; length: number };
  /** Or forward these (unverified) chunks. */
  source?: AsyncIterable<Buffer>;
  /** Called with the number of raw bytes consumed so far (progress). */
  onRaw?: (n: number) => void;
}

type ToWorker =
  | { t: 'start'; id: number; algo: string; size: number; hashTar: boolean; file?: { path: string; start: number; length: number } }
  | { t: 'in'; id: number; buf: ArrayBuffer; len: number }
  | { t: 'in-end'; id: number }
  | { t: 'ack'; id: number; buf: ArrayBuffer; lent?: boolean }
  | { t: 'abort'; id: number };

type FromWorker =
  | { t: 'pull'; id: number }
  | { t: 'ret'; id: number; buf: ArrayBuffer }
  | { t: 'out'; id: number; buf: ArrayBuffer; len: number; raw: number; lent?: boolean }
  | { t: 'end'; id: number; blobDigest: string; tarDigest: string; rawBytes: number; compression: string }
  | { t: 'err'; id: number; kind: 'corrupt' | 'truncated' | 'oversize' | 'short' | 'io'; message: string; blobDigest?: string; rawBytes: number; compression: string };

/** Input read size, zlib output piece, transfer buffer size, transfer buffers per layer (= window). */
const READ = 1 << 20;
const ZCHUNK = 256 << 10;
const OUT_BUF = 1 << 20;
const MAX_BUFS = 2;
/** Read blocks of a plain (uncompressed) file layer lent to the main thread at once: the main thread's
 * tar parsing is the pace there, and two in flight left the reader idle between acks (python
 * docker-archive, 9 interleaved runs: median 0.57 -> 0.55 s; +3 MB peak RSS). */
const MAX_LENT = 4;
/** Forwarded network input: message size and how many such buffers the main thread keeps for reuse. */
const NET_BUF = 512 << 10;
const NET_FREE = 4;

/* eslint-disable */
/**
 * The worker. Plain JavaScript after type stripping; must not reference anything outside itself.
 * Memory: input is read into a few recycled buffers; zlib writes small (ZCHUNK) pieces that are
 * copied into recycled OUT_BUF-sized transfer buffers, which the main thread sends back once parsed.
 * Nothing of the layer's size is allocated, so no garbage piles up between collections.
 */
function workerMain(READ: number, ZCHUNK: number, OUT_BUF: number, MAX_BUFS: number, MAX_LENT: number): void {
  const { parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
  const zlib = require('node:zlib') as typeof import('node:zlib');
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const fs = require('node:fs') as typeof import('node:fs');
  const port = parentPort!;
  type FailKind = 'corrupt' | 'truncated' | 'oversize' | 'short' | 'io';
  interface Job {
    id: number;
    /** Only when a blob digest is to be checked. */
    blobHash: import('node:crypto').Hash | undefined;
    /** Only when the main thread does not hash the tar itself. */
    tarHash: import('node:crypto').Hash | undefined;
    raw: number;
    size: number;
    head: Buffer[];
    headLen: number;
    compression: string;
    z: import('node:zlib').Gunzip | import('node:zlib').ZstdDecompress | undefined;
    /** out buffers: free ones, how many exist, the one being filled */
    free: ArrayBuffer[];
    allocated: number;
    cur: Uint8Array | undefined;
    curFill: number;
    /** decompressed bytes waiting for a free out buffer */
    backlog: Buffer | undefined;
    paused: boolean;
    readFree: Buffer[];
    fd?: number;
    file?: { path: string; start: number; length: number };
    pending: Buffer[];
    inputEnded: boolean;
    draining: boolean;
    failed?: { kind: FailKind; message: string };
    done: boolean;
    reading: boolean;
    zEnded: boolean;
    /** Forwarded input: chunks asked for and not yet received; the main thread said there is no more. */
    requested: number;
    netEnded: boolean;
    /** File input: the next offset to read (reads run one block ahead of what was fed). */
    readPos: number;
    /** Read blocks lent to the main thread (plain layers), not yet acknowledged. */
    lent: number;
    /** Blocks read while inflation waited for an out buffer. */
    held: { c: Buffer; release: () => void }[];
    /** Synchronous inflate straight into the out buffers (no zlib stream, no per-chunk allocation). */
    sync: SyncZ | undefined;
    /** Input the sync inflater could not finish for want of an out buffer. */
    stalled: { c: Buffer; inOff: number; availIn: number; flush: number; release: (() => void) | undefined } | undefined;
  }
  interface SyncZ {
    z: import('node:zlib').Gunzip | import('node:zlib').ZstdDecompress;
    handle: { writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void };
    state: Uint32Array;
    finish: number;
  }
  /**
   * The stream API allocates a fresh output buffer for every piece and leaves them to the garbage
   * collector (tens of MB of garbage per layer). zlib's handle can also be driven synchronously with
   * buffers we own, as zlib's own *Sync functions do; in a worker, blocking is fine. Used when this
   * Node has that handle (every version so far); otherwise the stream API below.
   */
  const syncZ = (z: import('node:zlib').Gunzip | import('node:zlib').ZstdDecompress, finish: number): SyncZ | undefined => {
    const r = z as unknown as { _handle?: { writeSync?: unknown }; _writeState?: unknown };
    if (typeof r._handle?.writeSync !== 'function' || !(r._writeState instanceof Uint32Array)) return undefined;
    z.on('error', () => {}); // reported through z.errored, synchronously
    return { z, handle: r._handle as SyncZ['handle'], state: r._writeState, finish };
  };
  /** Inflates `c` from `inOff` into out buffers; false when it had to stop for an out buffer (stalled). */
  const inflate = (j: Job, c: Buffer, inOff0: number, availIn0: number, flushFlag: number, release: (() => void) | undefined): boolean => {
    const sz = j.sync!;
    let inOff = inOff0;
    let availIn = availIn0;
    for (;;) {
      if (!outBuffer(j)) {
        j.stalled = { c, inOff, availIn, flush: flushFlag, release };
        return false;
      }
      const out = j.cur!;
      const outOff = j.curFill;
      const availOut = out.length - outOff;
      sz.handle.writeSync(flushFlag, c, inOff, availIn, out, outOff, availOut);
      if (sz.z.destroyed) {
        const e = sz.z.errored as Error | null;
        const msg = e?.message ?? 'decompression failed';
        release?.();
        j.sync = undefined;
        fail(j, /unexpected end|premature|truncated/i.test(msg) ? 'truncated' : 'corrupt', msg);
        return true;
      }
      const availOutAfter = sz.state[0] ?? 0;
      const availInAfter = sz.state[1] ?? 0;
      const have = availOut - availOutAfter;
      if (have > 0) {
        j.tarHash?.update(out.subarray(outOff, outOff + have));
        j.curFill += have;
        if (j.curFill === out.length) flush(j);
      }
      const took = availIn - availInAfter;
      inOff += took;
      availIn = availInAfter;
      if (availOutAfter !== 0) {
        if (availIn === 0) break; // all input taken
        // Output space left and input not taken: zlib saw the end of the last gzip member and stopped
        // (it ignores what follows when it starts with a zero byte). Go's gzip reader, which runtimes
        // use, refuses such bytes; anything we accept must decode the same everywhere, because the
        // diff ID is not checked when the blob digest was (docs/image.md, "Verification").
        if (j.compression === 'gzip') {
          release?.();
          sz.z.destroy();
          j.sync = undefined;
          fail(j, 'corrupt', 'data after the end of the compressed stream');
          return true;
        }
        if (have === 0 && took === 0) break; // zstd made no progress: it reports errors itself
      }
    }
    release?.();
    return true;
  };
  const jobs = new Map<number, Job>();
  // Transfer and read buffers outlive jobs: one worker reads many layers with the same few buffers,
  // instead of allocating and freeing megabytes per layer across threads (which the allocator's
  // per-thread arenas keep as resident memory).
  const outPool: ArrayBuffer[] = [];
  const readPool: Buffer[] = [];
  const giveBack = (j: Job): void => {
    for (const ab of j.free.splice(0)) if (outPool.length < 2 * MAX_BUFS) outPool.push(ab);
    for (const b of j.readFree.splice(0)) if (readPool.length < 4) readPool.push(b);
  };

  const flush = (j: Job): void => {
    if (!j.cur || j.curFill === 0) return;
    const ab = j.cur.buffer as ArrayBuffer;
    port.postMessage({ t: 'out', id: j.id, buf: ab, len: j.curFill, raw: j.raw }, [ab]);
    j.cur = undefined;
    j.curFill = 0;
  };
  const outBuffer = (j: Job): boolean => {
    if (j.cur) return true;
    const ab = j.free.pop() ?? (j.allocated < MAX_BUFS ? (j.allocated++, outPool.pop() ?? new ArrayBuffer(OUT_BUF)) : undefined);
    if (!ab) return false;
    j.cur = Buffer.from(ab);
    j.curFill = 0;
    return true;
  };
  /** Copies decompressed bytes into out buffers; what does not fit waits in the backlog (zlib paused). */
  const emit = (j: Job, c: Buffer): void => {
    let off = 0;
    while (off < c.length) {
      if (!outBuffer(j)) {
        j.backlog = Buffer.from(c.subarray(off)); // a copy: zlib may reuse its buffer
        if (j.z && !j.paused) {
          j.paused = true;
          j.z.pause();
        }
        return;
      }
      const cur = j.cur!;
      const n = Math.min(c.length - off, cur.length - j.curFill);
      cur.set(c.subarray(off, off + n), j.curFill);
      j.curFill += n;
      off += n;
      if (j.curFill === cur.length) flush(j);
    }
  };
  const post = (j: Job, c: Buffer): void => {
    j.tarHash?.update(c);
    emit(j, c);
  };
  const fail = (j: Job, kind: FailKind, message: string): void => {
    if (j.done) return;
    j.failed ??= { kind, message };
    // keep hashing the rest of the input: a blob that does not match its digest is reported as such
    j.draining = true;
    j.backlog = undefined;
    j.stalled?.release?.();
    j.stalled = undefined;
    // held blocks still count for the blob digest
    for (const h of j.held.splice(0)) {
      j.raw += h.c.length;
      j.blobHash?.update(h.c);
      h.release();
    }
    if (j.sync) {
      j.sync.z.destroy();
      j.sync = undefined;
    }
    if (j.z) {
      j.z.removeAllListeners('data');
      j.z.destroy();
      j.z = undefined;
    }
    if (j.inputEnded) finish(j);
    else pump(j);
  };
  const finish = (j: Job): void => {
    if (j.done) return;
    if (!j.failed) {
      if (j.backlog) return; // waits for an out buffer; ack calls finish again
      flush(j);
    }
    j.done = true;
    if (j.fd !== undefined) fs.close(j.fd, () => {});
    jobs.delete(j.id);
    giveBack(j);
    const blobDigest = j.blobHash?.digest('hex') ?? '';
    if (j.failed) port.postMessage({ t: 'err', id: j.id, kind: j.failed.kind, message: j.failed.message, blobDigest, rawBytes: j.raw, compression: j.compression });
    else port.postMessage({ t: 'end', id: j.id, blobDigest, tarDigest: j.tarHash?.digest('hex') ?? '', rawBytes: j.raw, compression: j.compression });
  };
  const endInput = (j: Job): void => {
    j.inputEnded = true;
    if (j.compression === '' && !j.draining) startStream(j); // fewer than 4 bytes in all
    if (j.draining) return finish(j);
    if (j.sync) {
      if (j.stalled) return; // the ack that frees a buffer finishes it
      if (inflate(j, Buffer.alloc(0), 0, 0, j.sync.finish, undefined) && !j.failed) {
        j.sync.z.destroy();
        j.sync = undefined;
        finish(j);
      }
      return;
    }
    if (j.z) j.z.end();
    else finish(j);
  };
  const startStream = (j: Job): void => {
    const head = Buffer.concat(j.head, j.headLen);
    j.head = [];
    const gz = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    const zs = head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd;
    j.compression = gz ? 'gzip' : zs ? 'zstd' : 'none';
    if (j.compression === 'none') {
      if (head.length) post(j, head);
      return;
    }
    const z = gz ? zlib.createGunzip({ chunkSize: ZCHUNK }) : zlib.createZstdDecompress({ chunkSize: ZCHUNK });
    const sz = syncZ(z, gz ? zlib.constants.Z_FINISH : zlib.constants.ZSTD_e_end);
    if (sz) {
      j.sync = sz;
      if (head.length) inflate(j, head, 0, head.length, zlib.constants.Z_NO_FLUSH, undefined);
      return;
    }
    j.z = z;
    z.on('data', (c: Buffer) => post(j, c));
    z.on('error', (e: Error) => fail(j, /unexpected end|premature|truncated/i.test(e.message) ? 'truncated' : 'corrupt', e.message));
    z.on('end', () => {
      j.z = undefined;
      j.zEnded = true;
      // bytesWritten = input the engine took: less than was fed means ignored trailing bytes
      if (j.inputEnded && z.bytesWritten === j.raw) finish(j);
      else fail(j, 'corrupt', 'data after the end of the compressed stream');
    });
    if (head.length) z.write(head, () => pump(j));
  };
  /** Takes one input chunk; `release` gives a recycled read buffer back once nothing uses it. */
  const feed = (j: Job, c: Buffer, release?: () => void): void => {
    if (j.done) return release?.();
    j.raw += c.length;
    j.blobHash?.update(c);
    if (j.raw > j.size) {
      release?.();
      fail(j, 'oversize', '');
      return;
    }
    if (j.draining) return release?.();
    if (!j.z && j.compression === '') {
      // a copy: the head must outlive a recycled read buffer
      j.head.push(Buffer.from(c));
      j.headLen += c.length;
      release?.();
      if (j.headLen >= 4) startStream(j);
      return;
    }
    if (j.sync) {
      inflate(j, c, 0, c.length, zlib.constants.Z_NO_FLUSH, release);
    } else if (j.z) {
      j.z.write(c, () => {
        release?.();
        pump(j);
      });
    } else if (release && j.file && c.byteOffset === 0 && c.buffer.byteLength === READ) {
      // a plain layer read from a file: lend the read block itself to the main thread (no copy);
      // it comes back with its ack. A partly filled out buffer goes first, so order holds.
      j.tarHash?.update(c);
      flush(j);
      j.lent++;
      port.postMessage({ t: 'out', id: j.id, buf: c.buffer as ArrayBuffer, len: c.length, raw: j.raw, lent: true } satisfies FromWorker, [c.buffer as ArrayBuffer]);
    } else {
      post(j, c);
      release?.();
    }
  };
  /** Wants more input? zlib not backed up and an out buffer to write into (or only hashing). */
  const hungry = (j: Job): boolean =>
    !j.done && !j.inputEnded && (j.draining || (!j.backlog && !j.stalled && j.lent < MAX_LENT && (!j.z || j.z.writableLength < 2 * READ)));
  const pump = (j: Job): void => {
    if (!hungry(j) || j.reading) return;
    if (j.file) {
      const f = j.file;
      const pos = f.start + j.readPos;
      const left = f.start + f.length - pos;
      if (left <= 0) {
        if (j.raw >= j.readPos && !j.held.length) endInput(j); // everything read has been fed
        return;
      }
      j.reading = true;
      j.readPos += Math.min(READ, left);
      const buf = j.readFree.pop() ?? readPool.pop() ?? Buffer.allocUnsafeSlow(READ);
      const release = (): void => void (j.readFree.length < 3 && j.readFree.push(buf));
      const read = (): void => {
        fs.read(j.fd!, buf, 0, Math.min(READ, left), pos, (err, n) => {
          j.reading = false;
          if (j.done) return;
          if (err) return fail(j, 'io', err.message);
          if (n === 0) {
            j.failed ??= { kind: 'short', message: '' };
            j.inputEnded = true;
            return finish(j);
          }
          // ask for the next block before inflating this one, so the read overlaps the work
          if (n === Math.min(READ, left)) pump(j);
          else j.readPos = pos - f.start + n;
          if (j.stalled || j.backlog) {
            j.held.push({ c: buf.subarray(0, n), release }); // fed in order once out buffers come back
            return;
          }
          feed(j, buf.subarray(0, n), release);
          pump(j);
        });
      };
      if (j.fd === undefined) {
        fs.open(f.path, 'r', (err, fd) => {
          if (err) {
            j.reading = false;
            j.inputEnded = true;
            j.failed ??= { kind: 'io', message: err.message };
            return finish(j);
          }
          j.fd = fd;
          read();
        });
      } else read();
    } else {
      // forwarded input: keep up to two chunks asked for ahead, so the network and zlib overlap
      if (!j.netEnded && j.requested + j.pending.length < 2) {
        j.requested++;
        port.postMessage({ t: 'pull', id: j.id });
      }
      if (j.pending.length) {
        const c = j.pending.shift()!;
        // the buffer goes back to the main thread for the next chunk once nothing here uses it
        feed(j, c, () => {
          if (!j.done) port.postMessage({ t: 'ret', id: j.id, buf: c.buffer }, [c.buffer as ArrayBuffer]);
        });
        pump(j);
      } else if (j.netEnded && j.requested === 0) endInput(j);
    }
  };
  const feedHeld = (j: Job): void => {
    while (j.held.length && !j.stalled && !j.backlog && !j.done) {
      const h = j.held.shift()!;
      feed(j, h.c, h.release);
    }
  };
  port.on('message', (m: ToWorker) => {
    if (m.t === 'start') {
      const j: Job = {
        id: m.id, blobHash: m.algo ? crypto.createHash(m.algo) : undefined, tarHash: m.hashTar ? crypto.createHash('sha256') : undefined, raw: 0, size: m.size,
        head: [], headLen: 0, compression: '', z: undefined, free: [], allocated: 0, cur: undefined, curFill: 0,
        backlog: undefined, paused: false, readFree: [], pending: [], inputEnded: false, draining: false, done: false,
        reading: false, zEnded: false, sync: undefined, stalled: undefined, requested: 0, netEnded: false, readPos: 0, held: [], lent: 0,
      };
      if (m.file) j.file = m.file;
      jobs.set(m.id, j);
      pump(j);
      return;
    }
    const j = jobs.get(m.id);
    if (!j) {
      // the last out buffers of a finished job come back after it ended
      if (m.t === 'ack' && outPool.length < 2 * MAX_BUFS) outPool.push(m.buf);
      return;
    }
    switch (m.t) {
      case 'in':
        j.requested--;
        j.pending.push(Buffer.from(m.buf, 0, m.len));
        pump(j);
        break;
      case 'in-end':
        j.requested--;
        j.netEnded = true;
        pump(j);
        break;
      case 'ack': {
        if (m.lent) {
          // a lent read block comes back: read on
          j.lent--;
          if (j.readFree.length < MAX_LENT) j.readFree.push(Buffer.from(m.buf));
          pump(j);
          break;
        }
        // an out buffer comes back: place the backlog, resume zlib, read on
        j.free.push(m.buf);
        const st = j.stalled;
        if (st) {
          j.stalled = undefined;
          if (inflate(j, st.c, st.inOff, st.availIn, st.flush, st.release) && st.flush !== zlib.constants.Z_NO_FLUSH && !j.failed && j.sync) {
            j.sync.z.destroy();
            j.sync = undefined;
            finish(j);
            break;
          }
          feedHeld(j);
          if (!j.stalled && j.inputEnded && j.sync && !j.failed) endInput(j);
          pump(j);
          break;
        }
        const b = j.backlog;
        if (b) {
          j.backlog = undefined;
          emit(j, b);
        }
        if (!j.backlog && j.paused) {
          j.paused = false;
          j.z?.resume();
        }
        feedHeld(j);
        if (!j.backlog && j.inputEnded && (j.zEnded || !j.z)) finish(j);
        pump(j);
        break;
      }
      case 'abort':
        j.done = true;
        j.z?.destroy();
        j.sync?.z.destroy();
        if (j.fd !== undefined) fs.close(j.fd, () => {});
        jobs.delete(j.id);
        giveBack(j);
        break;
    }
  });
}
/* eslint-enable */

interface Pending {
  queue: { ab?: ArrayBuffer; len?: number; raw?: number; lent?: boolean; end?: Extract<FromWorker, { t: 'end' }>; err?: Extract<FromWorker, { t: 'err' }> }[];
  wake?: (() => void) | undefined;
  pull?: () => void;
}

/** A few workers shared by the layers of one analysis; each runs one layer at a time. */
export class DecodePool {
  readonly #size: number;
  readonly #workers: { w: Worker; busy: number }[] = [];
  readonly #jobs = new Map<number, Pending & { worker: Worker }>();
  #next = 1;
  #closed = false;
  /** Input buffers the workers gave back, for the next forwarded chunks of any layer. */
  readonly #netFree: ArrayBuffer[] = [];

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  #worker(): { w: Worker; busy: number } {
    const idle = this.#workers.find((x) => x.busy === 0);
    if (idle) return idle;
    if (this.#workers.length < this.#size) {
      const w = new Worker(`(${workerMain.toString()})(${READ}, ${ZCHUNK}, ${OUT_BUF}, ${MAX_BUFS}, ${MAX_LENT})`, { eval: true, stdout: false, stderr: false, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 24 } });
      const entry = { w, busy: 0 };
      w.on('message', (m: FromWorker) => this.#onMessage(m));
      w.on('error', (err: Error) => {
        for (const [, j] of this.#jobs) {
          if (j.worker !== w) continue;
          j.queue.push({ err: { t: 'err', id: 0, kind: 'io', message: `decoder failed: ${err.message}`, rawBytes: 0, compression: '' } });
          j.wake?.();
        }
      });
      this.#workers.push(entry);
      return entry;
    }
    return this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  #onMessage(m: FromWorker): void {
    if (m.t === 'ret') {
      // forwarded-input buffers serve every layer of the pool (also those returned after their job ended)
      if (m.buf.byteLength === NET_BUF && this.#netFree.length < NET_FREE) this.#netFree.push(m.buf);
      return;
    }
    const j = this.#jobs.get(m.id);
    if (!j) return;
    if (m.t === 'pull') j.pull?.();
    else if (m.t === 'out') j.queue.push(m.lent ? { ab: m.buf, len: m.len, raw: m.raw, lent: true } : { ab: m.buf, len: m.len, raw: m.raw });
    else if (m.t === 'end') j.queue.push({ end: m });
    else j.queue.push({ err: m });
    j.wake?.();
  }

  /**
   * Decompressed tar chunks of one layer; throws (at the point of failure) a ScannerError naming it.
   * A chunk is valid only until the next one is asked for: its memory goes back to the worker then.
   */
  async *decode(job: DecodeJob, signal?: AbortSignal): AsyncGenerator<Buffer> {
    if (this.#closed) throw new ScannerError('CANCELLED', `${job.what}: cancelled`);
    const algo = job.digest ? digestAlgorithm(job.digest) : 'sha256';
    const id = this.#next++;
    const entry = this.#worker();
    entry.busy++;
    const p: Pending & { worker: Worker } = { queue: [], worker: entry.w };
    this.#jobs.set(id, p);
    let src: AsyncIterator<Buffer> | undefined;
    let srcErr: unknown;
    if (!job.file) {
      const it = (job.source ?? (async function* () {})())[Symbol.asyncIterator]();
      src = it;
      // Network chunks are small (16-64 KiB): they are coalesced into NET_BUF-sized messages, so a
      // layer costs a few hundred messages, not thousands of round trips.
      let carry: Buffer | undefined;
      let ended = false;
      let chain: Promise<void> = Promise.resolve();
      p.pull = () => {
        // one fill at a time: chunks must reach the worker in order
        chain = chain.then(async (): Promise<void> => {
          const ab = this.#netFree.pop() ?? new ArrayBuffer(NET_BUF);
          const into = new Uint8Array(ab);
          let fill = 0;
          while (fill < NET_BUF && !ended) {
            let c = carry;
            carry = undefined;
            if (!c) {
              const r = await it.next();
              if (r.done) {
                ended = true;
                break;
              }
              c = r.value;
            }
            const n = Math.min(c.length, NET_BUF - fill);
            into.set(c.subarray(0, n), fill);
            fill += n;
            if (n < c.length) carry = c.subarray(n);
          }
          if (fill > 0) {
            entry.w.postMessage({ t: 'in', id, buf: ab, len: fill } satisfies ToWorker, [ab]);
          } else entry.w.postMessage({ t: 'in-end', id } satisfies ToWorker);
        }).catch((err: unknown) => {
          srcErr = err;
          p.queue.push({ err: { t: 'err', id, kind: 'io', message: '', rawBytes: 0, compression: '' } });
          p.wake?.();
        });
      };
    }
    // With a blob digest the diff ID is hashed here, as the chunks pass: the main thread mostly waits
    // for the worker, and this takes a third of the work off the worker of the largest layer.
    // Without a blob digest (docker-archive) the worker has no hashing to do, so it hashes the tar:
    // the two layers read at once then hash on two threads.
    const tarHash = job.diffId && job.digest ? createHash('sha256') : undefined;
    const start: ToWorker = { t: 'start', id, algo: job.digest ? algo : '', size: job.size ?? Number.MAX_SAFE_INTEGER, hashTar: Boolean(job.diffId && !job.digest) };
    if (job.file) start.file = job.file;
    entry.w.postMessage(start);
    let finished = false;
    const onAbort = (): void => p.wake?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal?.aborted) throw new ScannerError('CANCELLED', `${job.what}: cancelled`);
        const item = p.queue.shift();
        if (!item) {
          await new Promise<void>((resolve) => {
            p.wake = resolve;
          });
          p.wake = undefined;
          continue;
        }
        if (item.ab) {
          if (item.raw !== undefined) job.onRaw?.(item.raw);
          const chunk = Buffer.from(item.ab, 0, item.len ?? item.ab.byteLength);
          tarHash?.update(chunk);
          yield chunk;
          // the consumer is done with the chunk: its buffer goes back to the worker (the view is detached)
          entry.w.postMessage((item.lent ? { t: 'ack', id, buf: item.ab, lent: true } : { t: 'ack', id, buf: item.ab }) satisfies ToWorker, [item.ab]);
          continue;
        }
        if (item.err) {
          finished = true;
          if (srcErr !== undefined) throw srcErr;
          throw this.#error(job, algo, item.err);
        }
        if (item.end) {
          finished = true;
          job.onRaw?.(item.end.rawBytes);
          this.#check(job, algo, item.end.rawBytes, item.end.blobDigest);
          const tarDigest = tarHash ? tarHash.digest('hex') : item.end.tarDigest;
          if (job.diffId && `sha256:${tarDigest}` !== job.diffId) {
            throw new ScannerError('DIGEST_MISMATCH', `${job.what}: the layer's content hashes to sha256:${tarDigest}, not its diff ID ${job.diffId}`);
          }
          return;
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#jobs.delete(id);
      entry.busy--;
      if (!finished) {
        entry.w.postMessage({ t: 'abort', id } satisfies ToWorker);
        void src?.return?.();
      }
    }
  }

  /** Size and digest checks, in the order and words of digest.ts `verified`. */
  #check(job: DecodeJob, algo: string, rawBytes: number, blobDigest: string): void {
    if (job.size !== undefined && rawBytes !== job.size) {
      throw new ScannerError('BLOB_TRUNCATED', `${job.what}: truncated (${rawBytes} of ${job.size} bytes)`);
    }
    if (job.digest && `${algo}:${blobDigest}` !== job.digest) {
      throw new ScannerError('DIGEST_MISMATCH', `${job.what}: digest mismatch (expected ${job.digest}, got ${algo}:${blobDigest}); the content was tampered with or corrupted`);
    }
  }

  #error(job: DecodeJob, algo: string, e: Extract<FromWorker, { t: 'err' }>): ScannerError {
    if (e.kind === 'oversize') return new ScannerError('SIZE_LIMIT', `${job.what}: larger than its declared size (${job.size ?? 0} bytes)`);
    if (e.kind === 'io') return new ScannerError('LAYER_UNREADABLE', `${job.what}: cannot read the layer (${e.message})`);
    // A blob that is not what its digest says is reported as such, whatever zlib made of it.
    if (e.blobDigest !== undefined) this.#check(job, algo, e.rawBytes, e.blobDigest);
    if (e.kind === 'short') return new ScannerError('BLOB_TRUNCATED', `${job.what}: truncated (${e.rawBytes} of ${job.size ?? 0} bytes)`);
    return new ScannerError('LAYER_CORRUPT', `${job.what}: ${e.compression} stream ${e.kind === 'truncated' ? 'is truncated' : 'is corrupt'} (${e.message})`);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#workers.map((x) => x.w.terminate()));
    this.#workers.length = 0;
  }
}
