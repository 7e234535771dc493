import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFs, type FsFile } from '../../domain/index.ts';
import { npmCataloger, npmPurl } from './index.ts';
import { condensePackageJson, parsePackageJson } from './package-json.ts';
import { condensePackageLock, LockfileError, parsePackageLock } from './package-lock.ts';
import { jsLockKind } from './paths.ts';

const file = (path: string, text: string): FsFile => ({ path, content: Buffer.from(text), mode: 0o100644, size: text.length });
const DEBIAN = { family: 'debian', version: '12' } as const;

describe('package.json', () => {
  it('license string, legacy object, legacy arrays; normalised', () => {
    assert.deepEqual(parsePackageJson('{"name":"a","version":"1","license":"mit"}')?.licenses, ['MIT']);
    assert.deepEqual(parsePackageJson('{"license":{"type":"BSD","url":"x"}}')?.licenses, ['BSD-3-Clause']);
    assert.deepEqual(parsePackageJson('{"licenses":[{"type":"MIT"},"Apache 2.0",{"url":"only"}]}')?.licenses, ['MIT', 'Apache-2.0']);
    assert.deepEqual(parsePackageJson('{"license":"(MIT OR GPL-3.0)"}')?.licenses, ['(MIT OR GPL-3.0)']);
  });
  it('not an object, not JSON → undefined', () => {
    for (const t of ['', '[]', 'null', '{"name":', '\u0000']) assert.equal(parsePackageJson(t), undefined, t);
  });
  it('condenses installed packages to name/version/licenses and drops useless ones', () => {
    const big = JSON.stringify({ name: 'a', version: '1', license: 'MIT', readme: 'x'.repeat(10000), dependencies: { b: '1' } });
    assert.equal(condensePackageJson('node_modules/a/package.json', Buffer.from(big))?.toString(), '{"name":"a","version":"1","licenses":["MIT"]}');
    assert.equal(condensePackageJson('node_modules/a/package.json', Buffer.from('{"name":"a"}')), undefined);
    assert.equal(condensePackageJson('node_modules/a/package.json', Buffer.from('{oops')), undefined);
    assert.equal(condensePackageJson('app/package.json', Buffer.from(big))?.toString(), '{"name":"a","version":"1","licenses":["MIT"],"dependencies":{"b":"1"}}');
  });
});

describe('package-lock.json', () => {
  it('v2/v3: links to workspaces resolved; workspace packages direct; dev folded', () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { name: 'root', workspaces: ['packages/*'], dependencies: { ms: '^2' }, devDependencies: { debug: '*' } },
        'node_modules/ms': { version: '2.1.3' },
        'node_modules/debug': { version: '4.3.4', dev: true },
        'node_modules/x/node_modules/debug': { version: '4.3.4' },
        'node_modules/func1': { resolved: 'packages/func1', link: true },
        'node_modules/broken': { link: true },
        'packages/func1': { name: 'func1', version: '1.0.0' },
        'packages/func1/node_modules/left-pad': { version: '1.3.0' },
        'node_modules/noversion': {},
      },
    };
    const got = parsePackageLock(JSON.stringify(lock)).map((p) => `${p.name}@${p.version} ${p.dev ? 'dev' : '-'} ${p.relationship}`).sort();
    assert.deepEqual(got, ['debug@4.3.4 - direct', 'func1@1.0.0 - direct', 'left-pad@1.3.0 - indirect', 'ms@2.1.3 - direct']);
  });
  it('v1: nested dependencies, relationship unknown', () => {
    const lock = { lockfileVersion: 1, dependencies: { a: { version: '1.0.0', dependencies: { b: { version: '2.0.0', dev: true } } }, b: { version: '2.0.0' } } };
    assert.deepEqual(parsePackageLock(JSON.stringify(lock)).map((p) => `${p.name}@${p.version} ${p.dev} ${p.relationship}`), ['a@1.0.0 false unknown', 'b@2.0.0 false unknown']);
  });
  it('errors are LockfileErrors; deep nesting does not overflow the stack', () => {
    assert.throws(() => parsePackageLock('{'), LockfileError);
    assert.throws(() => parsePackageLock('{"lockfileVersion":"x","packages":{}}'), LockfileError);
    let deep: Record<string, unknown> = { version: '1' };
    for (let i = 0; i < 1000; i++) deep = { version: '1', dependencies: { [`p${i}`]: deep } };
    assert.throws(() => parsePackageLock(JSON.stringify({ lockfileVersion: 1, dependencies: { top: deep } })), /nested too deeply/);
  });
  it('condensing keeps the answer and drops hashes', () => {
    const lock = JSON.stringify({ lockfileVersion: 2, packages: { '': { dependencies: { a: '1' } }, 'node_modules/a': { version: '1.0.0', integrity: 'sha512-'.padEnd(500, 'x'), resolved: 'https://registry.example/a.tgz' } } });
    const c = condensePackageLock(Buffer.from(lock));
    assert.ok(c.length < lock.length / 2);
    assert.deepEqual(parsePackageLock(c.toString()), parsePackageLock(lock));
    assert.equal(condensePackageLock(Buffer.from('{broken')).toString(), '{broken');
  });
  it('lock files inside node_modules are not lock files of the project', () => {
    assert.equal(jsLockKind('app/package-lock.json'), 'npm');
    assert.equal(jsLockKind('app/node_modules/x/package-lock.json'), undefined);
    assert.equal(jsLockKind('app/node_modules/.package-lock.json'), undefined);
    assert.equal(jsLockKind('yarn.lock'), 'yarn');
  });
});

describe('npm cataloger', () => {
  const tree = (): FsFile[] => [
    file('app/package.json', '{"name":"app","version":"1.0.0"}'),
    file('app/package-lock.json', JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { a: '1' } }, 'node_modules/a': { version: '1.0.0' }, 'node_modules/gone': { version: '9.9.9' } } })),
    file('app/node_modules/a/package.json', '{"name":"a","version":"1.0.0","license":"ISC"}'),
    file('usr/share/nodejs/deb-pkg/package.json', '{"name":"deb-pkg","version":"1"}'),
    file('var/lib/dpkg/info/node-deb-pkg.list', '/usr/share/nodejs/deb-pkg/package.json\n'),
  ];
  it('an image lists node_modules (and manifests), not the lock beside them, nor dpkg-owned packages', async () => {
    const pkgs = await npmCataloger.catalog(new MemoryFs(tree()), { notes: [], os: DEBIAN });
    assert.deepEqual(pkgs.map((p) => `${p.type} ${p.name}@${p.version} ${p.filePath}`).sort(), ['node-pkg a@1.0.0 app/node_modules/a/package.json', 'node-pkg app@1.0.0 app/package.json']);
  });
  it('a project lists the lock, with licenses from node_modules, and not node_modules itself', async () => {
    const pkgs = await npmCataloger.catalog(new MemoryFs(tree()), { notes: [] });
    assert.deepEqual(pkgs.filter((p) => p.filePath?.startsWith('app/')).map((p) => `${p.type} ${p.name}@${p.version} ${p.relationship} ${p.licenses?.join(',') ?? '-'}`).sort(), ['npm a@1.0.0 direct ISC', 'npm gone@9.9.9 indirect -']);
  });
  it('a broken lock is a note naming the file', async () => {
    const ctx = { notes: [] as string[] };
    await npmCataloger.catalog(new MemoryFs([file('x/package-lock.json', '{"lockfileVersion": 2, "packages": ')]), ctx);
    assert.match(ctx.notes[0] ?? '', /^npm: \/x\/package-lock\.json could not be read \(not JSON/);
  });
  it('purls: scoped names are namespaced and escaped', () => {
    assert.equal(npmPurl('@babel/core', '7.0.0'), 'pkg:npm/%40babel/core@7.0.0');
    assert.equal(npmPurl('lodash', '4.17.21'), 'pkg:npm/lodash@4.17.21');
  });
});

describe('yarn.lock and pnpm-lock.yaml', () => {
  it('yarn v1: multi-pattern headers, scoped names, dev only through devDependencies, direct from the manifest', async () => {
    const { parseYarnLock } = await import('./yarn.ts');
    const lock = '# yarn lockfile v1\n\n"@a/b@^1.0.0", "@a/b@~1.0":\n  version "1.0.5"\n  dependencies:\n    c "^2.0.0"\n\nc@^2.0.0:\n  version "2.1.0"\n\nd@1:\n  version "1.0.0"\n';
    const got = parseYarnLock(lock, { dependencies: { '@a/b': '~1.0' }, devDependencies: { d: '1' } }).map((p) => `${p.name}@${p.version} ${p.relationship}${p.dev ? ' dev' : ''}`);
    assert.deepEqual(got, ['@a/b@1.0.5 direct', 'c@2.1.0 indirect', 'd@1.0.0 direct dev']);
    assert.deepEqual(parseYarnLock(lock).map((p) => p.relationship), ['unknown', 'unknown', 'unknown']);
  });
  it('yarn: a stray line is an error, not a hang', async () => {
    const { parseYarnLock, YarnLockError } = await import('./yarn.ts');
    assert.throws(() => parseYarnLock('not a lock file\n'), YarnLockError);
  });
  it('pnpm v9: packages keyed name@version, importers give direct dependencies', async () => {
    const { parsePnpmLock } = await import('./pnpm.ts');
    const lock = "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      '@scope/a':\n        specifier: ^1\n        version: 1.2.0\npackages:\n  '@scope/a@1.2.0':\n    resolution: {integrity: sha512-x}\n  b@2.0.0:\n    resolution: {integrity: sha512-y}\n  local@link:../local:\n    resolution: {directory: ../local}\nsnapshots:\n  '@scope/a@1.2.0':\n    dependencies:\n      b: 2.0.0\n";
    assert.deepEqual(parsePnpmLock(lock).map((p) => `${p.name}@${p.version} ${p.relationship}`), ['@scope/a@1.2.0 direct', 'b@2.0.0 indirect']);
  });
  it('pnpm: not YAML, YAML alias bombs → errors', async () => {
    const { parsePnpmLock, PnpmLockError } = await import('./pnpm.ts');
    assert.throws(() => parsePnpmLock('packages: [unclosed\n'), PnpmLockError);
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x,x]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n');
    assert.throws(() => parsePnpmLock(bomb), PnpmLockError);
  });
  it('lock files in an image are read only where no node_modules sits beside them', async () => {
    const yarn = file('app/yarn.lock', '# yarn lockfile v1\n\nx@^1:\n  version "1.0.0"\n');
    const withNm = await npmCataloger.catalog(new MemoryFs([yarn, file('app/node_modules/x/package.json', '{"name":"x","version":"1.0.1"}')]), { notes: [], os: DEBIAN });
    assert.deepEqual(withNm.map((p) => `${p.type} ${p.version}`), ['node-pkg 1.0.1']);
    const bundled = await npmCataloger.catalog(new MemoryFs([yarn]), { notes: [], os: DEBIAN });
    assert.deepEqual(bundled.map((p) => `${p.type} ${p.version}`), ['yarn 1.0.0']);
  });
});
