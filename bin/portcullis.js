#!/usr/bin/env node
// Launcher: Portcullis runs on Node 24 (type stripping, node:sqlite, zstd). When started by an older
// system Node, re-run the same command with the Node 24 binary pinned in devDependencies/dependencies.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
if (major >= 24) {
  await import(main);
} else {
  let node;
  try {
    node = createRequire(import.meta.url).resolve('node/bin/node');
  } catch {
    process.stderr.write(`error: portcullis needs Node.js 24 or newer (this is ${process.version}); run 'npm ci' in the project to get it\n`);
    process.exit(1);
  }
  const r = spawnSync(node, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
