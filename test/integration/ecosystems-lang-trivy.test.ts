/**
 * Language packages: the same answer as the real Trivy 0.44.1 on the same trees, compared as
 * rows of `type | file | name | version` (file: the package's FilePath for the types Trivy
 * aggregates under 'Node.js'/'Python', else the result Target). Image-like trees (an OS release
 * file) are compared with `trivy rootfs`, project trees with `trivy fs` (src/ecosystems/python/mode.ts).
 * Trees are made of real files: shared fixtures, the Trivy repo goldens' inputs, this machine's
 * dpkg database and Debian-packaged Python metadata.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import type { Package } from '../../src/domain/index.ts';
import { catalogFs, fileSelector } from '../../src/ecosystems/index.ts';
import { analyzeTarget } from '../../src/image/index.ts';
import { elfWithBuildInfo, machoWithBuildInfo, peWithBuildInfo } from '../../src/ecosystems/gobinary/testdata/exe-writer.ts';
import { sampleArchives } from '../../src/ecosystems/java/testdata/jars.ts';
import { DatabaseSync } from 'node:sqlite';
import { REPO_ROOT, TESTDATA } from '../helpers/paths.ts';
import { trivyBinary } from '../helpers/trivy.ts';

const run = promisify(execFile);
const trivy = trivyBinary();
const work = mkdtempSync(join(tmpdir(), 'lang-parity-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface TrivyReport {
  Results?: { Target: string; Class: string; Type?: string; Packages?: { Name: string; Version: string; FilePath?: string }[] }[];
}

async function trivyRows(mode: 'fs' | 'rootfs', dir: string): Promise<string[]> {
  const cache = mkdtempSync(join(work, 'cache-'));
  const out = join(cache, 'report.json');
  await run(trivy as string, [mode, '--cache-dir', cache, '--format', 'json', '--list-all-pkgs', '--scanners', 'license', '--offline-scan', '--quiet', '-o', out, dir], { timeout: 180_000 });
  const rep = JSON.parse(readFileSync(out, 'utf8')) as TrivyReport;
  const rows: string[] = [];
  for (const r of rep.Results ?? []) {
    if (r.Class !== 'lang-pkgs' || !r.Type) continue;
    for (const p of r.Packages ?? []) rows.push([r.Type, p.FilePath ?? r.Target, p.Name, p.Version].join(' | '));
  }
  return rows.sort();
}

/** Our rows; dev dependencies are left out, as Trivy 0.44 leaves them out of its reports. */
async function ourRows(dir: string): Promise<{ rows: string[]; pkgs: Package[]; notes: string[] }> {
  const res = await analyzeTarget(`rootfs:${dir}`, fileSelector(), { cacheDir: join(work, 'ours'), noCache: true });
  const cat = await catalogFs(res.fs, { artifactType: res.artifact.type });
  const pkgs = cat.packages.filter((p) => !['apk', 'deb', 'rpm'].includes(p.type));
  const rows = pkgs.filter((p) => !p.dev).map((p) => [p.type, p.filePath ?? '', p.name, p.version].join(' | '));
  return { rows: rows.sort(), pkgs, notes: [...res.notes, ...cat.notes] };
}

function put(root: string, path: string, src: { from: string } | { text: string }): void {
  const abs = join(root, path);
  mkdirSync(dirname(abs), { recursive: true });
  if ('from' in src) copyFileSync(src.from, abs);
  else writeFileSync(abs, src.text);
}

const json = (o: unknown): { text: string } => ({ text: JSON.stringify(o) });
const skip = trivy ? false : 'no Trivy binary (set PORTCULLIS_TEST_TRIVY)';
const DEBIAN_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';
const DIST_PACKAGES = '/usr/lib/python3/dist-packages';
const debianDists = existsSync(DIST_PACKAGES) ? readdirSync(DIST_PACKAGES).filter((d) => existsSync(join(DIST_PACKAGES, d, 'METADATA')) || existsSync(join(DIST_PACKAGES, d, 'PKG-INFO'))).length : 0;

const rpmSkip = await run('rpmbuild', ['--version']).then(() => false, () => 'no rpmbuild (apt rpm)');

/** A noarch rpm holding the given files, built offline with rpmbuild. */
async function buildRpm(top: string, name: string, vendor: string, files: Record<string, string>): Promise<string> {
  const install = Object.entries(files).map(([p, text]) => `mkdir -p %{buildroot}/${dirname(p)}\nprintf '%s' '${text.replaceAll("'", '')}' > %{buildroot}/${p}`).join('\n');
  const spec = `Name: ${name}\nVersion: 1.0\nRelease: 1.el9\nSummary: test\nLicense: MIT\nVendor: ${vendor}\nBuildArch: noarch\n%description\ntest\n%install\n${install}\n%files\n${Object.keys(files).map((p) => `/${p}`).join('\n')}\n`;
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  writeFileSync(join(top, 'SPECS', `${name}.spec`), spec);
  await run('rpmbuild', ['--quiet', '--define', `_topdir ${top}`, '-bb', join(top, 'SPECS', `${name}.spec`)], { timeout: 120_000 });
  return join(top, 'RPMS', 'noarch', `${name}-1.0-1.el9.noarch.rpm`);
}

const GOCODE = '/usr/share/gocode/src';
const goSkip = await run('go', ['version']).then(
  () => (existsSync(`${GOCODE}/github.com/pkg/errors`) && existsSync(`${GOCODE}/github.com/davecgh/go-spew`) && existsSync(`${GOCODE}/golang.org/x/xerrors`) ? false : 'Debian Go module sources missing (golang-github-pkg-errors-dev …)'),
  () => 'no Go toolchain (apt golang-go)',
);

/**
 * A real module-mode Go binary, built offline from Debian's packaged module sources vendored in:
 * three dependencies, one of them replaced by another version (`=>` in its build info).
 */
async function buildGoApp(dir: string): Promise<string> {
  mkdirSync(join(dir, 'vendor'), { recursive: true });
  for (const m of ['github.com/pkg/errors', 'github.com/davecgh/go-spew', 'golang.org/x/xerrors']) cpSync(join(GOCODE, m), join(dir, 'vendor', m), { recursive: true });
  writeFileSync(join(dir, 'go.mod'), 'module example.com/app\n\ngo 1.19\n\nrequire (\n\tgithub.com/davecgh/go-spew v1.1.1\n\tgithub.com/pkg/errors v0.9.1\n\tgolang.org/x/xerrors v0.0.0-20220907171357-04be3eba64a2\n)\n\nreplace github.com/davecgh/go-spew => github.com/davecgh/go-spew v1.1.0\n');
  writeFileSync(join(dir, 'vendor/modules.txt'), '# github.com/davecgh/go-spew v1.1.1 => github.com/davecgh/go-spew v1.1.0\n## explicit\ngithub.com/davecgh/go-spew/spew\n# github.com/pkg/errors v0.9.1\n## explicit\ngithub.com/pkg/errors\n# golang.org/x/xerrors v0.0.0-20220907171357-04be3eba64a2\n## explicit\ngolang.org/x/xerrors\ngolang.org/x/xerrors/internal\n# github.com/davecgh/go-spew => github.com/davecgh/go-spew v1.1.0\n');
  writeFileSync(join(dir, 'main.go'), 'package main\n\nimport (\n\t"fmt"\n\n\t"github.com/davecgh/go-spew/spew"\n\t"github.com/pkg/errors"\n\t"golang.org/x/xerrors"\n)\n\nfunc main() { fmt.Println(errors.New("a"), xerrors.New("b"), spew.Sdump(1)) }\n');
  const out = join(dir, 'app');
  const env = { ...process.env, GOFLAGS: '-mod=vendor', GOPROXY: 'off', GOWORK: 'off', GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GO111MODULE: 'on' };
  await run('go', ['build', '-o', out, '.'], { cwd: dir, env, timeout: 600_000 });
  return out;
}

describe('language packages: same answer as the real Trivy', { skip }, () => {
  for (const name of ['trivy-repo-npm', 'trivy-repo-pip', 'trivy-repo-poetry', 'trivy-repo-gomod']) {
    it(`${name}/input as a project tree (trivy fs)`, async () => {
      const dir = join(TESTDATA, 'golden-scans', name, 'input');
      const [theirs, ours] = await Promise.all([trivyRows('fs', dir), ourRows(dir)]);
      assert.ok(theirs.length > 0);
      assert.deepEqual(ours.rows, theirs);
      assert.deepEqual(ours.notes, []);
    });
  }

  it('yarn v1 and Berry, pnpm v5 and v6 lock files in a project (trivy fs)', async () => {
    const dir = join(REPO_ROOT, 'src/ecosystems/npm/testdata/js-locks');
    const [theirs, ours] = await Promise.all([trivyRows('fs', dir), ourRows(dir)]);
    assert.equal(theirs.length, 11);
    assert.deepEqual(ours.rows, theirs);
    assert.deepEqual(ours.pkgs.filter((p) => p.dev).map((p) => `${p.filePath} ${p.name}`).sort(), ['p5/pnpm-lock.yaml lodash', 'y1/yarn.lock ms']);
  });

  it('the same npm tree inside an image (trivy rootfs): node_modules count, the lock does not', async () => {
    const root = join(work, 'npm-image');
    cpSync(join(TESTDATA, 'golden-scans/trivy-repo-npm/input'), join(root, 'app'), { recursive: true });
    put(root, 'etc/os-release', { text: DEBIAN_RELEASE });
    const [theirs, ours] = await Promise.all([trivyRows('rootfs', root), ourRows(root)]);
    assert.equal(theirs.length, 6);
    assert.deepEqual(ours.rows, theirs);
  });

  it('Cargo.lock and composer.lock in an image (trivy rootfs) and in a project (trivy fs): Cargo.toml and composer.json beside them, installed.json not read', async () => {
    const lockDir = join(REPO_ROOT, 'src/vulndb/trivy/testdata/lang');
    const cargoLock = '# generated\nversion = 3\n\n[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "serde",\n "tempfile",\n]\n\n[[package]]\nname = "serde"\nversion = "1.0.100"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\ndependencies = ["itoa 1.0.1"]\n\n[[package]]\nname = "itoa"\nversion = "1.0.1"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n\n[[package]]\nname = "itoa"\nversion = "0.4.8"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n\n[[package]]\nname = "tempfile"\nversion = "3.1.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n';
    const tree = (root: string): void => {
      put(root, 'usr/src/app/Cargo.lock', { text: cargoLock });
      put(root, 'usr/src/app/Cargo.toml', { text: '[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\nserde = { version = "1", features = ["derive"] }\n\n[dev-dependencies]\ntempfile = "3"\n' });
      put(root, 'opt/solo/Cargo.lock', { text: cargoLock });
      put(root, 'opt/fixture/Cargo.lock', { from: join(lockDir, 'lang-cargo/Cargo.lock') });
      put(root, 'var/www/composer.lock', json({ packages: [{ name: 'guzzlehttp/psr7', version: '1.8.3', license: ['MIT'], require: { 'psr/http-message': '~1.0' } }, { name: 'psr/http-message', version: '1.0.1', license: ['MIT'] }], 'packages-dev': [{ name: 'phpunit/phpunit', version: '9.5.0' }] }));
      put(root, 'var/www/composer.json', json({ require: { 'guzzlehttp/psr7': '^1.8' }, 'require-dev': { 'phpunit/phpunit': '^9' } }));
      put(root, 'var/www/vendor/composer/installed.json', json({ packages: [{ name: 'monolog/monolog', version: '2.3.0' }] }));
      put(root, 'var/www/vendor/psr/http-message/composer.json', json({ name: 'psr/http-message', require: { php: '>=5.3.0' } }));
      put(root, 'srv/composer.lock', { from: join(lockDir, 'lang-composer/3/composer.lock') });
    };
    const image = join(work, 'cargo-composer-image');
    tree(image);
    put(image, 'etc/os-release', { text: DEBIAN_RELEASE });
    const project = join(work, 'cargo-composer-project');
    tree(project);
    for (const [mode, root] of [['rootfs', image], ['fs', project]] as const) {
      const [theirs, ours] = await Promise.all([trivyRows(mode, root), ourRows(root)]);
      assert.equal(theirs.length, 2 + 5 + 9 + 2 + 1, `${mode}: ${theirs.join('\n')}`);
      assert.deepEqual(ours.rows, theirs, mode);
      assert.deepEqual(ours.notes, [], mode);
    }
  });

  it('node_modules in an image: nesting, scopes, manifests, broken and nameless files, a lock without node_modules', async () => {
    const root = join(work, 'node-image');
    put(root, 'etc/os-release', { text: DEBIAN_RELEASE });
    put(root, 'app/package.json', json({ name: 'myapp', version: '1.0.0', license: 'ISC', dependencies: { b: '^1' } }));
    put(root, 'app/node_modules/@scope/a/package.json', json({ name: '@scope/a', version: '2.0.0', licenses: [{ type: 'MIT' }, 'Apache-2.0'] }));
    put(root, 'app/node_modules/b/package.json', json({ name: 'b', version: '1.0.0', license: { type: 'BSD' } }));
    put(root, 'app/node_modules/b/node_modules/c/package.json', json({ name: 'c', version: '3.0.0' }));
    put(root, 'app/node_modules/b/node_modules/c/test/fixture/package.json', json({ name: 'fixture', version: '0.0.1' }));
    put(root, 'app/node_modules/d/package.json', json({ name: 'd' }));
    put(root, 'app/node_modules/e/package.json', { text: '{"name":"e","version":"1.0.0", broken' });
    put(root, 'app/node_modules/f/package.json', { text: '[1,2]' });
    put(root, 'usr/lib/node_modules/npm/package.json', json({ name: 'npm', version: '9.2.0', license: 'Artistic-2.0' }));
    put(root, 'app/package-lock.json', { from: join(TESTDATA, 'pkgdb/npm-trivy-package-lock-v2/package-lock.json') });
    // a bundled app: a lock and no node_modules beside it — we list it, Trivy (images) does not
    put(root, 'srv/bundle/package-lock.json', { from: join(TESTDATA, 'pkgdb/npm-trivy-package-lock-v3-with-peer/package-lock.json') });
    const [theirs, ours] = await Promise.all([trivyRows('rootfs', root), ourRows(root)]);
    assert.equal(theirs.length, 6);
    assert.deepEqual(ours.rows.filter((r) => !r.startsWith('npm | srv/bundle/')), theirs);
    assert.deepEqual(
      ours.rows.filter((r) => r.startsWith('npm | srv/bundle/')),
      ['lodash 4.17.21', 'mustache 2.3.2', 'triple-beam 1.4.1', 'winston 3.17.0', 'winston-mail 2.0.0'].map((s) => `npm | srv/bundle/package-lock.json | ${s.replace(' ', ' | ')}`),
    );
    const a = ours.pkgs.find((p) => p.name === '@scope/a');
    assert.equal(a?.purl, 'pkg:npm/%40scope/a@2.0.0');
    assert.deepEqual(a?.licenses, ['MIT', 'Apache-2.0']);
    assert.deepEqual(ours.pkgs.find((p) => p.name === 'b')?.licenses, ['BSD-3-Clause']);
    assert.deepEqual(ours.notes, []);
  });

  it('Python in an image: dpkg-owned metadata (this machine\'s real dpkg .list files) is not reported, a venv is', { skip: debianDists >= 5 ? false : `fewer than 5 Debian-packaged Python distributions in ${DIST_PACKAGES} (apt python3-yaml …)` }, async () => {
    const root = join(work, 'python-image');
    put(root, 'etc/os-release', { text: DEBIAN_RELEASE });
    put(root, 'var/lib/dpkg/status', { from: '/var/lib/dpkg/status' });
    for (const f of readdirSync('/var/lib/dpkg/info')) if (f.endsWith('.list')) put(root, `var/lib/dpkg/info/${f}`, { from: `/var/lib/dpkg/info/${f}` });
    let copied = 0;
    for (const d of readdirSync(DIST_PACKAGES)) {
      for (const meta of ['METADATA', 'PKG-INFO']) {
        const src = join(DIST_PACKAGES, d, meta);
        if (!existsSync(src)) continue;
        put(root, `usr/lib/python3/dist-packages/${d}/${meta}`, { from: src });
        // the same distribution pip-installed into a venv: not owned by dpkg
        if (copied++ < 5) put(root, `opt/venv/lib/python3.11/site-packages/${d}/${meta}`, { from: src });
      }
    }
    assert.ok(copied >= 5, 'this machine has Debian-packaged Python distributions');
    put(root, 'opt/venv/lib/python3.11/site-packages/broken.dist-info/METADATA', { text: 'no headers here\n' });
    put(root, 'opt/venv/lib/python3.11/site-packages/legacy.egg-info', { text: 'Metadata-Version: 1.0\nName: legacy\nVersion: 0.1\nLicense: BSD\n' });
    const [theirs, ours] = await Promise.all([trivyRows('rootfs', root), ourRows(root)]);
    assert.equal(theirs.length, 6);
    assert.ok(theirs.every((r) => r.includes('| opt/venv/')), theirs.join('\n'));
    assert.deepEqual(ours.rows, theirs);
  });

  it('Go binaries in an image: a real module build, old pointer-layout ELF, PE and Mach-O, dpkg-owned and non-executable ones, go.mod', { skip: goSkip }, async () => {
    const root = join(work, 'go-image');
    put(root, 'etc/os-release', { text: DEBIAN_RELEASE });
    const real = await buildGoApp(join(work, 'go-build'));
    put(root, 'usr/local/bin/app', { from: real });
    put(root, 'usr/bin/packaged-app', { from: real });
    put(root, 'var/lib/dpkg/info/packaged-app.list', { text: '/.\n/usr\n/usr/bin\n/usr/bin/packaged-app\n' });
    put(root, 'opt/not-executable', { from: real });
    put(root, 'usr/bin/skopeo', { from: '/usr/bin/skopeo' });
    const modinfo = 'path\texample.com/old/cmd/x\nmod\texample.com/old\tv1.2.3\th1:a=\ndep\tgolang.org/x/text\tv0.3.6\th1:b=\ndep\tgithub.com/a/b\tv1.0.0\n=>\tgithub.com/c/d\tv1.1.0\th1:c=\ndep\tgithub.com/local/e\tv0.1.0\n=>\t../e\t\t\n';
    put(root, 'usr/local/bin/old', { text: '' });
    writeFileSync(join(root, 'usr/local/bin/old'), elfWithBuildInfo({ goVersion: 'go1.16.15', modinfo, layout: 'pointer' }));
    writeFileSync(join(root, 'usr/local/bin/tool.exe'), peWithBuildInfo({ goVersion: 'go1.20', modinfo, layout: 'inline' }));
    writeFileSync(join(root, 'usr/local/bin/tool-darwin'), machoWithBuildInfo({ goVersion: 'go1.15', modinfo, layout: 'pointer' }));
    for (const f of ['usr/local/bin/app', 'usr/bin/packaged-app', 'usr/bin/skopeo', 'usr/local/bin/old', 'usr/local/bin/tool.exe', 'usr/local/bin/tool-darwin']) chmodSync(join(root, f), 0o755);
    chmodSync(join(root, 'opt/not-executable'), 0o644);
    put(root, 'src/svc/go.mod', { from: join(TESTDATA, 'golden-scans/trivy-repo-gomod/input/submod/go.mod') });
    put(root, 'src/svc/go.sum', { from: join(TESTDATA, 'golden-scans/trivy-repo-gomod/input/submod/go.sum') });
    const [theirs, ours] = await Promise.all([trivyRows('rootfs', root), ourRows(root)]);
    // Deliberate differences (docs/ecosystems-lang.md): Trivy 0.44 lists a local replacement as
    // '../e' with an empty version; we list versioned main modules, as current Trivy does.
    const localReplace = theirs.filter((r) => r.includes('| ../e | '));
    assert.equal(localReplace.length, 3);
    const mains = ours.rows.filter((r) => r.includes('| example.com/old | v1.2.3'));
    assert.equal(mains.length, 3);
    assert.deepEqual(ours.rows.filter((r) => !mains.includes(r)), theirs.filter((r) => !localReplace.includes(r)));
    const app = ours.rows.filter((r) => r.startsWith('gobinary | usr/local/bin/app |'));
    assert.deepEqual(app, ['github.com/davecgh/go-spew | v1.1.0', 'github.com/pkg/errors | v0.9.1', 'golang.org/x/xerrors | v0.0.0-20220907171357-04be3eba64a2'].map((s) => `gobinary | usr/local/bin/app | ${s}`));
    assert.ok(ours.rows.some((r) => r.startsWith('gomod | src/svc/go.mod | ')));
  });

  const BENCH = process.env['PORTCULLIS_BENCH_IMAGES'] ?? '/tmp/bench/images';
  for (const img of ['node', 'python']) {
    const tar = join(BENCH, 'docker', `${img}.tar`);
    it(`benchmark image ${img} (docker-archive): the same npm and Python packages as trivy image`, { skip: existsSync(tar) ? false : `no ${tar} (shared/bench/make-images.sh)` }, async () => {
      const cache = mkdtempSync(join(work, 'cache-'));
      const out = join(cache, 'report.json');
      await run(trivy as string, ['image', '--input', tar, '--cache-dir', cache, '--format', 'json', '--list-all-pkgs', '--scanners', 'license', '--offline-scan', '--quiet', '-o', out], { timeout: 300_000 });
      const rep = JSON.parse(readFileSync(out, 'utf8')) as TrivyReport;
      const theirs = (rep.Results ?? []).filter((r) => r.Class === 'lang-pkgs' && r.Type).flatMap((r) => (r.Packages ?? []).map((p) => [r.Type, p.FilePath ?? r.Target, p.Name, p.Version].join(' | '))).sort();
      const res = await analyzeTarget(`docker-archive:${tar}`, fileSelector(), { cacheDir: join(work, 'ours'), noCache: true });
      const cat = await catalogFs(res.fs, { artifactType: res.artifact.type });
      const ours = cat.packages.filter((p) => !['apk', 'deb', 'rpm'].includes(p.type)).map((p) => [p.type, p.filePath ?? '', p.name, p.version].join(' | ')).sort();
      assert.ok(theirs.length >= 17, `Trivy found ${theirs.length}`);
      assert.deepEqual(ours, theirs);
      if (img === 'node') {
        assert.ok(!ours.some((r) => r.includes('| moment |')), 'moment was deleted by a whiteout');
        assert.deepEqual(ours.filter((r) => r.includes('| axios |')), ['node-pkg | app/node_modules/axios/package.json | axios | 0.21.4']);
      }
    });
  }

  it('RHEL-family image: metadata of vendor rpms is not reported, of third-party rpms it is (real rpmdb built with rpmbuild)', { skip: rpmSkip }, async () => {
    const root = join(work, 'rpm-image');
    put(root, 'etc/redhat-release', { text: 'Rocky Linux release 9.3 (Blue Onyx)\n' });
    put(root, 'etc/os-release', { text: 'NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nID="rocky"\nVERSION_ID="9.3"\n' });
    const build = join(work, 'rpmbuild');
    const rpms = [
      await buildRpm(build, 'python3-vendor', 'Rocky Enterprise Software Foundation', { 'usr/lib/python3.9/site-packages/vendor_pkg-1.0.dist-info/METADATA': 'Name: vendor-pkg\nVersion: 1.0\n', 'usr/lib/node_modules/vendor-js/package.json': '{"name":"vendor-js","version":"1.0.0"}' }),
      await buildRpm(build, 'python3-thirdparty', 'Example Corp', { 'usr/lib/python3.9/site-packages/third-2.0.dist-info/METADATA': 'Name: third\nVersion: 2.0\n' }),
    ];
    await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '--initdb']);
    await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-i', '--nodeps', '--noscripts', ...rpms]);
    put(root, 'opt/venv/lib/python3.9/site-packages/venv_pkg-3.0.dist-info/METADATA', { text: 'Name: venv-pkg\nVersion: 3.0\n' });
    const [theirs, ours] = await Promise.all([trivyRows('rootfs', root), ourRows(root)]);
    assert.deepEqual(theirs, ['python-pkg | opt/venv/lib/python3.9/site-packages/venv_pkg-3.0.dist-info/METADATA | venv-pkg | 3.0', 'python-pkg | usr/lib/python3.9/site-packages/third-2.0.dist-info/METADATA | third | 2.0']);
    assert.deepEqual(ours.rows, theirs);
  });

  it('Java archives (trivy rootfs with an empty Java index DB): Debian\'s jars, a WAR with nested jars', async () => {
    const root = join(work, 'java-image');
    put(root, 'etc/os-release', { text: DEBIAN_RELEASE });
    const { war, lib } = await sampleArchives();
    put(root, 'srv/app.war', { text: '' });
    writeFileSync(join(root, 'srv/app.war'), war);
    writeFileSync(join(root, 'srv/lib-a-1.2.3.jar'), lib);
    // Debian's packaged jars, regular files only (their versioned names are symlinks: see docs on linkOf)
    let debian = 0;
    if (existsSync('/usr/share/java')) {
      for (const f of readdirSync('/usr/share/java', { withFileTypes: true })) {
        if (f.isFile() && f.name.endsWith('.jar')) {
          put(root, `usr/share/java/${f.name}`, { from: `/usr/share/java/${f.name}` });
          debian++;
        }
      }
    }
    const cache = mkdtempSync(join(work, 'cache-'));
    emptyJavaDb(cache);
    mkdirSync(join(cache, 'db'));
    for (const f of ['trivy.db', 'metadata.json']) copyFileSync(join(TESTDATA, 'trivy-db/db', f), join(cache, 'db', f));
    const out = join(cache, 'report.json');
    await run(trivy as string, ['rootfs', '--cache-dir', cache, '--skip-db-update', '--skip-java-db-update', '--offline-scan', '--scanners', 'vuln', '--format', 'json', '--list-all-pkgs', '--quiet', '-o', out, root], { timeout: 180_000 });
    const rep = JSON.parse(readFileSync(out, 'utf8')) as TrivyReport;
    const theirs = (rep.Results ?? []).filter((r) => r.Type === 'jar').flatMap((r) => (r.Packages ?? []).map((p) => ['jar', p.FilePath ?? r.Target, p.Name, p.Version].join(' | '))).sort();
    const ours = await ourRows(root);
    // Deliberate difference: a pom.properties without a version is not a package (Trivy lists 'bad:incomplete' with an empty version)
    const incomplete = theirs.filter((r) => r.endsWith('| bad:incomplete | '));
    assert.equal(incomplete.length, 1);
    assert.ok(theirs.length >= 6 + (debian ? 1 : 0), `Trivy found ${theirs.length}`);
    assert.deepEqual(ours.rows, theirs.filter((r) => !incomplete.includes(r)));
    assert.deepEqual(ours.notes, ['jar: /srv/app.war/WEB-INF/lib/broken.jar: not a zip archive (too short); packages in that part are missing']);
  });
});

/** Trivy 0.44 analyses jars only with its Java index DB; an empty one (same schema) makes it run offline. */
function emptyJavaDb(cache: string): void {
  const dir = join(cache, 'java-db');
  mkdirSync(dir, { recursive: true });
  const db = new DatabaseSync(join(dir, 'trivy-java.db'));
  db.exec('CREATE TABLE artifacts(id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT); CREATE TABLE indices(artifact_id INTEGER, version TEXT, sha1 BLOB, archive_type TEXT, foreign key (artifact_id) references artifacts(id)); CREATE UNIQUE INDEX artifacts_idx ON artifacts(artifact_id, group_id); CREATE INDEX indices_artifact_idx ON indices(artifact_id); CREATE UNIQUE INDEX indices_sha1_idx ON indices(sha1);');
  db.close();
  writeFileSync(join(dir, 'metadata.json'), JSON.stringify({ Version: 1, NextUpdate: '2099-01-01T00:00:00Z', UpdatedAt: '2023-08-23T00:00:00Z', DownloadedAt: '2023-08-23T00:00:00Z' }));
}

