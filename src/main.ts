/**
 * Composition root: parse argv, build the logger and context, dispatch to a command.
 * The only place (with cli/ and server/) that touches process.env, argv and stdout.
 */
import { enableCompileCache } from 'node:module';

// V8's code cache for our modules (in the OS temp dir): most of a small scan's time is start-up.
enableCompileCache();
const { runCli, exitsWhenDone } = await import('./cli/program.ts');

// `portcullis scan … | head` closes stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const code = await runCli(process.argv, process.env);
process.exitCode = code;
if (exitsWhenDone(process.argv)) {
  // stdout/stderr writes to pipes are asynchronous: exit only once everything written has gone out.
  const flushed = (s: NodeJS.WriteStream): Promise<void> => new Promise((resolve) => s.write('', () => resolve()));
  await flushed(process.stdout);
  await flushed(process.stderr);
  process.exit(code);
}
