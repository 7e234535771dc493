import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryFs, type FsFile, type Package } from '../../domain/index.ts';
import { TESTDATA } from '../../../test/helpers/paths.ts';
import { trivyBinary } from '../../../test/helpers/trivy.ts';
import { cargoCataloger, cargoPurl, cargoTomlDependencies, parseCargoLock } from './index.ts';
import { RequirementError, satisfies } from './requirement.ts';

const file = (path: string, text: string): FsFile => ({ path, content: Buffer.from(text), mode: 0o100644, size: text.length });

const LOCK = `version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "a",
 "b 1.0.0",
 "c 2.0.0 (registry+https://github.com/rust-lang/crates.io-index)",
 "t",
 "w",
 "p",
 "dev",
]

[[package]]
name = "a"
version = "0.5.2"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["d"]

[[package]]
name = "b"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "b"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "c"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "d"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "dev"
version = "3.1.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["devdep"]

[[package]]
name = "devdep"
version = "0.9.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "t"
version = "1.2.3"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "w"
version = "0.3.0"
source = "git+https://github.com/x/w#abc"

[[package]]
name = "p"
version = "0.0.1"

[[package]]
name = "a"
version = "0.5.2"
source = "registry+https://github.com/rust-lang/crates.io-index"
`;

const TOML = `[package]
name = "app"
version = "0.1.0"

[dependencies]
a = { version = "0.5", features = ["x"] }
b = "=1.0.0"
c = ">=1, <3"
p = { path = "../p" }

[target.'cfg(unix)'.dependencies]
t = "~1.2"

[workspace.dependencies]
w = "0.3"

[dev-dependencies]
dev = "3"
`;

type Row = { name: string; version: string; indirect: boolean };
const rows = (r: Row[]): string[] => r.map((x) => `${x.name}@${x.version}${x.indirect ? ' indirect' : ''}`).sort();
const ours = (pkgs: Package[], target: string): string[] =>
  rows(pkgs.filter((p) => p.filePath === target).map((p) => ({ name: p.name, version: p.version, indirect: p.relationship === 'indirect' })));

describe('Cargo version requirements', () => {
  it('caret by default, tilde, exact, ranges, wildcards, alternatives', () => {
    const cases: [string, string, boolean][] = [
      ['1.2.3', '1.2', true], ['2.0.0', '1.2', false], ['0.5.9', '0.5', true], ['0.6.0', '0.5', false],
      ['0.0.3', '^0.0.3', true], ['0.0.4', '^0.0.3', false], ['1.2.9', '~1.2', true], ['1.3.0', '~1.2.3', false],
      ['1.0.0', '=1.0.0', true], ['1.0.1', '=1.0.0', false], ['2.0.0', '>=1, <3', true], ['3.0.0', '>=1, <3', false],
      ['1.2.7', '1.2.*', true], ['1.3.0', '1.2.*', false], ['9.9.9', '*', true], ['5.0.0', '<2 || >=5', true], ['3.0.0', '<2 || >=5', false],
    ];
    for (const [v, req, want] of cases) assert.equal(satisfies(v, req), want, `${v} ${req}`);
  });
  it('invalid versions and requirements throw RequirementError', () => {
    assert.throws(() => satisfies('not-a-version', '1'), RequirementError);
    assert.throws(() => satisfies('1.0.0', '>>1'), RequirementError);
    assert.throws(() => satisfies('1.0.0', '1.0,'), RequirementError);
  });
});

describe('Cargo.lock', () => {
  it('parses packages in file order (duplicates kept), with dependencies in all three lock formats', () => {
    const crates = parseCargoLock(LOCK);
    assert.equal(crates.length, 12);
    assert.deepEqual(crates.find((c) => c.name === 'app')?.dependsOn, ['a@0.5.2', 'b@1.0.0', 'c@2.0.0', 't@1.2.3', 'w@0.3.0', 'p@0.0.1', 'dev@3.1.0']);
  });
  it('Cargo.toml dependencies: plain, tables with version, target and workspace tables; path-only and dev left out', () => {
    assert.deepEqual(Object.fromEntries(cargoTomlDependencies(TOML)), { a: '0.5', b: '=1.0.0', c: '>=1, <3', t: '~1.2', w: '0.3' });
  });
  it('without Cargo.toml: every crate (root and path crates too), relationship unknown, cargo purls', async () => {
    const ctx = { notes: [] as string[] };
    const pkgs = await cargoCataloger.catalog(new MemoryFs([file('src/Cargo.lock', LOCK)]), ctx);
    assert.deepEqual(ctx.notes, []);
    assert.equal(pkgs.length, 12);
    const a = pkgs.find((p) => p.name === 'a');
    assert.deepEqual(a, { type: 'cargo', name: 'a', version: '0.5.2', purl: 'pkg:cargo/a@0.5.2', locations: [{ path: 'src/Cargo.lock' }], filePath: 'src/Cargo.lock', relationship: 'unknown' });
    assert.equal(cargoPurl('serde_json', '1.0.0-rc.1+build'), 'pkg:cargo/serde_json@1.0.0-rc.1+build');
  });
  it('with Cargo.toml: what its dependencies reach; dev-dependencies, the root and unreachable crates dropped', async () => {
    const pkgs = await cargoCataloger.catalog(new MemoryFs([file('Cargo.lock', LOCK), file('Cargo.toml', TOML)]), { notes: [] });
    assert.deepEqual(ours(pkgs, 'Cargo.lock'), ['a@0.5.2', 'b@1.0.0', 'c@2.0.0', 'd@1.0.0 indirect', 't@1.2.3', 'w@0.3.0']);
    assert.ok(pkgs.filter((p) => p.name !== 'd').every((p) => p.relationship === 'direct'));
  });
  it('read in images too (as Trivy 0.44 does)', async () => {
    const pkgs = await cargoCataloger.catalog(new MemoryFs([file('usr/src/app/Cargo.lock', LOCK)]), { notes: [], os: { family: 'debian', version: '12' }, artifactType: 'container_image' });
    assert.equal(pkgs.length, 12);
  });
  it('malformed input gives a note, never a crash; a bad Cargo.toml lists everything with a note', async () => {
    const ctx = { notes: [] as string[] };
    const pkgs = await cargoCataloger.catalog(new MemoryFs([file('a/Cargo.lock', '[[package]\nname = "x'), file('b/Cargo.lock', LOCK), file('b/Cargo.toml', '[dependencies\n'), file('c/Cargo.lock', '\u0000\u0001junk')]), ctx);
    assert.equal(pkgs.length, 12);
    assert.equal(ctx.notes.length, 3, ctx.notes.join('\n'));
    assert.match(ctx.notes[0]!, /^cargo: \/a\/Cargo\.lock could not be read \(not TOML .*line 1.*\); its packages are missing$/);
    assert.match(ctx.notes[1]!, /^cargo: \/b\/Cargo\.toml could not be read .*dev-dependencies included$/);
    assert.match(ctx.notes[2]!, /^cargo: \/c\/Cargo\.lock could not be read/);
  });
  it('wants Cargo.lock and Cargo.toml by basename only', () => {
    assert.equal(cargoCataloger.wants({ path: 'x/Cargo.lock', size: 1, mode: 0o100644 }), true);
    assert.equal(cargoCataloger.wants({ path: 'Cargo.toml', size: 1, mode: 0o100644 }), true);
    assert.equal(cargoCataloger.wants({ path: 'x/Cargo.lock.bak', size: 1, mode: 0o100644 }), false);
  });
  it('the same crates and relationships as Trivy 0.44.1 rootfs --list-all-pkgs', async (t) => {
    const trivy = trivyBinary();
    if (!trivy) return t.skip('Trivy binary absent (PORTCULLIS_TEST_TRIVY)');
    const dir = mkdtempSync(join(tmpdir(), 'pc-cargo-'));
    try {
      const files = { 'app/Cargo.lock': LOCK, 'app/Cargo.toml': TOML, 'solo/Cargo.lock': LOCK, 'fixture/Cargo.lock': '' };
      files['fixture/Cargo.lock'] = (await import('node:fs')).readFileSync(join(import.meta.dirname, '../../vulndb/trivy/testdata/lang/lang-cargo/Cargo.lock'), 'utf8');
      for (const [p, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, 'src', p)), { recursive: true });
        writeFileSync(join(dir, 'src', p), text);
      }
      cpSync(join(TESTDATA, 'trivy-db', 'db'), join(dir, 'cache', 'db'), { recursive: true });
      const out = execFileSync(trivy, ['rootfs', '--quiet', '--list-all-pkgs', '--format', 'json', '--cache-dir', join(dir, 'cache'), '--skip-db-update', '--offline-scan', join(dir, 'src')], { encoding: 'utf8', maxBuffer: 16 << 20 });
      const report = JSON.parse(out) as { Results?: { Target: string; Type: string; Packages?: { Name: string; Version?: string; Indirect?: boolean }[] }[] };
      const pkgs = await cargoCataloger.catalog(new MemoryFs(Object.entries(files).map(([p, text]) => file(p, text))), { notes: [], artifactType: 'rootfs' });
      for (const target of ['app/Cargo.lock', 'solo/Cargo.lock', 'fixture/Cargo.lock']) {
        const r = report.Results?.find((x) => x.Target === target);
        assert.equal(r?.Type, 'cargo', target);
        assert.deepEqual(ours(pkgs, target), rows((r?.Packages ?? []).map((p) => ({ name: p.Name, version: p.Version ?? '', indirect: p.Indirect === true }))), target);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
