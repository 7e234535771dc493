/**
 * `--format json` against the real Trivy 0.44.1: the ScanReports our pipeline builds from the shared
 * trivy-db trees (catalogers + matchTrivy on the shared trivy.db), written by our Trivy JSON writer,
 * are compared with the raw reports Trivy printed for the same trees and DB — as bytes, so field
 * order, omitempty, escaping and the Results/Vulnerabilities order all count.
 *
 * Our two additions from newer Trivy releases (PkgIdentifier, VendorSeverity) are checked against the
 * upstream goldens (written by a newer Trivy with the same fixture DB) and removed before the byte
 * comparison with 0.44.1.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ScanReport } from '../../src/domain/index.ts';
import { renderReport } from '../../src/report/index.ts';
import { goJson } from '../../src/report/trivy-json.ts';
import { TESTDATA } from '../helpers/paths.ts';
import { trivyBinary } from '../helpers/trivy.ts';
import { cleanup, inputFor, makeDockerArchive, rawReport, REPORT_NAMES, runTrivy, scanTarget, scanTree, TDB, workDir } from './report-fixtures.ts';

after(cleanup);
const trivy = trivyBinary();

type J = Record<string, unknown>;
interface Vuln extends J {
  PkgName: string;
  VulnerabilityID: string;
  PkgIdentifier?: { PURL: string };
  VendorSeverity?: Record<string, number>;
}
interface Result {
  Target: string;
  Class: string;
  Type: string;
  Packages?: J[];
  Vulnerabilities?: Vuln[];
}
interface Report {
  ArtifactName: string;
  Metadata: { OS?: { EOSL?: boolean }; RepoTags?: string[] } & J;
  Results?: Result[];
}

async function render(report: ScanReport, listAllPackages = false): Promise<string> {
  const chunks: string[] = [];
  const out = new (await import('node:stream')).Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c.toString('utf8'));
      cb();
    },
  });
  await renderReport(report, 'json', { color: false, toolVersion: '0.1.0', ...(listAllPackages ? { listAllPackages } : {}) }, out);
  return chunks.join('');
}

/** Remove what newer Trivy prints and 0.44.1 does not; return what was removed, per (pkg, id). */
function stripAdditions(r: Report): Map<string, { purl?: string; vendor?: Record<string, number> }> {
  const removed = new Map<string, { purl?: string; vendor?: Record<string, number> }>();
  for (const res of r.Results ?? [])
    for (const v of res.Vulnerabilities ?? []) {
      const e: { purl?: string; vendor?: Record<string, number> } = {};
      if (v.PkgIdentifier) e.purl = v.PkgIdentifier.PURL;
      if (v.VendorSeverity) e.vendor = v.VendorSeverity;
      removed.set(`${v.PkgName} ${v.VulnerabilityID}`, e);
      delete v.PkgIdentifier;
      delete v.VendorSeverity;
    }
  return removed;
}

const GOLDEN_FOR: Record<string, string> = {
  'alpine-310': 'trivy-image-alpine-310/alpine-310.json.golden',
  'debian-buster': 'trivy-image-debian-buster/debian-buster.json.golden',
  'distroless-base': 'trivy-image-distroless-base/distroless-base.json.golden',
  'ubuntu-1804': 'trivy-image-ubuntu-1804/ubuntu-1804.json.golden',
  'amazon-2': 'trivy-image-amazon-2/amazon-2.json.golden',
  'centos-7': 'trivy-image-centos-7/centos-7.json.golden',
  'rockylinux-8': 'trivy-image-rockylinux-8/rockylinux-8.json.golden',
};

describe('Trivy JSON: byte-identical to Trivy 0.44.1 on the shared trivy-db trees', () => {
  for (const name of REPORT_NAMES) {
    it(name, async () => {
      const report = await scanTree(name);
      assert.ok(report.inventory.packages.length > 0, `packages in ${inputFor(name).cwd}`);
      const ours = JSON.parse(await render(report)) as Report;
      stripAdditions(ours);
      // the whole document, EOSL (from the matcher's end-of-life tables) included
      assert.equal(`${goJson(ours)}\n`, rawReport(name));
    });
  }

  it('re-serialising a raw Trivy report with goJson gives its exact bytes (the comparison above is sound)', () => {
    for (const name of REPORT_NAMES) assert.equal(`${goJson(JSON.parse(rawReport(name)))}\n`, rawReport(name), name);
  });

  it('PkgIdentifier.PURL and VendorSeverity equal the upstream goldens (newer Trivy, same fixture DB)', async () => {
    let compared = 0;
    for (const [name, golden] of Object.entries(GOLDEN_FOR)) {
      const ours = JSON.parse(await render(await scanTree(name))) as Report;
      const extra = stripAdditions(ours);
      const g = JSON.parse(readFileSync(join(TESTDATA, 'golden-scans', golden), 'utf8')) as Report;
      for (const res of g.Results ?? [])
        for (const v of res.Vulnerabilities ?? []) {
          const mine = extra.get(`${v.PkgName} ${v.VulnerabilityID}`);
          assert.ok(mine, `${name}: ${v.PkgName} ${v.VulnerabilityID} missing`);
          // the goldens come from image scans: the purl's distro qualifier is the same, nothing else differs
          assert.equal(mine.purl, v.PkgIdentifier?.PURL, `${name} ${v.PkgName} purl`);
          assert.deepEqual(mine.vendor, v.VendorSeverity, `${name} ${v.PkgName} ${v.VulnerabilityID} VendorSeverity`);
          compared++;
        }
    }
    assert.ok(compared >= 20, `compared ${compared} rows`);
  });

  it('a clean OS result is still printed (Trivy always prints the OS result), lang results are not', async () => {
    const report = await scanTree('alpine-310', { findings: false });
    const ours = JSON.parse(await render(report)) as Report;
    assert.deepEqual(ours.Results, [{ Target: 'alpine-310 (alpine 3.10.2)', Class: 'os-pkgs', Type: 'alpine' }]);
  });
});

describe('Trivy JSON against the real Trivy binary', { skip: trivy ? false : 'no Trivy binary (set PORTCULLIS_TEST_TRIVY)' }, () => {
  for (const name of ['alpine-310', 'centos-7', 'debian-9-extra']) {
    it(`container image (docker-archive of ${name}): Metadata, ImageConfig and Layer as Trivy prints them`, async () => {
      const dir = workDir();
      const file = `${name}.tar`;
      const { diffId } = await makeDockerArchive(join(TDB, 'rootfs', name), join(dir, file), `example.test/${name}:1`);
      const theirs = JSON.parse(await runTrivy(trivy as string, ['image', '--format', 'json', '--scanners', 'vuln', '--input', file], dir)) as Report;
      const ours = JSON.parse(await render(await scanTarget(`docker-archive:${file}`, dir))) as Report;
      stripAdditions(ours);
      // Trivy 0.44.1 prints no RepoTags for `--input` archives (newer releases do); we keep the tag
      assert.deepEqual(ours.Metadata.RepoTags, [`example.test/${name}:1`]);
      delete ours.Metadata.RepoTags;
      assert.equal(`${goJson(ours)}\n`, `${goJson(theirs)}\n`);
      const layers = (ours.Results ?? []).flatMap((r) => (r.Vulnerabilities ?? []).map((v) => v['Layer']));
      assert.ok(layers.length > 0);
      for (const l of layers) assert.deepEqual(l, { DiffID: diffId });
    });
  }

  it('--list-all-pkgs: Packages[] carry the fields Trivy prints (ID, Version/Release/Epoch split, Src*, Arch, Maintainer)', async () => {
    for (const name of ['alpine-310', 'centos-7', 'debian-9-extra', 'distroless-base', 'rockylinux-8', 'amazon-2']) {
      const { cwd, arg } = inputFor(name);
      const theirs = JSON.parse(await runTrivy(trivy as string, ['rootfs', '--format', 'json', '--scanners', 'vuln', '--list-all-pkgs', arg], cwd)) as Report;
      const ours = JSON.parse(await render(await scanTree(name), true)) as Report;
      // licences: we keep SPDX ids, Trivy 0.44 shortens some (GPL-2.0-only → GPL-2.0); rpm Digest: not kept
      const norm = (r: Report): J[] => (r.Results ?? []).flatMap((x) => (x.Packages ?? []).map(({ Licenses: _l, Digest: _d, ...rest }) => rest));
      assert.ok(norm(theirs).length >= 1, `${name}: Trivy listed packages`);
      assert.deepEqual(norm(ours), norm(theirs), name);
      assert.equal(ours.Results?.length, theirs.Results?.length);
    }
  });
});

describe('Trivy JSON: the goldens this test relies on exist', () => {
  it('every raw report has its tree', () => {
    for (const name of REPORT_NAMES) {
      const { cwd, arg } = inputFor(name);
      assert.ok(existsSync(join(cwd, arg)), name);
    }
    assert.ok(readdirSync(join(TDB, 'reports')).length >= 14);
  });
});
