// `npm ci` / `npm install` run this (the `prepare` script): build the CLI's start-up bundle
// (scripts/build.ts, docs/cli.md) when this Node can run it. Plain JavaScript so that an install on
// an older Node without devDependencies (no Node 24 from the `node` package) does not fail here:
// the bundle is an optimisation, and the CLI runs src/ without it.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stdout.write(`portcullis build: skipped (Node ${process.version}; the bundle is built with Node 24): the CLI runs src/\n`);
} else {
  await import('./build.ts');
}
