/**
 * `--format cyclonedx` on real inventories (the shared trivy-db trees and a docker-archive image):
 * valid against the CycloneDX 1.5 JSON schema the library ships, complete (every package once, with
 * its purl, the OS, the dependency graph), deterministic, and read by the real Trivy (`trivy sbom`)
 * to the same findings Trivy gives on the tree itself.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ScanReport } from '../../src/domain/index.ts';
import { cyclonedxJson } from '../../src/report/cyclonedx.ts';
import type { RenderOptions } from '../../src/report/types.ts';
import { trivyBinary } from '../helpers/trivy.ts';
import { cleanup, cyclonedxValidator, inputFor, makeDockerArchive, rawReport, REPORT_NAMES, runTrivy, scanTarget, scanTree, TDB, workDir } from './report-fixtures.ts';

after(cleanup);
const trivy = trivyBinary();
const OPTS: RenderOptions = { color: false, toolVersion: '0.1.0', now: new Date('2024-05-06T07:08:09Z') };

interface Prop {
  name: string;
  value: string;
}
interface Comp {
  type: string;
  name: string;
  version?: string;
  'bom-ref': string;
  purl?: string;
  properties?: Prop[];
  licenses?: { license?: { id?: string; name?: string }; expression?: string }[];
  supplier?: { name: string };
}
interface Bom {
  serialNumber: string;
  metadata: { timestamp: string; component: Comp; tools: { vendor: string; name: string; version: string }[]; properties?: Prop[] };
  components: Comp[];
  dependencies: { ref: string; dependsOn?: string[] }[];
  vulnerabilities?: {
    id: string;
    'bom-ref': string;
    source?: { name: string; url?: string };
    ratings: { source?: { name: string }; score?: number; severity?: string; method?: string; vector?: string }[];
    cwes?: number[];
    recommendation?: string;
    affects: { ref: string; versions: { version: string; status: string }[] }[];
    properties?: Prop[];
  }[];
}

let validate: (json: string) => string[];
before(async () => {
  validate = await cyclonedxValidator('1.5');
});

const propOf = (c: Comp, name: string): string | undefined => c.properties?.find((p) => p.name === name)?.value;

describe('CycloneDX 1.5 from the shared trivy-db trees', () => {
  for (const name of REPORT_NAMES) {
    it(`${name}: schema-valid, every package with purl, source package, OS or lock file, and graph`, async () => {
      const report = await scanTree(name);
      const json = cyclonedxJson(report, OPTS);
      assert.deepEqual(validate(json), []);
      const bom = JSON.parse(json) as Bom;
      const inv = report.inventory;
      assert.ok(inv.packages.length > 0, 'the tree has packages');
      assert.equal(bom.metadata.timestamp, '2024-05-06T07:08:09.000Z');
      assert.deepEqual(bom.metadata.tools, [{ vendor: 'portcullis', name: 'portcullis', version: '0.1.0' }]);
      assert.equal(bom.metadata.component.name, inputFor(name).arg);
      const os = bom.components.filter((c) => c.type === 'operating-system');
      assert.deepEqual(os.map((c) => [c.name, c.version]), inv.os ? [[inv.os.family, inv.os.version]] : []);
      const libs = bom.components.filter((c) => c.type === 'library');
      assert.equal(libs.length, inv.packages.length);
      assert.deepEqual(libs.map((c) => c.purl).sort(), inv.packages.map((p) => p.purl).sort());
      assert.equal(new Set(bom.components.map((c) => c['bom-ref'])).size, bom.components.length, 'bom-refs unique');
      const byRef = new Map(bom.components.map((c) => [c['bom-ref'], c]));
      const dep = (ref: string): string[] => bom.dependencies.find((d) => d.ref === ref)?.dependsOn ?? [];
      const parentOf = new Map<string, string>();
      for (const d of bom.dependencies) for (const r of d.dependsOn ?? []) parentOf.set(r, d.ref);
      for (const p of inv.packages) {
        const matches = libs.filter((x) => x.purl === p.purl && propOf(x, 'portcullis:FilePath') === p.locations[0]?.path);
        const c = matches[0] as Comp;
        assert.ok(c, `${p.purl} ${p.locations[0]?.path ?? ''}`);
        assert.equal(c.version, p.version);
        assert.equal(propOf(c, 'portcullis:PkgType'), p.type);
        assert.equal(propOf(c, 'portcullis:SrcName'), p.source?.name);
        assert.equal(propOf(c, 'portcullis:SrcVersion'), p.source?.version);
        assert.equal(propOf(c, 'portcullis:Arch'), p.arch);
        if (p.licenses?.length) assert.ok(c.licenses?.length, `${p.name} licenses`);
        assert.equal(c.supplier?.name, p.extra?.['maintainer'] ?? p.extra?.['vendor']);
        // graph: OS packages under the OS, lock-file packages under their file, the rest under the artifact
        const parent = byRef.get(parentOf.get(c['bom-ref']) ?? '') ?? (parentOf.get(c['bom-ref']) === bom.metadata.component['bom-ref'] ? bom.metadata.component : undefined);
        assert.ok(parent, `${p.name} has a parent`);
        if (['apk', 'deb', 'rpm'].includes(p.type)) assert.equal(parent.type, 'operating-system');
        else if (p.filePath) assert.deepEqual([parent.type, parent.name, propOf(parent, 'portcullis:Type')], ['application', p.filePath, p.type]);
        else assert.equal(parent, bom.metadata.component);
      }
      for (const r of dep(bom.metadata.component['bom-ref'])) assert.ok(['operating-system', 'application', 'library'].includes(byRef.get(r)?.type ?? ''), r);
      for (const d of bom.dependencies) assert.ok(d.ref === bom.metadata.component['bom-ref'] || byRef.has(d.ref), d.ref);
    });
  }

  it('vulnerabilities: one per advisory, affects by bom-ref, ratings, cwes and the fix', async () => {
    const report = await scanTree('debian-9-extra');
    const bom = JSON.parse(cyclonedxJson(report, OPTS)) as Bom;
    const vulns = bom.vulnerabilities ?? [];
    assert.deepEqual(vulns.map((v) => v.id).sort(), [...new Set(report.findings.map((f) => f.advisoryId))].sort());
    const refs = new Map(bom.components.map((c) => [c['bom-ref'], c]));
    // CVE-2019-5094 hits e2fsprogs, libcom-err2 and libss2 (source e2fsprogs)
    const v = vulns.find((x) => x.id === 'CVE-2019-5094');
    assert.ok(v);
    assert.deepEqual(v.affects.map((a) => refs.get(a.ref)?.name).sort(), ['e2fsprogs', 'libcom-err2', 'libss2']);
    assert.deepEqual(v.affects.find((a) => refs.get(a.ref)?.name === 'libss2')?.versions, [{ version: '1:1.43.4-2', status: 'affected' }]);
    assert.match(v.recommendation ?? '', /Upgrade e2fsprogs to version 1\.43\.4-2\+deb9u1/);
    assert.equal(v.source?.name, 'debian');
    const nvd3 = v.ratings.find((r) => r.source?.name === 'nvd' && r.method?.startsWith('CVSSv3'));
    assert.ok(nvd3?.vector?.startsWith('CVSS:3'), 'nvd v3 vector');
    assert.equal(typeof nvd3?.score, 'number');
    assert.ok(v.cwes?.length);
    assert.equal(v.properties?.find((p) => p.name === 'portcullis:Severity')?.value, 'MEDIUM');
    // end_of_life without a fix: no recommendation, status kept
    const eol = vulns.find((x) => x.id === 'CVE-2019-18276');
    assert.equal(eol?.recommendation, undefined);
    assert.equal(eol?.properties?.find((p) => p.name === 'portcullis:Status')?.value, 'end_of_life');
  });

  it('is deterministic (same input and clock → same bytes) and says when results are incomplete', async () => {
    const report = await scanTree('alpine-310');
    assert.equal(cyclonedxJson(report, OPTS), cyclonedxJson(report, OPTS));
    const incomplete: ScanReport = { ...report, inventory: { ...report.inventory, notes: ['lib/apk/db/installed: truncated'] } };
    const bom = JSON.parse(cyclonedxJson(incomplete, OPTS)) as Bom;
    assert.deepEqual(bom.metadata.properties?.filter((p) => p.name.startsWith('portcullis:Incomplete') || p.name === 'portcullis:Note'), [
      { name: 'portcullis:Incomplete', value: 'true' },
      { name: 'portcullis:Note', value: 'lib/apk/db/installed: truncated' },
    ]);
    assert.notEqual(bom.serialNumber, (JSON.parse(cyclonedxJson(report, { ...OPTS, now: new Date('2025-01-01T00:00:00Z') })) as Bom).serialNumber);
  });

  it('a container image: type container, pkg:oci purl when there is a repo digest, image facts as properties', async () => {
    const dir = workDir();
    const { diffId, configDigest } = await makeDockerArchive(join(TDB, 'rootfs', 'alpine-310'), join(dir, 'cdx-alpine.tar'), 'example.test/alpine:3.10');
    const report = await scanTarget('docker-archive:cdx-alpine.tar', dir);
    const json = cyclonedxJson(report, OPTS);
    assert.deepEqual(validate(json), []);
    const bom = JSON.parse(json) as Bom;
    const root = bom.metadata.component;
    assert.equal(root.type, 'container');
    assert.equal(propOf(root, 'portcullis:ImageID'), configDigest);
    assert.equal(propOf(root, 'portcullis:DiffID'), diffId);
    assert.equal(propOf(root, 'portcullis:RepoTag'), 'example.test/alpine:3.10');
    for (const c of bom.components.filter((x) => x.type === 'library')) assert.equal(propOf(c, 'portcullis:LayerDiffID'), diffId);
    // a registry image has a repo digest → purl
    const digest = `sha256:${'a'.repeat(64)}`;
    const withDigest: ScanReport = { ...report, inventory: { ...report.inventory, artifact: { ...report.inventory.artifact, repoDigests: [`alpine@${digest}`], platform: 'linux/arm64' } } };
    const b2 = JSON.parse(cyclonedxJson(withDigest, OPTS)) as Bom;
    assert.equal(b2.metadata.component.purl, `pkg:oci/alpine@sha256:${'a'.repeat(64)}?arch=arm64&repository_url=index.docker.io%2Flibrary%2Falpine`);
    assert.equal(b2.metadata.component['bom-ref'], b2.metadata.component.purl);
  });
});

interface TrivyReport {
  Results?: { Class: string; Packages?: { Name: string; Version: string }[]; Vulnerabilities?: { PkgName: string; InstalledVersion: string; VulnerabilityID: string; FixedVersion?: string; Severity: string; Status?: string }[] }[];
}
/**
 * Rows Trivy 0.44.1 drops when it reads any CycloneDX, its own included: a binary package with an
 * epoch whose source version has none (libss2 1:1.43.4-2 from e2fsprogs 1.43.4-2) gets the binary's
 * epoch as SrcEpoch (its decoder treats SrcEpoch 0 as unset), so the source version looks fixed.
 */
const TRIVY_SBOM_LOSES: Record<string, string[]> = {
  'debian-9-extra': ['libss2 1:1.43.4-2 CVE-2019-5094 1.43.4-2+deb9u1 MEDIUM fixed'],
};

const rows = (r: TrivyReport): string[] =>
  (r.Results ?? []).flatMap((x) => (x.Vulnerabilities ?? []).map((v) => [v.PkgName, v.InstalledVersion, v.VulnerabilityID, v.FixedVersion ?? '', v.Severity, v.Status ?? ''].join(' '))).sort();

describe('CycloneDX read by the real Trivy (trivy sbom)', { skip: trivy ? false : 'no Trivy binary (set PORTCULLIS_TEST_TRIVY)' }, () => {
  for (const name of REPORT_NAMES) {
    it(`${name}: with compat 'trivy', \`trivy sbom\` finds exactly what \`trivy rootfs\` found`, async () => {
      const file = join(workDir(), `${name}.cdx.json`);
      writeFileSync(file, cyclonedxJson(await scanTree(name, { findings: false }), { ...OPTS, compat: 'trivy' }));
      const theirs = JSON.parse(await runTrivy(trivy as string, ['sbom', '--format', 'json', file], inputFor(name).cwd)) as TrivyReport;
      const lost = TRIVY_SBOM_LOSES[name] ?? [];
      // Trivy prints a Go module's InstalledVersion from the purl (with its 'v') when it reads any SBOM
      const goV = (r: string): string => (name === 'repo-gomod' ? r.replace(/^(\S+) v(\d)/, '$1 $2') : r);
      assert.deepEqual(rows(theirs).map(goV), rows(JSON.parse(rawReport(name)) as TrivyReport).filter((r) => !lost.includes(r)));
    });
  }

  it('the row Trivy loses reading debian-9-extra is lost from its own CycloneDX too (Trivy 0.44 bug, not ours)', async () => {
    const { cwd, arg } = inputFor('debian-9-extra');
    const own = join(workDir(), 'trivy-own-debian-9-extra.cdx.json');
    writeFileSync(own, await runTrivy(trivy as string, ['rootfs', '--format', 'cyclonedx', arg], cwd));
    const theirs = JSON.parse(await runTrivy(trivy as string, ['sbom', '--format', 'json', own], cwd)) as TrivyReport;
    const all = rows(JSON.parse(rawReport('debian-9-extra')) as TrivyReport);
    assert.deepEqual(rows(theirs), all.filter((r) => !(TRIVY_SBOM_LOSES['debian-9-extra'] ?? []).includes(r)));
  });

  it('without compat, Trivy still reads the OS and every package (name, version)', async () => {
    for (const name of ['alpine-310', 'centos-7', 'ubuntu-1804']) {
      const report = await scanTree(name, { findings: false });
      const file = join(workDir(), `${name}.plain.cdx.json`);
      writeFileSync(file, cyclonedxJson(report, OPTS));
      const theirs = JSON.parse(await runTrivy(trivy as string, ['sbom', '--format', 'json', '--list-all-pkgs', file], workDir())) as TrivyReport;
      const pkgs = (theirs.Results ?? []).filter((r) => r.Class === 'os-pkgs').flatMap((r) => r.Packages ?? []);
      assert.equal(pkgs.length, report.inventory.packages.length, name);
      for (const p of report.inventory.packages) assert.ok(pkgs.some((q) => q.Name === p.name), `${name}: ${p.name}`);
    }
  });
});

describe('CycloneDX spec versions (--cyclonedx-version)', () => {
  const validators: Partial<Record<'1.4' | '1.5' | '1.6', (json: string) => string[]>> = {};
  before(async () => {
    for (const v of ['1.4', '1.5', '1.6'] as const) validators[v] = await cyclonedxValidator(v);
  });
  for (const v of ['1.4', '1.5', '1.6'] as const) {
    it(`${v}: specVersion ${v}, valid against its own schema, the same components and vulnerabilities`, async () => {
      for (const name of ['alpine-310', 'debian-9-extra', 'repo-npm']) {
        const report = await scanTree(name);
        const json = cyclonedxJson(report, { ...OPTS, cyclonedxVersion: v });
        assert.deepEqual(validators[v]!(json), [], `${name} as ${v}`);
        const bom = JSON.parse(json) as Bom & { specVersion: string };
        assert.equal(bom.specVersion, v);
        const base = JSON.parse(cyclonedxJson(report, OPTS)) as Bom;
        assert.deepEqual(bom.components.map((c) => [c['bom-ref'], c.purl, c.version]), base.components.map((c) => [c['bom-ref'], c.purl, c.version]));
        assert.deepEqual((bom.vulnerabilities ?? []).map((x) => x.id), (base.vulnerabilities ?? []).map((x) => x.id));
      }
    });
  }
});
