#!/usr/bin/env node
// Launcher (docs/cli.md). Portcullis runs on Node 24 (type stripping, node:sqlite, zstd). When started
// by an older system Node, re-run the same command with the Node 24 binary pinned in the project's
// dependencies, forwarding signals (so `portcullis server` shuts down gracefully under SIGTERM) and the
// exit code. On Node 24: the bundle in dist/cli/ (scripts/build.ts, built by `npm ci`) when it is
// fresh, else the TypeScript sources; V8's code cache either way.
import { readFileSync, statSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../', import.meta.url);

/**
 * The bundle's entry, or why not: a manifest of the format this launcher knows, and every input the
 * build listed (the bundled sources, package.json, the lockfiles, this file, the build script) must still have the size and mtime it had when the bundle was built. ~170 stats,
 * about a millisecond. PORTCULLIS_NO_BUNDLE=1 runs src/ always.
 */
function freshBundle() {
  if (process.env.PORTCULLIS_NO_BUNDLE === '1') return { why: 'PORTCULLIS_NO_BUNDLE=1' };
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(new URL('dist/cli/current.json', ROOT), 'utf8'));
  } catch {
    return { why: 'no bundle (npm run build makes one)' };
  }
  if (manifest?.format !== 2 || typeof manifest.build !== 'string' || !/^[0-9a-f]{16}$/.test(manifest.build) || !Array.isArray(manifest.inputs)) return { why: 'dist/cli/current.json is not a build manifest' };
  const root = fileURLToPath(ROOT);
  for (const input of manifest.inputs) {
    const [rel, size, mtimeMs] = Array.isArray(input) ? input : [];
    const s = typeof rel === 'string' ? statSync(root + rel, { throwIfNoEntry: false }) : undefined;
    if (!s || s.size !== size || s.mtimeMs !== mtimeMs) return { why: `stale bundle: ${rel} changed (npm run build)` };
  }
  const entry = new URL(`dist/cli/${manifest.build}/main.mjs`, ROOT);
  if (!statSync(entry, { throwIfNoEntry: false })?.isFile()) return { why: `dist/cli/${manifest.build}/ is gone (npm run build)` };
  return { entry: entry.href, build: manifest.build };
}

const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  // V8's code cache (in the OS temp dir) before the first module loads: a cached start compiles
  // almost nothing (and strips no TypeScript), and start-up is most of a small scan.
  nodeModule.enableCompileCache();
  const { entry, why, build } = freshBundle();
  // the bundle's id is the hash of its code: src/scan/inventory-cache.ts uses it as the code identity
  if (build) globalThis[Symbol.for('portcullis.build')] = build;
  if (process.env.PORTCULLIS_LAUNCHER_TRACE === '1') process.stderr.write(`launcher: ${entry ? fileURLToPath(entry) : `src/main.ts (${why})`}\n`);
  await import(entry ?? '../src/main.ts');
} else {
  let node;
  try {
    node = nodeModule.createRequire(import.meta.url).resolve('node/bin/node');
  } catch {
    process.stderr.write(`error: portcullis needs Node.js 24 or newer (this is ${process.version}); run 'npm ci' in the project to get it\n`);
    process.exit(1);
  }
  const { spawn } = await import('node:child_process');
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('error', (err) => {
    process.stderr.write(`error: cannot start Node.js 24 (${node}): ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1)));
}
