/**
 * `--format sarif` on real findings (the shared trivy-db trees matched with the shared trivy.db):
 * SARIF 2.1.0 with what GitHub code scanning requires and uses — one rule per advisory, results that
 * point at their rule, levels and security-severity in the band of the severity we decided, locations
 * and fingerprints.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sarifLog, SARIF_SCHEMA, securitySeverity } from '../../src/report/sarif.ts';
import type { RenderOptions } from '../../src/report/types.ts';
import { cleanup, makeDockerArchive, REPORT_NAMES, scanTarget, scanTree, TDB, workDir } from './report-fixtures.ts';

after(cleanup);
const OPTS: RenderOptions = { color: false, toolVersion: '0.1.0', informationUri: 'https://example.test/portcullis' };

interface Sarif {
  $schema: string;
  version: string;
  runs: {
    tool: { driver: { name: string; version: string; informationUri?: string; rules: { id: string; shortDescription: { text: string }; fullDescription: { text: string }; helpUri?: string; help: { text: string; markdown: string }; defaultConfiguration: { level: string }; properties: { tags: string[]; precision: string; 'security-severity': string } }[] } };
    results: { ruleId: string; ruleIndex: number; level: string; message: { text: string }; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[]; partialFingerprints: Record<string, string>; properties: { severity: string } }[];
    properties: Record<string, unknown>;
  }[];
}

const BANDS: Record<string, [number, number]> = { CRITICAL: [9, 10], HIGH: [7, 8.9], MEDIUM: [4, 6.9], LOW: [0.1, 3.9], UNKNOWN: [0, 0] };
const LEVELS: Record<string, string> = { CRITICAL: 'error', HIGH: 'error', MEDIUM: 'warning', LOW: 'note', UNKNOWN: 'note' };

describe('SARIF 2.1.0 for GitHub code scanning', () => {
  for (const name of REPORT_NAMES) {
    it(`${name}: a rule per advisory, every result tied to its rule, levels and scores in band`, async () => {
      const report = await scanTree(name);
      const log = JSON.parse(JSON.stringify(sarifLog(report, OPTS))) as Sarif;
      assert.equal(log.version, '2.1.0');
      assert.equal(log.$schema, SARIF_SCHEMA);
      assert.equal(log.runs.length, 1);
      const run = log.runs[0];
      assert.ok(run);
      assert.equal(run.tool.driver.name, 'Portcullis');
      assert.equal(run.tool.driver.version, '0.1.0');
      assert.equal(run.tool.driver.informationUri, 'https://example.test/portcullis');
      const rules = run.tool.driver.rules;
      assert.deepEqual(rules.map((r) => r.id), [...new Set(report.findings.map((f) => f.advisoryId))].sort());
      assert.equal(run.results.length, report.findings.length);
      for (const r of rules) {
        assert.ok(r.shortDescription.text.length > 0 && r.shortDescription.text.length <= 1024);
        assert.ok(r.fullDescription.text && r.help.text && r.help.markdown);
        assert.ok(r.properties.tags.length <= 20 && r.properties.tags.includes('security'));
        assert.equal(r.properties.precision, 'very-high');
        assert.match(r.properties['security-severity'], /^\d+\.\d$/);
      }
      for (const res of run.results) {
        const rule = rules[res.ruleIndex];
        assert.equal(rule?.id, res.ruleId);
        const sev = res.properties.severity;
        assert.equal(res.level, LEVELS[sev]);
        assert.ok(res.message.text.includes(res.ruleId));
        assert.equal(res.locations.length, 1);
        const loc = res.locations[0]?.physicalLocation;
        // rootfs:TREE → TREE/var/lib/…; a project scanned as rootfs:. → its lock file path, as in the repository
        const files = report.findings.filter((f) => f.advisoryId === res.ruleId).map((f) => f.package.locations[0]?.path ?? '');
        assert.ok(files.map((file) => (name.startsWith('repo-') ? file : `${name}/${file}`)).includes(loc?.artifactLocation.uri ?? ''), String(loc?.artifactLocation.uri));
        assert.ok((loc?.region.startLine ?? 0) >= 1);
        assert.match(res.partialFingerprints['portcullis/v1'] ?? '', /^[0-9a-f]{32}$/);
      }
      for (const f of report.findings) {
        const s = Number(securitySeverity(f));
        const [lo, hi] = BANDS[f.severity] ?? [0, 10];
        assert.ok(s >= lo && s <= hi, `${f.advisoryId} ${f.severity} → ${s}`);
      }
      assert.equal(new Set(run.results.map((r) => r.partialFingerprints['portcullis/v1'])).size, run.results.length, 'fingerprints distinct');
    });
  }

  it('security-severity follows the decided severity: NVD 9.8 for a CRITICAL, the band value when the score disagrees', async () => {
    const report = await scanTree('debian-buster');
    const log = JSON.parse(JSON.stringify(sarifLog(report, OPTS))) as Sarif;
    const rule = (id: string) => log.runs[0]?.tool.driver.rules.find((r) => r.id === id);
    // libidn2-0 CVE-2019-18224: CRITICAL from NVD (CVSS 3.1 9.8)
    assert.equal(rule('CVE-2019-18224')?.properties['security-severity'], '9.8');
    assert.equal(rule('CVE-2019-18224')?.defaultConfiguration.level, 'error');
    // bash CVE-2019-18276: Debian says LOW while NVD scores 7.8 — GitHub must file it as low
    assert.equal(rule('CVE-2019-18276')?.properties['security-severity'], '2.0');
    assert.equal(rule('CVE-2019-18276')?.defaultConfiguration.level, 'note');
    assert.match(rule('CVE-2019-18224')?.help.markdown ?? '', /\| CRITICAL \| libidn2-0 \| 2\.0\.5-1 \| 2\.0\.5-1\+deb10u1 \| \[CVE-2019-18224\]\(https:\/\/avd\.aquasec\.com\/nvd\/cve-2019-18224\) \|/);
    assert.equal(rule('CVE-2019-18224')?.helpUri, 'https://avd.aquasec.com/nvd/cve-2019-18224');
  });

  it('a container image: locations name the image; no findings → an empty run GitHub accepts (closes alerts)', async () => {
    const dir = workDir();
    await makeDockerArchive(join(TDB, 'rootfs', 'alpine-310'), join(dir, 'sarif-alpine.tar'), 'example.test/alpine:3.10');
    const report = await scanTarget('docker-archive:sarif-alpine.tar', dir);
    const log = JSON.parse(JSON.stringify(sarifLog(report, OPTS))) as Sarif;
    assert.deepEqual([...new Set(log.runs[0]?.results.map((r) => r.locations[0]?.physicalLocation.artifactLocation.uri))], ['sarif-alpine.tar']);
    const registry = { ...report, inventory: { ...report.inventory, artifact: { ...report.inventory.artifact, name: 'registry.example.test:5000/team/app:1.2@sha256:' + 'c'.repeat(64) } } };
    const log2 = JSON.parse(JSON.stringify(sarifLog(registry, OPTS))) as Sarif;
    assert.equal(log2.runs[0]?.results[0]?.locations[0]?.physicalLocation.artifactLocation.uri, 'registry.example.test:5000/team/app');
    const empty = JSON.parse(JSON.stringify(sarifLog({ ...report, findings: [] }, OPTS))) as Sarif;
    assert.deepEqual(empty.runs[0]?.results, []);
    assert.deepEqual(empty.runs[0]?.tool.driver.rules, []);
  });
});
