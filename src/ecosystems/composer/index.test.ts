import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryFs, type FsFile, type Package } from '../../domain/index.ts';
import { TESTDATA } from '../../../test/helpers/paths.ts';
import { trivyBinary } from '../../../test/helpers/trivy.ts';
import { composerCataloger, composerLicenses, composerPurl, parseComposerLock } from './index.ts';

const file = (path: string, text: string): FsFile => ({ path, content: Buffer.from(text), mode: 0o100644, size: text.length });

const LICENSES = ['GPL-2.0-or-later', 'GPL-3.0-only', 'LGPL-2.1-or-later', 'BSD', 'MIT or GPL-3.0', 'proprietary', 'zlib', 'Public Domain', 'Apache'];

const LOCK = JSON.stringify({
  _readme: ['x'],
  packages: [
    { name: 'guzzlehttp/psr7', version: '1.8.3', require: { php: '>=5.4.0', 'psr/http-message': '~1.0', 'ext-json': '*' }, license: ['MIT'], type: 'library' },
    { name: 'psr/http-message', version: '1.0.1', license: ['MIT', 'Apache-2.0'] },
    { name: 'Foo/Bar', version: 'dev-master', license: LICENSES },
    { name: 'noversion/x' },
    { name: 'psr/http-message', version: '1.0.2', license: ['MIT'] },
  ],
  'packages-dev': [{ name: 'phpunit/phpunit', version: '9.5.0', license: ['BSD-3-Clause'] }],
}, null, 4);
const MANIFEST = JSON.stringify({ require: { php: '>=7', 'guzzlehttp/psr7': '^1.8', 'Foo/Bar': 'dev-master' }, 'require-dev': { 'phpunit/phpunit': '^9' } });

type Row = { name: string; version: string; indirect: boolean; licenses: string[] };
const rows = (r: Row[]): string[] => r.map((x) => `${x.name}@${x.version}${x.indirect ? ' indirect' : ''} [${x.licenses.join('|')}]`).sort();
const ours = (pkgs: Package[], target: string): string[] =>
  rows(pkgs.filter((p) => p.filePath === target).map((p) => ({ name: p.name, version: p.version, indirect: p.relationship === 'indirect', licenses: p.licenses ?? [] })));

describe('composer.lock', () => {
  it('packages only (packages-dev never), one per name (the last), a missing version kept as ""', () => {
    assert.deepEqual(parseComposerLock(LOCK).map((p) => `${p.name}@${p.version}`), ['guzzlehttp/psr7@1.8.3', 'Foo/Bar@dev-master', 'noversion/x@', 'psr/http-message@1.0.2']);
  });
  it('licenses split and normalised as Trivy 0.44', () => {
    assert.deepEqual(composerLicenses(LICENSES), ['GPL-2.0', 'GPL-3.0', 'LGPL-2.1-or-later', 'BSD-3-Clause', 'MIT', 'GPL-3.0', 'proprietary', 'Zlib', 'Unlicense', 'Apache-2.0']);
  });
  it('purls: vendor as namespace, lower-cased', () => {
    assert.equal(composerPurl('guzzlehttp/psr7', 'v1.7.0'), 'pkg:composer/guzzlehttp/psr7@v1.7.0');
    assert.equal(composerPurl('Foo/Bar', 'dev-master'), 'pkg:composer/foo/bar@dev-master');
  });
  it('without composer.json relationship unknown; with it, require → direct, the rest indirect', async () => {
    const pkgs = await composerCataloger.catalog(new MemoryFs([file('a/composer.lock', LOCK), file('b/composer.lock', LOCK), file('b/composer.json', MANIFEST)]), { notes: [] });
    const g = pkgs.find((p) => p.filePath === 'a/composer.lock' && p.name === 'guzzlehttp/psr7');
    assert.deepEqual(g, { type: 'composer', name: 'guzzlehttp/psr7', version: '1.8.3', purl: 'pkg:composer/guzzlehttp/psr7@1.8.3', locations: [{ path: 'a/composer.lock' }], filePath: 'a/composer.lock', relationship: 'unknown', licenses: ['MIT'] });
    const rel = Object.fromEntries(pkgs.filter((p) => p.filePath === 'b/composer.lock').map((p) => [p.name, p.relationship]));
    assert.deepEqual(rel, { 'guzzlehttp/psr7': 'direct', 'Foo/Bar': 'direct', 'noversion/x': 'indirect', 'psr/http-message': 'indirect' });
  });
  it('read in images too (as Trivy 0.44 does); vendor/composer/installed.json is not read', async () => {
    const installed = JSON.stringify({ packages: [{ name: 'monolog/monolog', version: '2.3.0' }] });
    const pkgs = await composerCataloger.catalog(new MemoryFs([file('var/www/composer.lock', LOCK), file('var/www/vendor/composer/installed.json', installed)]), { notes: [], os: { family: 'debian', version: '12' }, artifactType: 'container_image' });
    assert.equal(pkgs.length, 4);
    assert.equal(composerCataloger.wants({ path: 'var/www/vendor/composer/installed.json', size: 1, mode: 0o100644 }), false);
  });
  it('composer.json is condensed to its require names', () => {
    const big = JSON.stringify({ name: 'x/y', description: 'z'.repeat(5000), require: { 'a/b': '^1' }, 'require-dev': { 'c/d': '1' } });
    assert.equal(composerCataloger.condense?.('vendor/x/y/composer.json', Buffer.from(big))?.toString(), '{"require":{"a/b":""}}');
    assert.equal(composerCataloger.condense?.('composer.lock', Buffer.from('{oops'))?.toString(), '{oops');
  });
  it('malformed input gives a note, never a crash', async () => {
    const ctx = { notes: [] as string[] };
    const pkgs = await composerCataloger.catalog(new MemoryFs([file('a/composer.lock', '{"packages": [{"name": '), file('b/composer.lock', '{"packages": {"x": 1}}'), file('c/composer.lock', LOCK), file('c/composer.json', '[1]'), file('d/composer.lock', '\u0000junk')]), ctx);
    assert.equal(pkgs.length, 4);
    assert.ok(pkgs.every((p) => p.relationship === 'unknown'));
    assert.equal(ctx.notes.length, 4, ctx.notes.join('\n'));
    assert.match(ctx.notes[0]!, /^composer: \/a\/composer\.lock could not be read \(not JSON .*\); its packages are missing$/);
    assert.match(ctx.notes[1]!, /^composer: \/b\/composer\.lock could not be read \("packages" is not an array\)/);
    assert.match(ctx.notes[2]!, /^composer: \/c\/composer\.json could not be read \(composer\.json is not a JSON object\)/);
    assert.match(ctx.notes[3]!, /^composer: \/d\/composer\.lock could not be read/);
  });
  it('the same packages, relationships and licenses as Trivy 0.44.1 rootfs --list-all-pkgs', async (t) => {
    const trivy = trivyBinary();
    if (!trivy) return t.skip('Trivy binary absent (PORTCULLIS_TEST_TRIVY)');
    const dir = mkdtempSync(join(tmpdir(), 'pc-composer-'));
    try {
      const files: Record<string, string> = {
        'app/composer.lock': LOCK,
        'app/composer.json': MANIFEST,
        'solo/composer.lock': LOCK,
        'fixture/composer.lock': readFileSync(join(import.meta.dirname, '../../vulndb/trivy/testdata/lang/lang-composer/3/composer.lock'), 'utf8'),
      };
      for (const [p, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, 'src', p)), { recursive: true });
        writeFileSync(join(dir, 'src', p), text);
      }
      cpSync(join(TESTDATA, 'trivy-db', 'db'), join(dir, 'cache', 'db'), { recursive: true });
      const out = execFileSync(trivy, ['rootfs', '--quiet', '--list-all-pkgs', '--format', 'json', '--cache-dir', join(dir, 'cache'), '--skip-db-update', '--offline-scan', join(dir, 'src')], { encoding: 'utf8', maxBuffer: 16 << 20 });
      const report = JSON.parse(out) as { Results?: { Target: string; Type: string; Packages?: { Name: string; Version?: string; Indirect?: boolean; Licenses?: string[] }[] }[] };
      const pkgs = await composerCataloger.catalog(new MemoryFs(Object.entries(files).map(([p, text]) => file(p, text))), { notes: [], artifactType: 'rootfs' });
      for (const target of ['app/composer.lock', 'solo/composer.lock', 'fixture/composer.lock']) {
        const r = report.Results?.find((x) => x.Target === target);
        assert.equal(r?.Type, 'composer', target);
        assert.deepEqual(ours(pkgs, target), rows((r?.Packages ?? []).map((p) => ({ name: p.Name, version: p.Version ?? '', indirect: p.Indirect === true, licenses: p.Licenses ?? [] }))), target);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
