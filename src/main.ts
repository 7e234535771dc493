/**
 * Composition root: parse argv, build the logger and context, dispatch to a command.
 * The only place (with cli/ and server/) that touches process.env, argv and stdout.
 */
import { runCli } from './cli/program.ts';

const code = await runCli(process.argv, process.env);
process.exitCode = code;
