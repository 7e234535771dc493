/**
 * bin/portcullis.js and the start-up bundle (docs/cli.md): the launcher runs dist/cli/<id>/main.js
 * only while every input the build listed has the size and mtime it had, else src/main.ts; the
 * bundle scripts/build.ts makes gives the same output as src/ (SBOMs, the demo scan, errors, help),
 * with the layer-decoding worker, lazy command chunks and files found relative to the sources
 * (package.json, demo/) working from it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.ts';

const NODE = process.execPath;
const DEMO = join(REPO_ROOT, 'demo', 'image');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(NODE, args, { cwd: work, env: { ...process.env, NO_COLOR: '1', PORTCULLIS_LAUNCHER_TRACE: '', ...env }, maxBuffer: 64 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'pc-launch-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('launcher freshness rule', () => {
  // A project of its own: the real launcher, a src/main.ts and a "bundle" that say which ran.
  let root: string;
  let launcher: string;
  const BUILD = '0123456789abcdef';
  const input = (): string => join(root, 'src', 'a.ts');
  const writeManifest = (inputs: unknown, build: string = BUILD): void => {
    writeFileSync(join(root, 'dist', 'cli', 'current.json'), JSON.stringify({ format: 2, build, inputs }));
  };
  const listed = (rel: string): [string, number, number] => {
    const s = statSync(join(root, rel));
    return [rel, s.size, s.mtimeMs];
  };
  const which = async (env: NodeJS.ProcessEnv = {}): Promise<{ ran: string; trace: string }> => {
    const r = await run([launcher], { PORTCULLIS_LAUNCHER_TRACE: '1', ...env });
    assert.equal(r.code, 0, r.stderr);
    return { ran: r.stdout.trim(), trace: r.stderr.trim() };
  };

  before(() => {
    root = join(work, 'project');
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'src'), { recursive: true });
    mkdirSync(join(root, 'dist', 'cli', BUILD), { recursive: true });
    launcher = join(root, 'bin', 'portcullis.js');
    copyFileSync(join(REPO_ROOT, 'bin', 'portcullis.js'), launcher);
    writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
    writeFileSync(join(root, 'src', 'main.ts'), "process.stdout.write('src\\n');\n");
    writeFileSync(input(), 'export const a: number = 1;\n');
    writeFileSync(join(root, 'dist', 'cli', BUILD, 'main.mjs'), "process.stdout.write('bundle\\n');\n");
  });

  it('runs the bundle while every listed input has its recorded size and mtime', async () => {
    writeManifest([listed('src/a.ts'), listed('package.json')]);
    const w = await which();
    assert.equal(w.ran, 'bundle');
    assert.match(w.trace, new RegExp(`launcher: .*dist/cli/${BUILD}/main\\.mjs`));
  });

  it('runs src/ when an input was touched, and the bundle again when its mtime is back', async () => {
    const t = new Date('2026-01-02T03:04:05Z'); // whole seconds: utimes sets them exactly
    utimesSync(input(), t, t);
    writeManifest([listed('src/a.ts'), listed('package.json')]);
    utimesSync(input(), t, new Date(t.getTime() + 1000));
    const w = await which();
    assert.equal(w.ran, 'src');
    assert.match(w.trace, /stale bundle: src\/a\.ts changed/);
    utimesSync(input(), t, t);
    assert.equal((await which()).ran, 'bundle');
  });

  it('runs src/ when an input changed size under the same mtime, or is gone', async () => {
    writeManifest([listed('src/a.ts')]);
    const s = statSync(input());
    writeFileSync(input(), 'export const a: number = 22;\n');
    utimesSync(input(), s.atime, s.mtime);
    assert.equal((await which()).ran, 'src');
    writeManifest([['src/gone.ts', 10, s.mtimeMs]]);
    assert.equal((await which()).ran, 'src');
  });

  it('runs src/ with PORTCULLIS_NO_BUNDLE=1, without a manifest, or with one it cannot read', async () => {
    writeManifest([listed('src/a.ts')]);
    assert.equal((await which({ PORTCULLIS_NO_BUNDLE: '1' })).ran, 'src');
    for (const bad of ['{', '{"format":2,"build":"../../etc","inputs":[]}', '{"format":2,"build":"0123456789abcdef","inputs":{}}', '{"format":2,"build":"0123456789abcdef","inputs":[[1,2,3]]}', '{"build":"0123456789abcdef","inputs":[]}']) {
      writeFileSync(join(root, 'dist', 'cli', 'current.json'), bad);
      assert.equal((await which()).ran, 'src', bad);
    }
    writeManifest([listed('src/a.ts')], 'fedcba9876543210');
    const gone = await which();
    assert.equal(gone.ran, 'src', 'a manifest naming a build that is not there');
    assert.match(gone.trace, /fedcba9876543210\/ is gone/);
    rmSync(join(root, 'dist', 'cli', 'current.json'));
    const w = await which();
    assert.equal(w.ran, 'src');
    assert.match(w.trace, /no bundle/);
  });
});

describe('the bundle', () => {
  let bundleMain: string;
  const SRC_MAIN = join(REPO_ROOT, 'src', 'main.ts');
  // what differs between two runs of the same command: times, and the ids derived from them
  const normalise = (s: string): string =>
    s.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)/g, 'TIME').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID');
  const both = async (args: string[]): Promise<[Run, Run]> => [await run([bundleMain, ...args]), await run([SRC_MAIN, ...args])];

  before(async () => {
    const b = await run([join(REPO_ROOT, 'scripts', 'build.ts')]);
    assert.equal(b.code, 0, b.stderr);
    const m = JSON.parse(readFileSync(join(REPO_ROOT, 'dist', 'cli', 'current.json'), 'utf8')) as { build: string; inputs: [string, number, number][] };
    bundleMain = join(REPO_ROOT, 'dist', 'cli', m.build, 'main.mjs');
    const rels = m.inputs.map(([rel]) => rel);
    for (const rel of ['src/main.ts', 'src/cli/program.ts', 'src/cli/commands/sbom.ts', 'src/report/cyclonedx.ts', 'package.json', 'package-lock.json', 'bin/portcullis.js', 'scripts/build.ts']) assert.ok(rels.includes(rel), `${rel} is checked at start`);
  });

  it('knows its version and help (package.json and commander, found from the bundle)', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const [v, vs] = await both(['--version']);
    assert.equal(v.stdout.trim(), pkg.version);
    assert.equal(v.stdout, vs.stdout);
    const [h, hs] = await both(['sbom', '--help']);
    assert.equal(h.code, 0);
    assert.equal(h.stdout, hs.stdout);
  });

  it('writes the same SBOMs as src/, cold (layers decoded in the worker) and warm (layer cache)', async () => {
    for (const format of ['cyclonedx', 'spdx-json']) {
      const out = (who: string, n: number): string => join(work, `${who}-${n}.${format}.json`);
      for (const [i, cacheDir] of [join(work, `cache-b-${format}`), join(work, `cache-b-${format}`)].entries()) {
        const b = await run([bundleMain, '--cache-dir', cacheDir, 'sbom', `oci:${DEMO}`, '--format', format, '--output', out('bundle', i)]);
        assert.equal(b.code, 0, b.stderr);
      }
      const s = await run([SRC_MAIN, '--cache-dir', join(work, `cache-s-${format}`), 'sbom', `oci:${DEMO}`, '--format', format, '--output', out('src', 0)]);
      assert.equal(s.code, 0, s.stderr);
      const want = normalise(readFileSync(out('src', 0), 'utf8'));
      assert.ok(want.includes('"name"'), 'an SBOM with components');
      assert.equal(normalise(readFileSync(out('bundle', 0), 'utf8')), want, `${format}, cold`);
      assert.equal(normalise(readFileSync(out('bundle', 1), 'utf8')), want, `${format}, warm`);
    }
  });

  it('scans the demo image against the demo advisories as src/ does (lazy scan chunks, demo/ found)', async () => {
    const [b, s] = await both(['--cache-dir', join(work, 'cache-demo'), 'demo', '--format', 'json']);
    assert.equal(b.code, s.code, b.stderr);
    const findings = (JSON.parse(b.stdout) as { Results?: { Vulnerabilities?: unknown[] }[] }).Results?.flatMap((r) => r.Vulnerabilities ?? []) ?? [];
    assert.ok(findings.length > 0, 'the demo has findings');
    assert.equal(normalise(b.stdout), normalise(s.stdout));
  });

  it('fails on a bad target with the same one-line error and exit code', async () => {
    const [b, s] = await both(['--cache-dir', join(work, 'cache-bad'), 'sbom', `oci:${join(work, 'no-such-layout')}`]);
    assert.equal(b.code, 1);
    assert.equal(b.code, s.code);
    assert.match(b.stderr, /^error: /);
    assert.equal(b.stderr, s.stderr);
    assert.equal(b.stdout, '');
  });
});
