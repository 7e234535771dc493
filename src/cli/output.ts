/**
 * Where a command's report goes: stdout, or --output FILE written atomically (a temp file beside
 * FILE, renamed into place only after the writer finished), so a failed scan never leaves a
 * half-written report that looks complete.
 */
import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../shared/errors.ts';

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
  const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
  try {
    await once(out, 'open');
  } catch (err) {
    throw new UserError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { code: 'OUTPUT_FAILED', cause: err });
  }
  try {
    await write(out);
    out.end();
    await once(out, 'finish');
    renameSync(tmp, file);
  } catch (err) {
    out.destroy();
    rmSync(tmp, { force: true });
    throw err;
  }
}
