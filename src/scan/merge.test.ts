import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TESTDATA } from '../../test/helpers/paths.ts';
import type { Finding, Inventory } from '../domain/index.ts';
import { silentLogger } from '../shared/log.ts';
import { asOsvRecord, MemoryStore } from '../vulndb/memory-store.ts';
import type { OsvRecord } from '../vulndb/osv-types.ts';
import { TrivyDb } from '../vulndb/trivy/db.ts';
import { buildInventory, storeAdvisoryDb, type AdvisoryDb } from './index.ts';
import { matchTrivy } from './match-trivy.ts';
import { mergedAdvisoryDb, mergeFindings } from './merge.ts';

const cacheDir = mkdtempSync(join(tmpdir(), 'pc-merge-'));
after(() => rmSync(cacheDir, { recursive: true, force: true }));

function osv(id: string, aliases: string[], ecosystem: string, name: string, fixed?: string): OsvRecord {
  const events: Record<string, string>[] = [{ introduced: '0' }];
  if (fixed) events.push({ fixed });
  const r = asOsvRecord({
    schema_version: '1.6.0',
    id,
    aliases,
    modified: '2024-01-01T00:00:00Z',
    published: '2024-01-01T00:00:00Z',
    summary: `${id} in ${name}`,
    affected: [{ package: { ecosystem, name }, ranges: [{ type: 'ECOSYSTEM', events }] }],
  });
  assert.ok(r, `${id} is a valid OSV record`);
  return r;
}

const RECORDS = [
  // the same vulnerability Trivy reports for libidn2-0 (source libidn2): folded into Trivy's row
  osv('DLA-9001-1', ['CVE-2019-18224'], 'Debian:10', 'libidn2', '2.0.5-1+deb10u1'),
  // no CVE, no Trivy advisory: added
  osv('DEBIAN-TEMP-9002', [], 'Debian:10', 'bash', '5.0-5'),
  // GHSA with its CVE alias: the Trivy row (id CVE-2019-11358) keeps its data and gains the GHSA id
  osv('GHSA-6c3j-c64m-qhgq', ['CVE-2019-11358'], 'npm', 'jquery', '3.4.0'),
  // GHSA without a CVE: added
  osv('GHSA-0000-1111-2222', [], 'npm', 'jquery', '3.5.0'),
];

function trivyAdvisoryDb(): AdvisoryDb {
  const db = TrivyDb.open(join(TESTDATA, 'trivy-db', 'db'));
  return { info: { source: 'trivy', builtAt: '2023-08-23T00:00:00Z', updatedAt: '2023-08-23T00:00:00Z' }, match: (inv) => matchTrivy(inv, db), close: () => db.close() };
}

function osvAdvisoryDb(): AdvisoryDb {
  return storeAdvisoryDb(new MemoryStore(RECORDS, { source: 'osv', builtAt: '2024-02-01T00:00:00Z', updatedAt: '2024-02-01T00:00:00Z' }));
}

const rows = (fs: Finding[]): string[] => fs.map((f) => `${f.package.name} ${f.advisoryId} [${f.aliases.join(',')}] ${f.fixedVersion ?? '-'} ${f.severitySource}`);

async function inventory(path: string): Promise<Inventory> {
  return buildInventory(`rootfs:${path}`, { cacheDir, logger: silentLogger, noCache: true });
}

describe('merged Trivy + OSV advisory DB', () => {
  it('keeps the Trivy row for a shared CVE, adds OSV-only advisories, names both sources', async () => {
    const merged = mergedAdvisoryDb(trivyAdvisoryDb(), osvAdvisoryDb());
    try {
      assert.deepEqual(merged.info, { source: 'osv+trivy', builtAt: '2024-02-01T00:00:00Z', updatedAt: '2023-08-23T00:00:00Z' });
      const inv = await inventory(join(TESTDATA, 'trivy-db', 'rootfs', 'debian-buster'));
      const { findings } = merged.match(inv);
      assert.deepEqual(rows(findings), [
        'bash CVE-2019-18276 [] - debian',
        'bash DEBIAN-TEMP-9002 [] 5.0-5 none',
        'libidn2-0 CVE-2019-18224 [DSA-4613-1,DLA-9001-1] 2.0.5-1+deb10u1 nvd',
      ]);
      const idn = findings.find((f) => f.advisoryId === 'CVE-2019-18224');
      assert.equal(idn?.dataSource?.id, 'debian', 'the Trivy row with its data source');
      assert.equal(idn?.severity, 'CRITICAL');
      const temp = findings.find((f) => f.advisoryId === 'DEBIAN-TEMP-9002');
      assert.equal(temp?.dataSource?.id, 'osv', 'the OSV-only row is OSV’s');
    } finally {
      merged.close();
    }
  });

  it('folds language findings by CVE alias and keeps GHSA-only advisories', async () => {
    const merged = mergedAdvisoryDb(trivyAdvisoryDb(), osvAdvisoryDb());
    try {
      const inv = await inventory(join(TESTDATA, 'golden-scans', 'trivy-repo-npm', 'input'));
      const { findings } = merged.match(inv);
      const jq = findings.filter((f) => f.package.name === 'jquery');
      assert.deepEqual(jq.map((f) => `${f.advisoryId} [${f.aliases.join(',')}] ${f.fixedVersion ?? '-'}`).sort(), ['CVE-2019-11358 [GHSA-6c3j-c64m-qhgq] 3.4.0', 'GHSA-0000-1111-2222 [] 3.5.0']);
      assert.equal(jq.find((f) => f.advisoryId === 'CVE-2019-11358')?.severitySource, 'ghsa', "Trivy's severity choice is kept");
    } finally {
      merged.close();
    }
  });

  it('mergeFindings: one OSV record naming two CVEs Trivy reports separately adds its id to both and no row', () => {
    const pkg = { type: 'deb' as const, name: 'openssl', version: '1.1.0k-1', purl: 'pkg:deb/debian/openssl@1.1.0k-1', locations: [] };
    const base = { package: pkg, installedVersion: '1.1.0k-1', status: 'fixed' as const, severity: 'LOW' as const, severitySource: 'debian' };
    const trivy: Finding[] = [
      { ...base, advisoryId: 'CVE-2019-1563', aliases: [] },
      { ...base, advisoryId: 'CVE-2019-1551', aliases: [] },
    ];
    const fromOsv: Finding[] = [
      { ...base, advisoryId: 'DSA-4539-1', aliases: ['CVE-2019-1551', 'CVE-2019-1563'], severitySource: 'osv' },
      { ...base, package: { ...pkg, name: 'libssl1.1' }, advisoryId: 'CVE-2019-1563', aliases: [], severitySource: 'osv' },
    ];
    const out = mergeFindings(trivy, fromOsv);
    assert.deepEqual(
      out.map((f) => `${f.package.name} ${f.advisoryId} [${f.aliases.join(',')}] ${f.severitySource}`),
      ['libssl1.1 CVE-2019-1563 [] osv', 'openssl CVE-2019-1551 [DSA-4539-1,CVE-2019-1563] debian', 'openssl CVE-2019-1563 [DSA-4539-1,CVE-2019-1551] debian'],
    );
    assert.deepEqual(trivy[0]?.aliases, [], 'inputs are not mutated');
  });

  it('closes both sources, and notes of both are kept', () => {
    let closed = 0;
    const a: AdvisoryDb = { info: { source: 'trivy' }, match: () => ({ findings: [], notes: ['trivy note', 'shared'] }), close: () => void closed++ };
    const b: AdvisoryDb = { info: { source: 'osv' }, match: () => ({ findings: [], notes: ['osv note', 'shared'] }), close: () => void closed++ };
    const m = mergedAdvisoryDb(a, b);
    const inv: Inventory = { artifact: { name: 'x', type: 'filesystem', layers: [] }, packages: [], notes: [] };
    assert.deepEqual(m.match(inv).notes, ['trivy note', 'shared', 'osv note']);
    m.close();
    assert.equal(closed, 2);
  });
});
