/**
 * Where a command's report goes: stdout, or --output FILE written atomically (a temp file beside
 * FILE, renamed into place only after the writer finished), so a failed scan never leaves a
 * half-written report that looks complete. The temp file is written with synchronous writes (a
 * report is already in memory; no thread-pool round trip per chunk, a few ms of every SBOM).
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { UserError } from '../shared/errors.ts';

/** A Writable onto an open file descriptor that writes each chunk before it returns. */
function syncFileWriter(fd: number): Writable {
  const put = (chunk: Buffer): void => {
    for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
  };
  return new Writable({
    decodeStrings: true,
    write(chunk: Buffer, _enc, cb): void {
      try {
        put(chunk);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    writev(chunks, cb): void {
      try {
        for (const c of chunks) put(c.chunk as Buffer);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}

export async function writeOutput(
  file: string | undefined,
  stdout: NodeJS.WritableStream,
  write: (out: NodeJS.WritableStream) => Promise<void>,
): Promise<void> {
  if (!file || file === '-') {
    await write(stdout);
    return;
  }
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o644);
  } catch (err) {
    throw new UserError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { code: 'OUTPUT_FAILED', cause: err });
  }
  const out = syncFileWriter(fd);
  let closed = false;
  try {
    await write(out);
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.end(() => resolve());
    });
    closeSync(fd);
    closed = true;
    renameSync(tmp, file);
  } catch (err) {
    out.destroy();
    if (!closed) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}
