/**
 * The CLI's start-up bundle (docs/cli.md): src/main.ts and the dependencies it imports, as ESM chunks
 * in dist/cli/<id>/ (esbuild, code splitting: every lazy import stays lazy, one chunk each), and
 * dist/cli/current.json, which names the build and lists every input with its size and mtime.
 * bin/portcullis.js runs the bundle only while every listed input still has that size and mtime;
 * otherwise it runs src/main.ts, so an edited tree is never run from an old bundle.
 *
 * Run by `npm ci` / `npm install` (the `prepare` script) and `npm run build`. Without esbuild (a
 * production install without devDependencies) it builds nothing and says so: the CLI then runs src/.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist', 'cli');
/** Builds that are no longer current are removed this long after they stopped being current (a running CLI or server may still load their lazy chunks). */
const KEEP_OLD_MS = 60 * 60 * 1000;
/** Always checked besides the bundled sources: a version bump, any `npm install`, a new launcher or build script makes the bundle stale. */
const ALWAYS = ['package.json', 'package-lock.json', 'node_modules/.package-lock.json', 'bin/portcullis.js', 'scripts/build.ts'];
/** The manifest's format: a launcher reads only the format it knows (anything else runs src/). */
const FORMAT = 2;

const posix = (p: string): string => p.split(sep).join('/');

let esbuild: typeof import('esbuild');
try {
  esbuild = await import('esbuild');
} catch {
  process.stdout.write('portcullis build: esbuild is not installed (no devDependencies?): no bundle, the CLI runs src/\n');
  process.exit(0);
}

/** size and mtime of every file under src/ and of ALWAYS, taken before esbuild reads them (an edit during the build makes the result stale, never wrongly fresh). */
async function snapshot(): Promise<Map<string, [number, number]>> {
  const out = new Map<string, [number, number]>();
  const add = async (rel: string): Promise<void> => {
    const s = await stat(join(ROOT, rel)).catch(() => undefined);
    if (s?.isFile()) out.set(rel, [s.size, s.mtimeMs]);
  };
  for (const e of await readdir(join(ROOT, 'src'), { recursive: true, withFileTypes: true })) {
    if (e.isFile()) await add(posix(relative(ROOT, join(e.parentPath, e.name))));
  }
  for (const rel of ALWAYS) await add(rel);
  return out;
}

/** A file's path as seen from a chunk (chunks are all in dist/cli/<id>/, three levels below the root). */
const fromChunk = (abs: string): string => posix(relative(join(DIST, 'x'), abs));

/**
 * Each bundled file keeps its own location: `import.meta.url` (our sources) and `__dirname` /
 * `__filename` (CommonJS dependencies) mean what they mean unbundled, so `new URL('../../package.json',
 * import.meta.url)`, `createRequire(import.meta.url)` and a library's `resolve(__dirname, '../res')`
 * find the same files.
 */
const keepLocations: Plugin = {
  name: 'keep-locations',
  setup(b) {
    b.onLoad({ filter: /\.(ts|js|cjs|mjs)$/ }, async (args) => {
      let text = await readFile(args.path, 'utf8');
      const rel = JSON.stringify(fromChunk(args.path));
      const ts = args.path.endsWith('.ts');
      if (text.includes('import.meta.url')) text = text.replaceAll('import.meta.url', `new URL(${rel}, import.meta.url).href`);
      // A bare require() of a built-in in our ESM sources only runs inside an `eval: true` worker
      // (src/image/decode-pool.ts starts one from a function's text), where `require` is a global:
      // keep esbuild from turning it into its ESM require shim, which the worker does not have.
      if (ts) text = text.replace(/(?<![.\w$])require\((?=['"]node:)/g, 'globalThis.require(');
      if (!ts && /\b__(dirname|filename)\b/.test(text)) text = `var __filename = __pcFile(${rel}), __dirname = __pcDir(__filename);\n${text}`;
      return { contents: text, loader: ts ? 'ts' : 'js' };
    });
  },
};

/** Optional peers a dependency tries to require (xmlbuilder2, ajv, libxmljs2, …) and that are not installed stay run-time requires, failing as they do unbundled. */
const missingStayExternal: Plugin = {
  name: 'missing-stay-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'probe') return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'probe' });
      return r.errors.length ? { path: args.path, external: true } : r;
    });
  },
};

/**
 * commander requires node:child_process at load (only for executable subcommands, which we have
 * none of): in the bundle it gets the module on first use instead, ~2.5 ms less for every command.
 */
const lazyChildProcess: Plugin = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'lazy-child-process', namespace: 'portcullis' } : undefined,
    );
    b.onLoad({ filter: /^lazy-child-process$/, namespace: 'portcullis' }, () => ({
      contents: "let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= globalThis.process.getBuiltinModule('node:child_process'))[k] });",
      loader: 'js',
    }));
  },
};

// CommonJS dependencies inside ESM chunks: `require` for their built-ins, `__dirname` for their files.
const banner = [
  "import { createRequire as __pcCreateRequire } from 'node:module';",
  "import { fileURLToPath as __pcToPath } from 'node:url';",
  "import { dirname as __pcDir } from 'node:path';",
  'const require = __pcCreateRequire(import.meta.url);',
  'const __pcFile = (rel) => __pcToPath(new URL(rel, import.meta.url));',
].join('\n');

const before = await snapshot();
await mkdir(DIST, { recursive: true });
const tmp = join(DIST, `.tmp-${process.pid}`);
await rm(tmp, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: ['src/main.ts'],
  outdir: tmp,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  chunkNames: '[name]-[hash]',
  // .mjs: Node knows each chunk is ESM without looking for a package.json (~0.03 ms a chunk, 35 on the SBOM path)
  outExtension: { '.js': '.mjs' },
  metafile: true,
  write: false,
  logLevel: 'warning',
  banner: { js: banner },
  plugins: [missingStayExternal, lazyChildProcess, keepLocations],
});

// The build's id is the hash of its output: rebuilding unchanged sources names the same directory.
const hash = createHash('sha256');
for (const f of [...result.outputFiles].sort((x, y) => (x.path < y.path ? -1 : 1))) hash.update(relative(tmp, f.path)).update('\0').update(f.contents);
const id = hash.digest('hex').slice(0, 16);
const dir = join(DIST, id);
const exists = await stat(join(dir, 'main.mjs')).then(() => true, () => false);
if (!exists) {
  await mkdir(tmp, { recursive: true });
  for (const f of result.outputFiles) await writeFile(f.path, f.contents);
  await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
    // another build of the same sources got there first
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    await rm(tmp, { recursive: true, force: true });
  });
}

const sources = new Set([...Object.keys(result.metafile.inputs).filter((p) => p.startsWith('src/')), ...ALWAYS]);
const inputs = [...before].filter(([rel]) => sources.has(rel)).map(([rel, [size, mtime]]) => [rel, size, mtime]);
const manifest = { format: FORMAT, build: id, builtAt: new Date().toISOString(), inputs };
// The build this one replaces starts its hour now (its directory's mtime), not from when it was built.
const previous = await readFile(join(DIST, 'current.json'), 'utf8').then((t) => (JSON.parse(t) as { build?: unknown }).build, () => undefined);
if (typeof previous === 'string' && /^[0-9a-f]{16}$/.test(previous) && previous !== id) {
  const now = new Date();
  await utimes(join(DIST, previous), now, now).catch(() => undefined);
}
const tmpManifest = join(DIST, `.current-${process.pid}.json`);
await writeFile(tmpManifest, `${JSON.stringify(manifest)}\n`);
await rename(tmpManifest, join(DIST, 'current.json'));

// Old builds: gone an hour after they stopped being current.
for (const e of await readdir(DIST, { withFileTypes: true })) {
  if (!e.isDirectory() || e.name === id || e.name.startsWith('.')) continue;
  const s = await stat(join(DIST, e.name)).catch(() => undefined);
  if (s && Date.now() - s.mtimeMs > KEEP_OLD_MS) await rm(join(DIST, e.name), { recursive: true, force: true });
}
const bytes = result.outputFiles.reduce((n, f) => n + f.contents.length, 0);
process.stdout.write(`portcullis build: dist/cli/${id} (${result.outputFiles.length} chunks, ${(bytes / 1e6).toFixed(1)} MB, ${inputs.length} inputs checked at start)\n`);
