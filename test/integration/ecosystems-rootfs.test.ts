/**
 * OS detection and OS packages on the shared trivy-db root filesystems, checked against what the
 * real Trivy 0.44.1 reported on the same trees (reports/*.json): Metadata.OS, and every vulnerable
 * package (name, installed version, PkgID, purl where Trivy printed one).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { catalogFs, fileSelector } from '../../src/ecosystems/index.ts';
import { loadTree } from '../helpers/pkgdb.ts';
import { TESTDATA } from '../helpers/paths.ts';

const ROOTFS = join(TESTDATA, 'trivy-db/rootfs');
const REPORTS = join(TESTDATA, 'trivy-db/reports');

interface TrivyVuln {
  PkgName: string;
  PkgID?: string;
  InstalledVersion: string;
  PkgIdentifier?: { PURL?: string };
}
interface TrivyReport {
  Metadata?: { OS?: { Family: string; Name: string } };
  Results?: { Class: string; Vulnerabilities?: TrivyVuln[] }[];
}

const trees = readdirSync(ROOTFS).filter((d) => existsSync(join(REPORTS, `${d}.json`)));

describe('OS detection and OS packages match Trivy on the trivy-db rootfs trees', () => {
  it('has trees to check', () => assert.ok(trees.length >= 8));
  const sel = fileSelector();
  for (const name of trees) {
    it(name, async () => {
      const report = JSON.parse(readFileSync(join(REPORTS, `${name}.json`), 'utf8')) as TrivyReport;
      const res = await catalogFs(loadTree(join(ROOTFS, name), (f) => sel.wants(f)));
      assert.deepEqual(res.notes, []);
      const os = report.Metadata?.OS;
      assert.ok(os, 'report has an OS');
      assert.equal(res.os?.family, os.Family);
      assert.equal(res.os?.version, os.Name);
      const vulns = (report.Results ?? []).filter((r) => r.Class === 'os-pkgs').flatMap((r) => r.Vulnerabilities ?? []);
      assert.ok(vulns.length > 0);
      for (const v of vulns) {
        const p = res.packages.find((x) => x.name === v.PkgName && x.version === v.InstalledVersion);
        assert.ok(p, `${v.PkgName} ${v.InstalledVersion} not found`);
        if (v.PkgIdentifier?.PURL) assert.equal(p.purl, v.PkgIdentifier.PURL);
      }
      // The integration goldens of the same images (newer Trivy) print purls: ours must be identical.
      const golden = join(TESTDATA, 'golden-scans', `trivy-image-${name}`, `${name}.json.golden`);
      if (existsSync(golden)) {
        const g = JSON.parse(readFileSync(golden, 'utf8')) as TrivyReport;
        const withPurl = (g.Results ?? []).flatMap((r) => r.Vulnerabilities ?? []).filter((v) => v.PkgIdentifier?.PURL);
        assert.ok(withPurl.length > 0, 'golden has purls');
        for (const v of withPurl) {
          const p = res.packages.find((x) => x.name === v.PkgName && x.version === v.InstalledVersion);
          assert.ok(p, `${v.PkgName} ${v.InstalledVersion} (golden) not found`);
          assert.equal(p.purl, v.PkgIdentifier?.PURL);
        }
      }
    });
  }

  it('Debian-based distroless: PRETTY_NAME "Distroless" is debian with distroless=true', async () => {
    const { MemoryFs } = await import('../../src/domain/index.ts');
    const f = (path: string, text: string) => ({ path, content: Buffer.from(text), mode: 0o100644, size: text.length });
    const fs = new MemoryFs([
      f('etc/os-release', 'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\nVERSION_ID="12"\nVERSION="Debian GNU/Linux 12 (bookworm)"\nHOME_URL="https://github.com/GoogleContainerTools/distroless"\n'),
      f('etc/debian_version', '12.5\n'),
    ]);
    const res = await catalogFs(fs);
    assert.deepEqual(res.os, { family: 'debian', version: '12.5', prettyName: 'Distroless', distroless: true });
  });
});
