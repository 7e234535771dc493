/**
 * `--format spdx-json` on the shared trivy-db trees: the document obeys SPDX 2.3 (required fields,
 * the JSON schema's closed key sets and patterns, valid license expressions, declared LicenseRefs, a
 * consistent relationship graph), lists every package with its purl and source package, and the real
 * Trivy (`trivy sbom`) reads it to the findings it gives on the tree itself.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ScanReport } from '../../src/domain/index.ts';
import { parseSpdxExpression } from '../../src/report/licenses.ts';
import { spdxAgent, spdxDocument, type SpdxDocument } from '../../src/report/spdx.ts';
import type { RenderOptions } from '../../src/report/types.ts';
import { trivyBinary } from '../helpers/trivy.ts';
import { cleanup, inputFor, makeDockerArchive, rawReport, REPORT_NAMES, runTrivy, scanTarget, scanTree, TDB, workDir } from './report-fixtures.ts';

after(cleanup);
const trivy = trivyBinary();
const OPTS: RenderOptions = { color: false, toolVersion: '0.1.0', now: new Date('2024-05-06T07:08:09.123Z') };

const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$/;
const SPDXID = /^SPDXRef-[a-zA-Z0-9.-]+$/;
/** The key sets SPDX 2.3's JSON schema allows (additionalProperties: false) and requires. */
const DOC_KEYS = ['SPDXID', 'annotations', 'comment', 'creationInfo', 'dataLicense', 'externalDocumentRefs', 'hasExtractedLicensingInfos', 'name', 'revieweds', 'spdxVersion', 'documentNamespace', 'documentDescribes', 'packages', 'files', 'snippets', 'relationships'];
const PKG_KEYS = ['SPDXID', 'annotations', 'attributionTexts', 'builtDate', 'checksums', 'comment', 'copyrightText', 'description', 'downloadLocation', 'externalRefs', 'filesAnalyzed', 'hasFiles', 'homepage', 'licenseComments', 'licenseConcluded', 'licenseDeclared', 'licenseInfoFromFiles', 'name', 'originator', 'packageFileName', 'packageVerificationCode', 'primaryPackagePurpose', 'releaseDate', 'sourceInfo', 'summary', 'supplier', 'validUntilDate', 'versionInfo'];
const PURPOSES = ['OTHER', 'INSTALL', 'ARCHIVE', 'FIRMWARE', 'APPLICATION', 'FRAMEWORK', 'LIBRARY', 'CONTAINER', 'SOURCE', 'DEVICE', 'OPERATING-SYSTEM', 'FILE'];
const CATEGORIES = ['OTHER', 'PERSISTENT-ID', 'SECURITY', 'PACKAGE-MANAGER'];

/** Everything SPDX 2.3 says about this document's shape; returns the problems found. */
function spdxProblems(doc: SpdxDocument): string[] {
  const bad: string[] = [];
  const o = doc as unknown as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!DOC_KEYS.includes(k)) bad.push(`document key ${k}`);
  if (doc.spdxVersion !== 'SPDX-2.3') bad.push('spdxVersion');
  if (doc.dataLicense !== 'CC0-1.0') bad.push('dataLicense');
  if (doc.SPDXID !== 'SPDXRef-DOCUMENT') bad.push('document SPDXID');
  if (!doc.name) bad.push('name');
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^\s#]+$/.test(doc.documentNamespace)) bad.push(`namespace ${doc.documentNamespace}`);
  if (!DATE.test(doc.creationInfo.created)) bad.push(`created ${doc.creationInfo.created}`);
  if (!doc.creationInfo.creators.length || !doc.creationInfo.creators.every((c) => /^(Tool|Organization|Person): \S/.test(c))) bad.push('creators');
  const ids = new Set<string>();
  const refs = new Set((doc.hasExtractedLicensingInfos ?? []).map((e) => e.licenseId));
  for (const p of doc.packages) {
    for (const k of Object.keys(p)) if (!PKG_KEYS.includes(k)) bad.push(`${p.name}: key ${k}`);
    if (!SPDXID.test(p.SPDXID)) bad.push(`${p.name}: SPDXID ${p.SPDXID}`);
    if (ids.has(p.SPDXID)) bad.push(`duplicate ${p.SPDXID}`);
    ids.add(p.SPDXID);
    if (!p.name || !p.downloadLocation) bad.push(`${p.name}: required`);
    if (!PURPOSES.includes(p.primaryPackagePurpose)) bad.push(`${p.name}: purpose`);
    for (const l of [p.licenseDeclared, p.licenseConcluded]) {
      if (l === undefined || l === 'NOASSERTION' || l === 'NONE') continue;
      if (parseSpdxExpression(l) !== l) bad.push(`${p.name}: license ${l}`);
      for (const r of l.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? []) if (!refs.has(r)) bad.push(`${p.name}: undeclared ${r}`);
    }
    for (const who of [p.supplier, p.originator]) if (who !== undefined && who !== 'NOASSERTION' && !/^(Person|Organization): \S/.test(who)) bad.push(`${p.name}: agent ${who}`);
    for (const r of p.externalRefs ?? []) {
      if (!CATEGORIES.includes(r.referenceCategory)) bad.push(`${p.name}: ref category ${r.referenceCategory}`);
      if (/\s/.test(r.referenceLocator)) bad.push(`${p.name}: locator has spaces`);
    }
    for (const a of p.annotations ?? []) if (!DATE.test(a.annotationDate) || a.annotationType !== 'OTHER' || !a.annotator || !a.comment) bad.push(`${p.name}: annotation`);
  }
  for (const r of doc.relationships) {
    if (r.spdxElementId !== 'SPDXRef-DOCUMENT' && !ids.has(r.spdxElementId)) bad.push(`relationship from ${r.spdxElementId}`);
    if (!ids.has(r.relatedSpdxElement)) bad.push(`relationship to ${r.relatedSpdxElement}`);
  }
  for (const e of doc.hasExtractedLicensingInfos ?? []) if (!/^LicenseRef-[A-Za-z0-9.-]+$/.test(e.licenseId) || !e.extractedText) bad.push(`extracted ${e.licenseId}`);
  return bad;
}

describe('SPDX 2.3 from the shared trivy-db trees', () => {
  for (const name of REPORT_NAMES) {
    it(`${name}: valid SPDX 2.3, every package with purl, version, source info and a place in the graph`, async () => {
      const report = await scanTree(name);
      const doc = spdxDocument(report, OPTS);
      assert.deepEqual(spdxProblems(doc), []);
      assert.equal(doc.creationInfo.created, '2024-05-06T07:08:09Z');
      const inv = report.inventory;
      assert.ok(inv.packages.length > 0, 'the tree has packages');
      const libs = doc.packages.filter((p) => p.primaryPackagePurpose === 'LIBRARY');
      assert.equal(libs.length, inv.packages.length);
      const os = doc.packages.filter((p) => p.primaryPackagePurpose === 'OPERATING-SYSTEM');
      assert.deepEqual(os.map((p) => [p.name, p.versionInfo]), inv.os ? [[inv.os.family, inv.os.version]] : []);
      const describes = doc.relationships.filter((r) => r.relationshipType === 'DESCRIBES');
      assert.equal(describes.length, 1);
      const rootId = describes[0]?.relatedSpdxElement;
      const byId = new Map(doc.packages.map((p) => [p.SPDXID, p]));
      const containers = (id: string) => doc.relationships.filter((r) => r.relatedSpdxElement === id && r.relationshipType === 'CONTAINS').map((r) => r.spdxElementId);
      if (inv.os) assert.deepEqual(containers(os[0]?.SPDXID ?? ''), [rootId]);
      const ann = (x: (typeof libs)[number], k: string) => x.annotations?.find((a) => a.comment.startsWith(`${k}: `))?.comment.slice(k.length + 2);
      for (const p of inv.packages) {
        const sp = libs.find((x) => x.externalRefs?.some((r) => r.referenceType === 'purl' && r.referenceLocator === p.purl) && ann(x, 'FilePath') === p.locations[0]?.path);
        assert.ok(sp, p.purl);
        assert.equal(sp.versionInfo, p.version);
        assert.equal(sp.sourceInfo, p.source ? `built package from: ${p.source.name} ${p.source.version}` : undefined);
        assert.equal(ann(sp, 'PkgType'), p.type);
        if (p.licenses?.length) assert.notEqual(sp.licenseDeclared, 'NOASSERTION', `${p.name} ${p.licenses.join(',')}`);
        // exactly one parent: the OS for OS packages, the lock file for its packages, else the artifact
        const parents = containers(sp.SPDXID);
        assert.equal(parents.length, 1, `${p.name} parents`);
        const parent = byId.get(parents[0] ?? '');
        if (['apk', 'deb', 'rpm'].includes(p.type)) assert.equal(parent?.primaryPackagePurpose, 'OPERATING-SYSTEM');
        else if (p.filePath) assert.deepEqual([parent?.primaryPackagePurpose, parent?.name], ['APPLICATION', p.filePath]);
        else assert.equal(parent?.SPDXID, rootId);
      }
      // findings: an advisory reference on the affected package
      for (const f of report.findings) {
        const sp = libs.find((x) => x.externalRefs?.some((r) => r.referenceLocator === f.package.purl) && ann(x, 'FilePath') === f.package.locations[0]?.path);
        if (f.url) assert.ok(sp?.externalRefs?.some((r) => r.referenceCategory === 'SECURITY' && r.referenceLocator === f.url), `${f.advisoryId} on ${f.package.name}`);
      }
    });
  }

  it('licenses: SPDX ids kept, free names as declared LicenseRefs, none as NOASSERTION', async () => {
    const report = await scanTree('alpine-310');
    const pkgs = report.inventory.packages.map((p, i) => (i === 0 ? { ...p, licenses: ['GPL-2.0-only', 'Public Domain'] } : i === 1 ? { ...p, licenses: [] } : p));
    const doc = spdxDocument({ ...report, inventory: { ...report.inventory, packages: pkgs } }, OPTS);
    assert.deepEqual(spdxProblems(doc), []);
    const lib = (n: string) => doc.packages.find((p) => p.name === n);
    assert.equal(lib(pkgs[0]?.name ?? '')?.licenseDeclared, 'GPL-2.0-only AND LicenseRef-Public-Domain');
    assert.equal(lib(pkgs[1]?.name ?? '')?.licenseDeclared, 'NOASSERTION');
    assert.equal(lib('libcrypto1.1')?.licenseDeclared, 'OpenSSL');
    assert.deepEqual(doc.hasExtractedLicensingInfos?.map((e) => [e.licenseId, e.extractedText]), [['LicenseRef-Public-Domain', 'Public Domain']]);
  });

  it('deterministic; distinct namespaces for distinct content; incomplete results said in the document', async () => {
    const report = await scanTree('centos-7');
    assert.deepEqual(spdxDocument(report, OPTS), spdxDocument(report, OPTS));
    const other = await scanTree('rockylinux-8');
    assert.notEqual(spdxDocument(report, OPTS).documentNamespace, spdxDocument(other, OPTS).documentNamespace);
    const partial: ScanReport = { ...report, inventory: { ...report.inventory, notes: ['var/lib/rpm/rpmdb.sqlite: unreadable'] } };
    assert.equal(spdxDocument(partial, OPTS).comment, 'Incomplete: var/lib/rpm/rpmdb.sqlite: unreadable');
  });

  it('a container image: CONTAINER package with its image facts and an oci purl from the repo digest', async () => {
    const dir = workDir();
    const { configDigest } = await makeDockerArchive(join(TDB, 'rootfs', 'debian-buster'), join(dir, 'spdx-buster.tar'), 'example.test/debian:10');
    const report = await scanTarget('docker-archive:spdx-buster.tar', dir);
    const digest = `sha256:${'b'.repeat(64)}`;
    report.inventory.artifact.repoDigests = [`example.test/debian@${digest}`];
    const doc = spdxDocument(report, OPTS);
    assert.deepEqual(spdxProblems(doc), []);
    const root = doc.packages.find((p) => p.primaryPackagePurpose === 'CONTAINER');
    assert.ok(root);
    assert.ok(root.annotations?.some((a) => a.comment === `ImageID: ${configDigest}`));
    assert.ok(root.annotations?.some((a) => a.comment === 'RepoTag: example.test/debian:10'));
    assert.deepEqual(root.externalRefs, [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:oci/debian@sha256%3A${'b'.repeat(64)}?repository_url=example.test%2Fdebian` }]);
    assert.match(doc.documentNamespace, /\/image\/spdx-buster\.tar-[0-9a-f-]{36}$/);
  });

  it('the checker above catches what SPDX 2.3 forbids (so its silence means something)', async () => {
    const doc = spdxDocument(await scanTree('alpine-310'), OPTS);
    const broken = structuredClone(doc) as SpdxDocument & { packages: (SpdxDocument['packages'][number] & { purl?: string })[] };
    const p = broken.packages[2];
    assert.ok(p);
    p.SPDXID = 'SPDXRef-bad_id';
    p.licenseDeclared = 'GPL-2 AND MIT';
    p.purl = 'pkg:apk/alpine/x@1';
    broken.relationships.push({ spdxElementId: 'SPDXRef-nowhere', relatedSpdxElement: 'SPDXRef-DOCUMENT', relationshipType: 'CONTAINS' });
    broken.creationInfo.created = '2024-05-06T07:08:09.123Z';
    const problems = spdxProblems(broken);
    for (const want of [/SPDXID SPDXRef-bad_id/, /license GPL-2 AND MIT/, /key purl/, /relationship from SPDXRef-nowhere/, /created/]) assert.ok(problems.some((x) => want.test(x)), `${String(want)} in ${problems.join('; ')}`);
  });

  it('agents in SPDX syntax', () => {
    assert.equal(spdxAgent('Debian Perl Group <pkg-perl-maintainers@lists.alioth.debian.org>'), 'Organization: Debian Perl Group (pkg-perl-maintainers@lists.alioth.debian.org)');
    assert.equal(spdxAgent('CentOS'), 'Organization: CentOS');
  });
});

interface TrivyReport {
  Results?: { Vulnerabilities?: { PkgName: string; InstalledVersion: string; VulnerabilityID: string; FixedVersion?: string; Severity: string; Status?: string }[] }[];
}
const rows = (r: TrivyReport): string[] =>
  (r.Results ?? []).flatMap((x) => (x.Vulnerabilities ?? []).map((v) => [v.PkgName, v.InstalledVersion, v.VulnerabilityID, v.FixedVersion ?? '', v.Severity, v.Status ?? ''].join(' '))).sort();

describe('SPDX read by the real Trivy (trivy sbom)', { skip: trivy ? false : 'no Trivy binary (set PORTCULLIS_TEST_TRIVY)' }, () => {
  // one tree per OS driver (Trivy runs cost ~3 s each on this 2-core machine)
  for (const name of ['alpine-310', 'amazon-2', 'centos-7', 'debian-9-extra', 'rockylinux-8', 'ubuntu-1804']) {
    it(`${name}: \`trivy sbom\` on our SPDX finds what \`trivy rootfs\` found`, async () => {
      const file = join(workDir(), `${name}.spdx.json`);
      writeFileSync(file, JSON.stringify(spdxDocument(await scanTree(name, { findings: false }), OPTS)));
      const theirs = JSON.parse(await runTrivy(trivy as string, ['sbom', '--format', 'json', file], inputFor(name).cwd)) as TrivyReport;
      assert.deepEqual(rows(theirs), rows(JSON.parse(rawReport(name)) as TrivyReport));
    });
  }
});
