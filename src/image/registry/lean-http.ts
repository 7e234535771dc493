/**
 * A small, strict HTTP/1.1 client for blob downloads. node:http hands every socket read to JavaScript
 * as a fresh 64 KiB buffer, and V8 frees them only every ~85 MB: downloading a 139 MB layer cost
 * +87 MB of RSS. Here the socket reads into ONE fixed buffer (`onread`), the body bytes are copied
 * into a fixed staging buffer, and the consumer gets views of it, each valid until it asks for the
 * next chunk (the layer decoder copies them into its own transfer buffers at once). Measured on the
 * same layer: a few MB.
 *
 * What it keeps from http.ts: the SSRF-guarded lookup (the address checked is the address connected
 * to; literals checked before connecting), TLS verification (the default CAs, NODE_EXTRA_CA_CERTS)
 * unless the registry is insecure, the connect timeout, the read timeout (silence while we wait for
 * the status line, headers or body bytes; not while the consumer is busy), cancellation, and the same
 * errors (REGISTRY_UNREACHABLE with the socket's code, REGISTRY_TIMEOUT, CANCELLED). One request per
 * connection (`Connection: close`): blobs are large, a handshake is nothing beside one.
 *
 * Strict parsing: a status line `HTTP/1.x NNN reason`, CRLF line ends only, header names as RFC 9110
 * tokens, no obsolete line folding, no control characters in values, at most 64 KiB and 200 header
 * lines; informational (1xx) responses skipped (at most 5). Body framing: `Transfer-Encoding: chunked`
 * (chunk sizes at most 15 hex digits, extensions and trailers bounded), `Content-Length` (digits
 * only; several must agree), or, with neither, until the server closes. Both at once, any other
 * transfer coding, or a body that ends before its framing says is an error: a truncated blob never
 * looks complete.
 */
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ScannerError } from '../../shared/errors.ts';
import type { HttpResponse, HttpSettings } from './http.ts';
import { timeoutError } from './http.ts';
import { blockedError, classifyAddress, guardedLookup } from './ssrf.ts';

// CommonJS modules (as in http.ts): the ESM facades cost several MB of RSS each.
const net = process.getBuiltinModule('node:net');
const tls = process.getBuiltinModule('node:tls');
const { isIP } = net;

/** Socket read buffer, body staging buffer, limits. */
const READ_BUF = 64 << 10;
/**
 * Staging buffer size, and the free space under which the socket is paused (TLS may still deliver the
 * records of one socket read after a pause; what does not fit goes to an overflow list). Mutable only
 * so that tests can force the overflow path.
 */
export const leanTuning = { stageBytes: 512 << 10, stageLow: 128 << 10 };
const MAX_HEAD = 64 << 10;
const MAX_HEADER_LINES = 200;
const MAX_INTERIM = 5;
const MAX_CHUNK_LINE = 4096;
const MAX_TRAILERS = 16 << 10;

/** Buffers of finished connections, for the next ones (a scan downloads layers two at a time). */
const readPool: Buffer[] = [];
const stagePool: Buffer[] = [];

function protocolError(what: string, why: string): ScannerError {
  return new ScannerError('REGISTRY_HTTP', `${what}: malformed HTTP response (${why})`);
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex
const CTL = /[\x00-\x08\x0a-\x1f\x7f]/;
const STATUS_LINE = /^HTTP\/1\.[01] ([1-9]\d\d)(?: [^\x00-\x08\x0a-\x1f\x7f]*)?$/;

export interface ParsedHead {
  status: number;
  headers: Record<string, string>;
}

/** Parses a response head (status line + header lines, without the final CRLF CRLF). Exported for tests. */
export function parseHead(text: string, what: string): ParsedHead {
  const lines = text.split('\r\n');
  if (lines.some((l) => l.includes('\n') || l.includes('\r'))) throw protocolError(what, 'bare CR or LF in the head');
  const statusLine = lines[0] ?? '';
  const m = STATUS_LINE.exec(statusLine);
  if (!m) throw protocolError(what, `bad status line "${statusLine.slice(0, 80).replace(/[^\x20-\x7e]/g, '?')}"`);
  if (lines.length - 1 > MAX_HEADER_LINES) throw protocolError(what, `more than ${MAX_HEADER_LINES} header lines`);
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith(' ') || line.startsWith('\t')) throw protocolError(what, 'obsolete header line folding');
    const colon = line.indexOf(':');
    if (colon <= 0) throw protocolError(what, 'header line without a name');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw protocolError(what, 'bad header name');
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (CTL.test(value)) throw protocolError(what, `control character in header ${name.slice(0, 40)}`);
    const key = name.toLowerCase();
    const prev = headers[key];
    headers[key] = prev === undefined ? value : `${prev}, ${value}`;
  }
  return { status: Number(m[1]), headers };
}

type Framing = { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' } | { kind: 'none' };

/** How the body is delimited (RFC 9112 §6.3), strictly. Exported for tests. */
export function framingOf(head: ParsedHead, method: string, what: string): Framing {
  const st = head.status;
  if (method === 'HEAD' || st === 204 || st === 304 || st < 200) return { kind: 'none' };
  const te = head.headers['transfer-encoding'];
  const cl = head.headers['content-length'];
  if (te !== undefined) {
    if (cl !== undefined) throw protocolError(what, 'both Transfer-Encoding and Content-Length');
    if (te.trim().toLowerCase() !== 'chunked') throw protocolError(what, `unsupported Transfer-Encoding "${te.slice(0, 40)}"`);
    return { kind: 'chunked' };
  }
  if (cl !== undefined) {
    const parts = cl.split(',').map((s) => s.trim());
    if (!parts.every((p) => /^\d{1,15}$/.test(p)) || new Set(parts).size !== 1) throw protocolError(what, `bad Content-Length "${cl.slice(0, 40)}"`);
    return { kind: 'length', left: Number(parts[0]) };
  }
  return { kind: 'close' };
}

/** Chunked-body decoder over arbitrary pieces; calls `data` with views of the input. Exported for tests. */
export class ChunkedDecoder {
  #state: 'size' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'done' = 'size';
  #line = '';
  #left = 0;
  #trailerBytes = 0;
  readonly #what: string;

  constructor(what: string) {
    this.#what = what;
  }

  get done(): boolean {
    return this.#state === 'done';
  }

  /** Feeds bytes; returns how many were used (less than all only once the body is complete). */
  push(b: Buffer, data: (view: Buffer) => void): number {
    let i = 0;
    while (i < b.length && this.#state !== 'done') {
      switch (this.#state) {
        case 'data': {
          const n = Math.min(this.#left, b.length - i);
          data(b.subarray(i, i + n));
          i += n;
          this.#left -= n;
          if (this.#left === 0) this.#state = 'data-cr';
          break;
        }
        case 'data-cr':
          if (b[i++] !== 0x0d) throw protocolError(this.#what, 'chunk not followed by CRLF');
          this.#state = 'data-lf';
          break;
        case 'data-lf':
          if (b[i++] !== 0x0a) throw protocolError(this.#what, 'chunk not followed by CRLF');
          this.#state = 'size';
          break;
        case 'size':
        case 'trailer': {
          const nl = b.indexOf(0x0a, i);
          const end = nl < 0 ? b.length : nl;
          this.#line += b.toString('latin1', i, end);
          i = end;
          const limit = this.#state === 'size' ? MAX_CHUNK_LINE : MAX_TRAILERS - this.#trailerBytes;
          if (this.#line.length > limit) throw protocolError(this.#what, this.#state === 'size' ? 'chunk size line too long' : 'trailers too long');
          if (nl < 0) break;
          i++;
          if (!this.#line.endsWith('\r')) throw protocolError(this.#what, 'bare LF in chunked framing');
          const line = this.#line.slice(0, -1);
          this.#line = '';
          if (this.#state === 'size') this.#sizeLine(line);
          else this.#trailerLine(line);
          break;
        }
      }
    }
    return i;
  }

  #sizeLine(line: string): void {
    const m = /^([0-9A-Fa-f]{1,15})[ \t]*(;[^\x00-\x08\x0a-\x1f\x7f]*)?$/.exec(line);
    if (!m) throw protocolError(this.#what, `bad chunk size "${line.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}"`);
    const n = parseInt(m[1] ?? '', 16);
    if (!Number.isSafeInteger(n)) throw protocolError(this.#what, 'chunk size too large');
    if (n === 0) this.#state = 'trailer';
    else {
      this.#left = n;
      this.#state = 'data';
    }
  }

  #trailerLine(line: string): void {
    if (line === '') {
      this.#state = 'done';
      return;
    }
    this.#trailerBytes += line.length + 2;
    const colon = line.indexOf(':');
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon)) || CTL.test(line.slice(colon + 1))) throw protocolError(this.#what, 'bad trailer line');
  }
}

/** Sends a request on a fresh connection; resolves with the response head, body streamed lean. */
export function leanRequest(
  url: URL,
  method: 'GET' | 'HEAD',
  headers: Record<string, string>,
  s: HttpSettings,
  what: string,
  copyChunks = false,
): Promise<HttpResponse> {
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (!s.allowPrivate && isIP(literal)) {
    const why = classifyAddress(literal);
    if (why) return Promise.reject(blockedError(url.hostname, literal, why));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new ScannerError('REGISTRY_HTTP', `${what}: unsupported URL scheme ${url.protocol}`));
  const isHttps = url.protocol === 'https:';
  const port = Number(url.port || (isHttps ? 443 : 80));
  const target = `${url.pathname || '/'}${url.search}`;
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${url.host}`];
  for (const [k, v] of Object.entries(headers)) {
    if (!TOKEN.test(k) || /[\r\n\0]/.test(v)) return Promise.reject(new ScannerError('REGISTRY_HTTP', `${what}: refusing a header with control characters`));
    const low = k.toLowerCase();
    if (low === 'host' || low === 'connection' || low === 'content-length' || low === 'transfer-encoding') continue;
    lines.push(`${k}: ${v}`);
  }
  if (/[\s\0]/.test(target)) return Promise.reject(new ScannerError('REGISTRY_HTTP', `${what}: refusing a request target with white space`));
  lines.push('Accept-Encoding: identity', 'Connection: close', '', '');
  const request = lines.join('\r\n');
  return new LeanExchange(url, method, s, what, copyChunks).start(request, literal, port, isHttps);
}

class LeanExchange {
  readonly #url: URL;
  readonly #method: string;
  readonly #s: HttpSettings;
  readonly #what: string;
  readonly #copy: boolean;
  #sock: Socket | undefined;
  readonly #readBuf = readPool.pop() ?? Buffer.allocUnsafeSlow(READ_BUF);
  #stage: Buffer | undefined;
  #rpos = 0;
  #wpos = 0;
  readonly #overflow: Buffer[] = [];
  #phase: 'head' | 'body' | 'ended' = 'head';
  #head: Buffer[] = [];
  #headLen = 0;
  #interim = 0;
  #framing: Framing = { kind: 'none' };
  #chunked: ChunkedDecoder | undefined;
  #error: ScannerError | undefined;
  #paused = false;
  #released = false;
  #timer: NodeJS.Timeout | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #onHead: ((h: ParsedHead) => void) | undefined;
  #onHeadErr: ((e: ScannerError) => void) | undefined;
  #abort: (() => void) | undefined;

  constructor(url: URL, method: string, s: HttpSettings, what: string, copy: boolean) {
    this.#url = url;
    this.#method = method;
    this.#s = s;
    this.#what = what;
    this.#copy = copy;
  }

  start(request: string, host: string, port: number, isHttps: boolean): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      if (this.#s.signal?.aborted) {
        this.#release();
        reject(new ScannerError('CANCELLED', `${this.#what}: cancelled`));
        return;
      }
      this.#onHeadErr = reject;
      this.#onHead = (h) =>
        resolve({
          status: h.status,
          headers: h.headers,
          url: this.#url,
          body: this.#body(),
          discard: () => this.#close(),
        });
      const onread = { buffer: this.#readBuf, callback: (n: number, b: Buffer): boolean => this.#onRead(b.subarray(0, n)) };
      const lookup = guardedLookup(this.#s.allowPrivate);
      const sock = isHttps
        ? tls.connect({
            host,
            port,
            lookup,
            // onread is documented for tls.connect (it reaches the underlying socket); the types lag behind
            ...({ onread } as object),
            rejectUnauthorized: !this.#s.tlsInsecure,
            ...(isIP(host) ? {} : { servername: host }),
          } as ConnectionOptions)
        : net.connect({ host, port, lookup, onread });
      this.#sock = sock;
      this.#connectTimer = setTimeout(() => this.#fail(timeoutError(this.#what, this.#s.connectTimeoutMs, 'connecting')), this.#s.connectTimeoutMs);
      sock.once(isHttps ? 'secureConnect' : 'connect', () => {
        clearTimeout(this.#connectTimer);
        this.#arm('waiting for the response');
        sock.write(request);
      });
      sock.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof ScannerError) return this.#fail(err);
        const cause = err.cause instanceof ScannerError ? err.cause : undefined;
        if (cause) return this.#fail(cause);
        this.#fail(new ScannerError('REGISTRY_UNREACHABLE', `${this.#what}: ${err.code ?? ''}${err.code ? ' ' : ''}${err.message}`.trim(), { cause: err }));
      });
      sock.on('end', () => this.#onEnd());
      sock.on('close', () => this.#onEnd());
      if (this.#s.signal) {
        const sig = this.#s.signal;
        const onAbort = (): void => this.#fail(new ScannerError('CANCELLED', `${this.#what}: cancelled`));
        sig.addEventListener('abort', onAbort, { once: true });
        this.#abort = () => sig.removeEventListener('abort', onAbort);
      }
    });
  }

  /** Read timeout: armed only while we wait for the server. */
  #arm(phase: string): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#fail(timeoutError(this.#what, this.#s.readTimeoutMs, phase)), this.#s.readTimeoutMs);
  }

  #fail(err: ScannerError): void {
    if (this.#phase === 'ended' && this.#error === undefined && !this.#sock) return;
    this.#error ??= err;
    this.#phase = 'ended';
    if (this.#onHeadErr) {
      const rej = this.#onHeadErr;
      this.#onHeadErr = undefined;
      this.#onHead = undefined;
      rej(this.#error);
    }
    this.#close();
    this.#wake?.();
  }

  /** Destroys the socket and returns the buffers; the staged bytes stay readable until the consumer is done. */
  #close(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#connectTimer);
    this.#abort?.();
    this.#abort = undefined;
    const sock = this.#sock;
    this.#sock = undefined;
    sock?.destroy();
    if (this.#phase !== 'ended') {
      this.#phase = 'ended';
      this.#error ??= new ScannerError('REGISTRY_HTTP', `${this.#what}: response discarded`);
    }
    this.#wake?.();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    if (readPool.length < 4) readPool.push(this.#readBuf);
    if (this.#stage && stagePool.length < 4 && this.#stage.length === leanTuning.stageBytes) stagePool.push(this.#stage);
    this.#stage = undefined;
  }

  #onEnd(): void {
    if (this.#phase === 'ended') return;
    if (this.#phase === 'head') return this.#fail(new ScannerError('REGISTRY_UNREACHABLE', `${this.#what}: the connection closed before a response`));
    const f = this.#framing;
    if (f.kind === 'close') {
      this.#phase = 'ended';
      this.#close();
      return;
    }
    const why = f.kind === 'length' ? `${f.left} bytes of the body missing` : 'the chunked body did not end';
    this.#fail(new ScannerError('BLOB_TRUNCATED', `${this.#what}: the connection closed early (${why})`));
  }

  #onRead(b: Buffer): boolean {
    try {
      if (this.#phase === 'ended') return false;
      clearTimeout(this.#timer);
      if (this.#phase === 'head') {
        const rest = this.#takeHead(b);
        if (rest === undefined) {
          this.#arm('waiting for the response');
          return true;
        }
        if (this.#inBody() && rest.length) this.#bodyBytes(rest);
      } else this.#bodyBytes(b);
      if (this.#inBody() && this.#wake === undefined) {
        // nobody is waiting: hold the socket once the staging buffer runs low
        if (this.#overflow.length || (this.#stage && this.#stage.length - this.#wpos < leanTuning.stageLow)) {
          this.#paused = true;
          return false;
        }
      }
      if (this.#inBody()) this.#arm('waiting for data');
      this.#wake?.();
      return true;
    } catch (err) {
      this.#fail(err instanceof ScannerError ? err : protocolError(this.#what, String(err)));
      return false;
    }
  }

  #inBody(): boolean {
    return this.#phase === 'body';
  }

  /** Collects head bytes; returns the bytes after the head once it is complete (a copy: the read buffer is reused). */
  #takeHead(b: Buffer): Buffer | undefined {
    this.#head.push(Buffer.from(b));
    this.#headLen += b.length;
    const all = this.#head.length === 1 ? (this.#head[0] as Buffer) : Buffer.concat(this.#head, this.#headLen);
    this.#head = [all];
    const end = all.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.#headLen > MAX_HEAD) throw protocolError(this.#what, `response head larger than ${MAX_HEAD} bytes`);
      return undefined;
    }
    if (end > MAX_HEAD) throw protocolError(this.#what, `response head larger than ${MAX_HEAD} bytes`);
    const head = parseHead(all.toString('latin1', 0, end), this.#what);
    const rest = all.subarray(end + 4);
    this.#head = [];
    this.#headLen = 0;
    if (head.status < 200) {
      if (head.status === 101 || ++this.#interim > MAX_INTERIM) throw protocolError(this.#what, `unexpected ${head.status} response`);
      return rest.length ? this.#takeHead(rest) : undefined;
    }
    this.#framing = framingOf(head, this.#method, this.#what);
    if (this.#framing.kind === 'chunked') this.#chunked = new ChunkedDecoder(this.#what);
    this.#phase = 'body';
    const done = this.#onHead;
    this.#onHead = undefined;
    this.#onHeadErr = undefined;
    if (this.#framing.kind === 'none' || (this.#framing.kind === 'length' && this.#framing.left === 0)) this.#finish();
    done?.(head);
    return rest;
  }

  #bodyBytes(b: Buffer): void {
    const f = this.#framing;
    if (f.kind === 'chunked') {
      this.#chunked?.push(b, (v) => this.#stageBytes(v));
      if (this.#chunked?.done) this.#finish();
      return;
    }
    if (f.kind === 'length') {
      const n = Math.min(f.left, b.length);
      if (n) this.#stageBytes(b.subarray(0, n));
      f.left -= n;
      if (f.left === 0) this.#finish();
      return;
    }
    if (f.kind === 'close') this.#stageBytes(b);
  }

  /** The body is complete: no more reads (bytes after it on a closing connection are ignored). */
  #finish(): void {
    this.#phase = 'ended';
    clearTimeout(this.#timer);
    const sock = this.#sock;
    this.#sock = undefined;
    this.#abort?.();
    this.#abort = undefined;
    sock?.destroy();
    this.#wake?.();
  }

  #stageBytes(v: Buffer): void {
    if (!v.length) return;
    this.#stage ??= stagePool.pop() ?? Buffer.allocUnsafeSlow(leanTuning.stageBytes);
    if (!this.#overflow.length && this.#stage.length - this.#wpos >= v.length) {
      v.copy(this.#stage, this.#wpos);
      this.#wpos += v.length;
    } else this.#overflow.push(Buffer.from(v)); // only when bytes arrive after a pause (TLS records in flight)
  }

  async *#body(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        if (this.#rpos === this.#wpos) this.#rpos = this.#wpos = 0; // the consumer is done with every view
        if (this.#wpos > this.#rpos) {
          const view = (this.#stage as Buffer).subarray(this.#rpos, this.#wpos);
          this.#rpos = this.#wpos;
          yield this.#copy ? Buffer.from(view) : view;
          continue;
        }
        const o = this.#overflow.shift();
        if (o) {
          yield o;
          continue;
        }
        if (this.#phase === 'ended') {
          if (this.#error) throw this.#error;
          return;
        }
        if (this.#paused) {
          this.#paused = false;
          this.#arm('waiting for data');
          this.#sock?.resume();
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
      }
    } finally {
      if (this.#phase !== 'ended' || this.#sock) this.#close();
      this.#release();
    }
  }
}
