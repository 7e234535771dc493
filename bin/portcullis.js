#!/usr/bin/env node
// Launcher: Portcullis runs on Node 24 (type stripping, node:sqlite, zstd). When started by an older
// system Node, re-run the same command with the Node 24 binary pinned in the project's dependencies,
// forwarding signals (so `portcullis server` shuts down gracefully under SIGTERM) and the exit code.
import { spawn } from 'node:child_process';
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  // V8's code cache (in the OS temp dir) before the first .ts file loads: a cached start skips
  // TypeScript stripping entirely, and start-up is most of a small scan.
  nodeModule.enableCompileCache();
  await import('../src/main.ts');
} else {
  let node;
  try {
    node = nodeModule.createRequire(import.meta.url).resolve('node/bin/node');
  } catch {
    process.stderr.write(`error: portcullis needs Node.js 24 or newer (this is ${process.version}); run 'npm ci' in the project to get it\n`);
    process.exit(1);
  }
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('error', (err) => {
    process.stderr.write(`error: cannot start Node.js 24 (${node}): ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1)));
}
