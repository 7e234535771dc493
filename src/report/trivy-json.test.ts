/**
 * The one-pass Trivy JSON writer (`trivyJsonText`, what `--format json` prints) against the reference
 * it replaces, `goJson(trivyReport(…))` (JSON.stringify of the report object, two-space indent, HTML
 * characters escaped): byte for byte, on every shared trivy-db tree (with and without
 * --list-all-pkgs) and on findings built to stress escaping, omitempty and number printing.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Finding, Package, ScanReport } from '../domain/index.ts';
import { cleanup, REPORT_NAMES, scanTree } from '../../test/integration/report-fixtures.ts';
import { goJson, trivyJsonText, trivyReport } from './trivy-json.ts';

after(cleanup);

const reference = (r: ScanReport, listAllPackages: boolean): string => goJson(trivyReport(r, { color: false, toolVersion: 't', listAllPackages }));
const fast = (r: ScanReport, listAllPackages: boolean): string => trivyJsonText(r, { color: false, toolVersion: 't', listAllPackages });

describe('trivyJsonText prints what goJson(trivyReport()) prints', () => {
  for (const name of REPORT_NAMES) {
    it(name, async () => {
      const report = await scanTree(name);
      for (const all of [false, true]) assert.equal(fast(report, all), reference(report, all), `${name} listAllPackages=${all}`);
    });
  }

  const weird = 'a "quoted" \\ back\\slash <b>&amp;</b> \u2028line\u2029para \u0000\u0001\u001f\u007f tab\t nl\n é 日本 😀 lone \ud800 and \udfff';
  const pkg = (over: Partial<Package>): Package => ({ type: 'deb', name: 'p', version: '1.0-1', purl: 'pkg:deb/debian/p@1.0-1?arch=amd64&distro=debian-12', locations: [], ...over });
  const deb = pkg({ name: 'openssl<&>', version: '1:3.0.11-1~deb12u2', source: { name: 'openssl', version: '3.0.11-1~deb12u2' }, arch: 'amd64', locations: [{ path: 'var/lib/dpkg/status', layer: 'sha256:d1' }], extra: { bomRef: `ref-${weird}` } });
  const bare = pkg({ name: '', version: '', purl: '' });
  const npm = pkg({ type: 'node-pkg', name: '@scope/n', version: '1.2.3', purl: 'pkg:npm/%40scope/n@1.2.3', locations: [{ path: 'app/node_modules/@scope/n/package.json', layer: 'sha256:unknown' }] });
  const lock = pkg({ type: 'npm', name: 'lodash', version: '4.17.20', purl: 'pkg:npm/lodash@4.17.20', filePath: 'app/package-lock.json', locations: [{ path: 'app/package-lock.json' }] });
  const base = (over: Partial<Finding>): Finding => ({ advisoryId: 'CVE-2024-0001', aliases: [], package: deb, installedVersion: deb.version, status: 'fixed', severity: 'HIGH', severitySource: 'nvd', ...over });
  const findings: Finding[] = [
    base({
      advisoryId: `CVE-2024-${weird}`,
      vendorIds: ['DSA-1<2>', weird],
      fixedVersion: '1:3.0.13-1~deb12u1, >= 3.1.0',
      status: 'will_not_fix',
      severity: 'CRITICAL',
      severitySource: weird,
      url: `https://example.test/?a=1&b=<2>`,
      dataSource: { id: 'debian', name: weird, url: 'https://salsa.debian.org/x?y=1&z=2' },
      title: weird,
      description: `${weird}\n`.repeat(3),
      cweIds: ['CWE-79', weird],
      vendorSeverity: { nvd: 'HIGH', debian: 'LOW', [weird]: 'UNKNOWN', ghsa: 'CRITICAL', 'a<b': 'MEDIUM' },
      cvss: {
        nvd: { v2Vector: 'AV:N/AC:L/Au:N/C:P/I:P/A:P', v2Score: 7.5, v3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', v3Score: 9.8 },
        redhat: { v3Vector: 'CVSS:3.1/AV:L', v3Score: 0, v2Score: 1e21, v40Vector: 'CVSS:4.0/AV:N', v40Score: 0.1 + 0.2 },
        empty: {},
        [weird]: { v40Score: 10 },
      },
      references: ['https://a.test/?x=<y>&z', weird, ''],
      publishedDate: '2024-01-02T03:04:05Z',
      lastModifiedDate: '2024-01-02T03:04:05.123Z',
    }),
    base({ status: 'unknown', severitySource: '', fixedVersion: '', vendorIds: [], cweIds: [], references: [], vendorSeverity: {}, cvss: {}, dataSource: { id: '', name: '', url: '' } }),
    base({ advisoryId: 'CVE-2024-0002', package: bare, installedVersion: '', severity: 'UNKNOWN', status: 'affected' }),
    base({ advisoryId: 'GHSA-xxxx', package: npm, installedVersion: npm.version, severitySource: 'ghsa', fixedVersion: '1.2.4' }),
    base({ advisoryId: 'GHSA-yyyy', package: lock, installedVersion: lock.version, severitySource: 'ghsa', status: 'not_affected' }),
    base({ advisoryId: 'CVE-2024-0003', package: lock, installedVersion: lock.version, vendorSeverity: { nvd: 'LOW' } }),
  ];
  const report = (over: Partial<ScanReport['inventory']>, fs: Finding[] = findings): ScanReport => ({
    inventory: {
      artifact: { name: `sbom:${weird}`, type: 'sbom', sbomFormat: 'cyclonedx', layers: [{ digest: 'sha256:l1', diffId: 'sha256:d1' }] },
      os: { family: 'debian', version: '12.4', eosl: false },
      packages: [deb, bare, npm, lock],
      notes: [],
      ...over,
    },
    findings: fs,
    db: { source: 'trivy' },
    createdAt: '2024-05-06T07:08:09.000Z',
    scannerVersion: '0.1.0',
  });
  const noOs = report({}, []);
  delete noOs.inventory.os;
  const cases: [string, ScanReport][] = [
    ['escaping, omitempty, numbers, maps, sbom refs', report({})],
    ['no findings', report({}, [])],
    ['no OS, nothing found', noOs],
    ['an end-of-life OS and an image config', report({ os: { family: 'debian', version: '9', eosl: true }, artifact: { name: 'img:1', type: 'container_image', layers: [{ diffId: 'sha256:d1' }], imageId: 'sha256:i', repoTags: ['img:1'], repoDigests: [], diffIds: ['sha256:d1'], imageConfig: { architecture: 'amd64', created: '2024-01-01T00:00:00.500Z', config: { Env: ['A=<1>'], Labels: { z: '1', a: weird }, ExposedPorts: { '80/tcp': {} } }, history: [{ created_by: weird, empty_layer: true }], rootfs: { type: 'layers', diff_ids: ['sha256:d1'] } } } })],
    ['a rootfs without layers', report({ artifact: { name: `rootfs:${weird}`, type: 'filesystem', layers: [] } })],
  ];
  for (const [what, r] of cases) {
    it(what, () => {
      for (const all of [false, true]) assert.equal(fast(r, all), reference(r, all), `${what} listAllPackages=${all}`);
    });
  }
});
