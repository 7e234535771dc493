import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Finding, Package } from '../domain/index.ts';
import { applyIgnores, loadIgnoreFile } from './ignore.ts';
import { filterFindings, filterInventory } from './filter.ts';

const dir = mkdtempSync(join(tmpdir(), 'pc-ignore-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function pkg(name: string, version: string, purl: string, path: string): Package {
  return { type: 'node-pkg', name, version, purl, locations: [{ path }], filePath: path };
}
function finding(id: string, p: Package, extra: Partial<Finding> = {}): Finding {
  return { advisoryId: id, aliases: [], package: p, installedVersion: p.version, status: 'fixed', severity: 'HIGH', severitySource: 'nvd', fixedVersion: '9.9.9', ...extra };
}
const lodash = pkg('lodash', '4.17.15', 'pkg:npm/lodash@4.17.15', 'app/node_modules/lodash/package.json');
const text = pkg('golang.org/x/text', '0.3.6', 'pkg:golang/golang.org/x/text@v0.3.6', 'usr/bin/app');
const ms = pkg('ms', '0.7.0', 'pkg:npm/ms@0.7.0', 'app/node_modules/ms/package.json');
const all = [
  finding('CVE-2021-23337', lodash, { aliases: ['GHSA-35jh-r3h4-6jhm'] }),
  finding('CVE-2020-8203', lodash),
  finding('CVE-2022-32149', text),
  finding('GHSA-3fx5-fwvr-xrjg', ms),
];
const write = (name: string, content: string): string => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
const NOW = new Date('2026-06-01T12:00:00Z');

describe('.trivyignore', () => {
  it('ignores ids and aliases, honours comments, exp: dates and package lines', () => {
    const f = write(
      '.trivyignore',
      '# accepted risks\nGHSA-35jh-r3h4-6jhm   # alias of CVE-2021-23337\nCVE-2020-8203 exp:2026-05-31\n\ngolang.org/x/text\n',
    );
    const set = loadIgnoreFile(f, true, NOW);
    assert.equal(set.rules.length, 2);
    assert.equal(set.expired.length, 1);
    assert.equal(set.expired[0]?.id, 'CVE-2020-8203');
    const { kept, ignored } = applyIgnores(all, set);
    assert.deepEqual(kept.map((k) => k.advisoryId), ['CVE-2020-8203', 'GHSA-3fx5-fwvr-xrjg']);
    assert.deepEqual(ignored.map((i) => i.rule.origin), [`${f}:2`, `${f}:5`]);
  });
  it('an expiry date is inclusive', () => {
    const f = write('.trivyignore-exp', 'CVE-2020-8203 exp:2026-06-01\n');
    assert.equal(loadIgnoreFile(f, true, NOW).rules.length, 1);
  });
  it('rejects junk after an id with the file and line', () => {
    const f = write('.trivyignore-bad', 'CVE-2020-8203 because\n');
    assert.throws(() => loadIgnoreFile(f, true, NOW), /trivyignore-bad:1: unexpected "because"/);
  });
  it('a missing default file is fine, a missing explicit one is an error', () => {
    assert.deepEqual(loadIgnoreFile(join(dir, 'nope'), false, NOW), { rules: [], expired: [] });
    assert.throws(() => loadIgnoreFile(join(dir, 'nope'), true, NOW), /does not exist/);
  });
});

describe('.trivyignore.yaml', () => {
  it('matches ids with paths, purls and expired_at', () => {
    const f = write(
      '.trivyignore.yaml',
      [
        'vulnerabilities:',
        '  - id: CVE-2021-23337',
        '    paths: ["app/node_modules/lodash/**"]',
        '    statement: not reachable',
        '  - id: CVE-2020-8203',
        '    paths: ["other/**"]',
        '  - id: CVE-2022-32149',
        '    purls: ["pkg:golang/golang.org/x/text"]',
        '  - id: GHSA-3fx5-fwvr-xrjg',
        '    expired_at: 2020-01-01',
      ].join('\n'),
    );
    const set = loadIgnoreFile(f, true, NOW);
    assert.equal(set.expired.length, 1);
    const { kept } = applyIgnores(all, set);
    assert.deepEqual(kept.map((k) => k.advisoryId), ['CVE-2020-8203', 'GHSA-3fx5-fwvr-xrjg']);
  });
  it('a purl with a version only matches that version', () => {
    const f = write('v.trivyignore.yaml', 'vulnerabilities:\n  - id: GHSA-3fx5-fwvr-xrjg\n    purls: ["pkg:npm/ms@0.7.1"]\n');
    assert.equal(applyIgnores(all, loadIgnoreFile(f, true, NOW)).kept.length, 4);
  });
  it('names the bad key of a malformed file', () => {
    const f = write('bad.trivyignore.yaml', 'vulnerabilities:\n  - paths: [x]\n');
    assert.throws(() => loadIgnoreFile(f, true, NOW), /bad\.trivyignore\.yaml: vulnerabilities\.0\.id/);
    const g = write('bad2.trivyignore.yaml', 'vulnerabilities: [\n');
    assert.throws(() => loadIgnoreFile(g, true, NOW), /not valid YAML/);
  });
});

describe('filters', () => {
  it('severity and ignore-unfixed as Trivy (no fixed version = unfixed, whatever the status)', () => {
    const { fixedVersion: _none, ...unfixed } = finding('C', ms, { severity: 'HIGH', status: 'will_not_fix' });
    const fs: Finding[] = [finding('A', ms, { severity: 'CRITICAL' }), finding('B', ms, { severity: 'LOW' }), unfixed];
    const r = filterFindings(fs, { severities: ['HIGH', 'CRITICAL'], ignoreUnfixed: true });
    assert.deepEqual(r.findings.map((f) => f.advisoryId), ['A']);
    assert.equal(r.droppedBySeverity, 1);
    assert.equal(r.droppedUnfixed, 1);
  });
  it('skip-dirs and skip-files drop packages found only there', () => {
    const inv = { artifact: { name: 'x', type: 'rootfs' as const, layers: [] }, packages: [lodash, text, ms], notes: [] };
    assert.deepEqual(filterInventory(inv, { skipDirs: ['app/node_modules/lodash'] }).packages.map((p) => p.name), ['golang.org/x/text', 'ms']);
    assert.deepEqual(filterInventory(inv, { skipDirs: ['**/node_modules'] }).packages.map((p) => p.name), ['golang.org/x/text']);
    assert.deepEqual(filterInventory(inv, { skipFiles: ['/usr/bin/app'] }).packages.map((p) => p.name), ['lodash', 'ms']);
    assert.equal(filterInventory(inv, { skipDirs: ['app/node'] }).packages.length, 3, 'a prefix that is not a directory does not match');
  });
  it('development dependencies are left out unless asked for', () => {
    const dev: Package = { ...pkg('mocha', '10.0.0', 'pkg:npm/mocha@10.0.0', 'app/package-lock.json'), type: 'npm', dev: true };
    const inv = { artifact: { name: 'x', type: 'rootfs' as const, layers: [] }, packages: [lodash, dev], notes: [] };
    assert.deepEqual(filterInventory(inv, {}).packages.map((p) => p.name), ['lodash']);
    assert.deepEqual(filterInventory(inv, { includeDevDeps: true }).packages.map((p) => p.name), ['lodash', 'mocha']);
  });
});
