/**
 * `scan sbom:FILE` (src/scan/sbom-input.ts): our own CycloneDX and SPDX come back as the same
 * inventory (round trip), the real Trivy's CycloneDX and SPDX give the findings Trivy printed for
 * the same trees, the CLI scans an SBOM end to end like `trivy sbom`, and bad files get one clear line.
 */
import assert from 'node:assert/strict';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Finding, Inventory, Package } from '../../src/domain/index.ts';
import { cyclonedxJson } from '../../src/report/cyclonedx.ts';
import { spdxDocument } from '../../src/report/spdx.ts';
import type { RenderOptions } from '../../src/report/types.ts';
import { buildInventory } from '../../src/scan/index.ts';
import { matchTrivy } from '../../src/scan/match-trivy.ts';
import { parseSbom, readSbomFile, SBOM_MAX_BYTES } from '../../src/scan/sbom-input.ts';
import { UserError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/log.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { trivyBinary } from '../helpers/trivy.ts';
import { cleanup, inputFor, rawReport, REPORT_NAMES, run, runTrivy, scanTree, TDB, trivyDb, workDir } from './report-fixtures.ts';

after(cleanup);
const trivy = trivyBinary();
const OPTS: RenderOptions = { color: false, toolVersion: '0.1.0', now: new Date('2024-05-06T07:08:09Z') };

/** What a package is, without the document-specific bom-ref. */
function norm(p: Package): Package {
  const { extra, ...rest } = p;
  const e = { ...(extra ?? {}) };
  delete e['bomRef'];
  return Object.keys(e).length ? { ...rest, extra: e } : rest;
}
const key = (p: Package): string => `${p.purl} ${p.locations[0]?.path ?? ''}`;
const byPurl = (a: Package, b: Package): number => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
const row = (f: Finding): string => [f.package.name, f.installedVersion, f.advisoryId, f.fixedVersion ?? '', f.status, f.severity, f.severitySource, f.dataSource?.id ?? ''].join(' ');

interface TrivyReport {
  Results?: { Vulnerabilities?: { PkgName: string; InstalledVersion: string; VulnerabilityID: string; FixedVersion?: string; Status?: string; Severity: string; SeveritySource?: string; DataSource?: { ID: string } }[] }[];
}
const trivyRows = (r: TrivyReport): string[] =>
  (r.Results ?? []).flatMap((x) => (x.Vulnerabilities ?? []).map((v) => [v.PkgName, v.InstalledVersion, v.VulnerabilityID, v.FixedVersion ?? '', v.Status ?? '', v.Severity, v.SeveritySource ?? '', v.DataSource?.ID ?? ''].join(' '))).sort();

function write(name: string, text: string): string {
  const dir = join(workDir(), 'sbom-in');
  mkdirSync(dir, { recursive: true });
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('our SBOMs read back: the same inventory, the same findings', () => {
  for (const name of REPORT_NAMES) {
    it(`${name}: CycloneDX and SPDX round trip`, async () => {
      const scanned = await scanTree(name, { findings: false });
      const direct = matchTrivy(scanned.inventory, trivyDb()).findings.map(row).sort();
      for (const [fmt, text] of [
        ['cdx', cyclonedxJson(scanned, OPTS)],
        ['spdx', JSON.stringify(spdxDocument(scanned, OPTS))],
      ] as const) {
        const file = write(`${name}.${fmt}.json`, text);
        const inv = readSbomFile(file, `sbom:${file}`);
        assert.deepEqual(inv.packages.map(norm).sort(byPurl), scanned.inventory.packages.map(norm).sort(byPurl), fmt);
        assert.equal(inv.os?.family, scanned.inventory.os?.family);
        assert.equal(inv.os?.version, scanned.inventory.os?.version);
        assert.deepEqual(inv.notes, []);
        assert.equal(inv.artifact.type, 'sbom');
        assert.equal(inv.artifact.sbomFormat, fmt === 'cdx' ? 'cyclonedx' : 'spdx');
        assert.deepEqual(matchTrivy(inv, trivyDb()).findings.map(row).sort(), direct, `${fmt} findings`);
      }
    });
  }

  it('an incomplete scan stays marked incomplete through the SBOM', async () => {
    const scanned = await scanTree('alpine-310', { findings: false });
    scanned.inventory.notes.push('lib/apk/db/installed: truncated at 1 MiB');
    for (const text of [cyclonedxJson(scanned, OPTS), JSON.stringify(spdxDocument(scanned, OPTS))]) {
      const inv = parseSbom(text, 'x.json', 'sbom:x.json');
      assert.deepEqual(inv.notes, ['x.json: the SBOM says: lib/apk/db/installed: truncated at 1 MiB']);
    }
  });

  it('buildInventory("sbom:FILE") reads it (the scan entry point)', async () => {
    const scanned = await scanTree('debian-buster', { findings: false });
    const file = write('entry.cdx.json', cyclonedxJson(scanned, OPTS));
    const inv = await buildInventory(`sbom:${file}`, { cacheDir: workDir(), logger: silentLogger });
    assert.equal(inv.packages.length, scanned.inventory.packages.length);
    assert.equal(inv.artifact.name, `sbom:${file}`);
  });
});

/** One tree per OS driver (Trivy runs cost ~3 s each on this 2-core machine). */
const ONE_PER_FAMILY = ['alpine-310', 'amazon-2', 'centos-7', 'debian-9-extra', 'rockylinux-8', 'ubuntu-1804'];

describe('Trivy-written SBOMs', { skip: trivy ? false : 'no Trivy binary (set PORTCULLIS_TEST_TRIVY)' }, () => {
  for (const name of ONE_PER_FAMILY) {
    it(`${name}: Trivy's CycloneDX and SPDX → the findings Trivy printed for the tree`, async () => {
      const { cwd, arg } = inputFor(name);
      const want = trivyRows(JSON.parse(rawReport(name)) as TrivyReport);
      for (const fmt of ['cyclonedx', 'spdx-json']) {
        const file = write(`${name}.trivy.${fmt}.json`, await runTrivy(trivy as string, ['rootfs', '--format', fmt, arg], cwd));
        const inv = readSbomFile(file, `sbom:${file}`);
        assert.deepEqual(inv.notes, [], fmt);
        assert.ok(inv.packages.length > 0);
        assert.deepEqual(matchTrivy(inv, trivyDb()).findings.map(row).sort(), want, fmt);
      }
    });
  }

  it('the CLI: `portcullis scan sbom:FILE --format json` gives the rows `trivy sbom` gives on the same file (debian-buster: 2)', async () => {
    const { cwd, arg } = inputFor('debian-buster');
    const file = write('cli.trivy.cdx.json', await runTrivy(trivy as string, ['rootfs', '--format', 'cyclonedx', arg], cwd));
    const theirs = trivyRows(JSON.parse(await runTrivy(trivy as string, ['sbom', '--format', 'json', file], workDir())) as TrivyReport);
    assert.equal(theirs.length, 2);
    const cache = join(workDir(), 'cli-cache');
    const main = join(REPO_ROOT, 'src', 'main.ts');
    await run(process.execPath, [main, '--cache-dir', cache, 'db', 'import', `trivy:${join(TDB, 'db')}`]);
    const { stdout } = await run(process.execPath, [main, '--cache-dir', cache, 'scan', `sbom:${file}`, '--db-source', 'trivy', '--format', 'json'], { maxBuffer: 64 << 20 });
    const ours = JSON.parse(stdout) as TrivyReport & { ArtifactType: string };
    assert.deepEqual(trivyRows(ours), theirs);
    assert.equal(ours.ArtifactType, 'cyclonedx');
  });
});

describe('SBOM conventions of other tools', () => {
  it('Syft-style CycloneDX: upstream qualifier, syft:package:type, syft:location paths, OS component', () => {
    // shaped after Syft's CycloneDX output (no Syft binary here to generate one)
    const doc = {
      bomFormat: 'CycloneDX',
      specVersion: '1.4',
      components: [
        { type: 'library', name: 'libidn2-0', version: '2.0.5-1', purl: 'pkg:deb/debian/libidn2-0@2.0.5-1?arch=amd64&upstream=libidn2&distro=debian-10', properties: [{ name: 'syft:package:type', value: 'deb' }, { name: 'syft:location:0:path', value: '/var/lib/dpkg/status' }] },
        { type: 'library', name: 'Werkzeug', version: '0.11', purl: 'pkg:pypi/werkzeug@0.11', properties: [{ name: 'syft:package:type', value: 'python' }, { name: 'syft:location:0:path', value: '/usr/lib/python3/site-packages/Werkzeug-0.11.dist-info/METADATA' }] },
        { type: 'operating-system', name: 'debian', version: '10' },
      ],
    };
    const inv = parseSbom(JSON.stringify(doc), 'syft.json', 'sbom:syft.json');
    assert.deepEqual(inv.os, { family: 'debian', version: '10' });
    const [deb, py] = inv.packages;
    assert.deepEqual([deb?.type, deb?.name, deb?.version, deb?.source, deb?.arch], ['deb', 'libidn2-0', '2.0.5-1', { name: 'libidn2', version: '2.0.5-1' }, 'amd64']);
    assert.deepEqual([py?.type, py?.name, py?.version, py?.locations[0]?.path], ['python-pkg', 'Werkzeug', '0.11', '/usr/lib/python3/site-packages/Werkzeug-0.11.dist-info/METADATA']);
    const m = matchTrivy(inv, trivyDb()).findings.map((f) => `${f.package.name} ${f.advisoryId}`).sort();
    assert.deepEqual(m, ['Werkzeug CVE-2019-14806', 'Werkzeug CVE-2020-28724', 'libidn2-0 CVE-2019-18224']);
  });

  it('no OS component: the OS comes from the purls’ distro qualifier; without either, a note says OS packages cannot be matched', () => {
    const comp = (purl: string) => ({ type: 'library', name: 'bash', version: '5.0-4', purl });
    const a = parseSbom(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [comp('pkg:deb/debian/bash@5.0-4?distro=debian-10.1')] }), 'a.json', 'sbom:a.json');
    assert.deepEqual(a.os, { family: 'debian', version: '10.1' });
    const b = parseSbom(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [comp('pkg:deb/debian/bash@5.0-4')] }), 'b.json', 'sbom:b.json');
    assert.equal(b.os, undefined);
    assert.match(b.notes.join('\n'), /^b\.json: the SBOM names no operating system/);
    const apk = parseSbom(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [{ type: 'library', name: 'musl', purl: 'pkg:apk/alpine/musl@1.1.22-r3?arch=x86_64&distro=3.10.2' }] }), 'c.json', 'sbom:c.json');
    assert.deepEqual(apk.os, { family: 'alpine', version: '3.10.2' });
    assert.equal(apk.packages[0]?.version, '1.1.22-r3');
  });

  it('purl details: epoch qualifier folded into the version, Go without v, maven group:artifact, npm scopes', () => {
    const c = (purl: string, name?: string) => ({ type: 'library', ...(name ? { name } : {}), purl });
    const inv = parseSbom(
      JSON.stringify({
        bomFormat: 'CycloneDX',
        specVersion: '1.6',
        components: [
          c('pkg:deb/debian/libss2@1.43.4-2?arch=amd64&distro=debian-9.13&epoch=1'),
          c('pkg:rpm/centos/openssl-libs@1.0.2k-16.el7?arch=x86_64&epoch=1&distro=centos-7.6.1810'),
          c('pkg:golang/golang.org/x/text@v0.3.6'),
          c('pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1'),
          c('pkg:npm/%40babel/core@7.0.0'),
          c('pkg:swift/github.com/x/y@1.0.0'),
        ],
      }),
      'd.json',
      'sbom:d.json',
    );
    assert.deepEqual(
      inv.packages.map((p) => [p.type, p.name, p.version]),
      [
        ['deb', 'libss2', '1:1.43.4-2'],
        ['rpm', 'openssl-libs', '1:1.0.2k-16.el7'],
        ['gobinary', 'golang.org/x/text', 'v0.3.6'],
        ['jar', 'org.apache.logging.log4j:log4j-core', '2.14.1'],
        ['node-pkg', '@babel/core', '7.0.0'],
      ],
    );
    assert.equal(inv.packages[1]?.epoch, 1);
    assert.match(inv.notes.join('\n'), /purl type "swift" are not supported and were skipped/);
  });
});

describe('bad SBOM files: one clear line each', () => {
  let dir: string;
  before(() => {
    dir = join(workDir(), 'bad');
    mkdirSync(dir, { recursive: true });
  });
  const fails = (fn: () => Inventory, code: string, message: RegExp): void => {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof UserError, String(err));
      assert.equal(err.code, code);
      assert.match(err.message, message);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  };

  it('missing file, a directory', () => {
    fails(() => readSbomFile(join(dir, 'nope.json'), 'sbom:nope.json'), 'SBOM_NOT_FOUND', /nope\.json: no such file$/);
    fails(() => readSbomFile(dir, `sbom:${dir}`), 'SBOM_NOT_FOUND', /is not a file$/);
  });

  it('over the size limit (a sparse file: nothing is read)', () => {
    const big = join(dir, 'big.json');
    writeFileSync(big, '');
    truncateSync(big, SBOM_MAX_BYTES + 1);
    fails(() => readSbomFile(big, 'sbom:big.json'), 'SBOM_TOO_LARGE', /big\.json is 268435457 bytes, over the 268435456-byte limit/);
  });

  it('not JSON, truncated JSON', () => {
    fails(() => parseSbom('<bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>', 'bom.xml', 'sbom:bom.xml'), 'SBOM_INVALID_JSON', /^bom\.xml is not valid JSON \(.+\); expected a CycloneDX or SPDX JSON document$/);
    fails(() => parseSbom('{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [', 't.json', 'sbom:t.json'), 'SBOM_INVALID_JSON', /^t\.json is not valid JSON/);
  });

  it('JSON that is neither format (a Trivy JSON report, an array, a string)', () => {
    for (const text of [rawReport('alpine-310'), '[]', '"x"', '{}']) fails(() => parseSbom(text, 'report.json', 'sbom:report.json'), 'SBOM_UNKNOWN_FORMAT', /^report\.json is neither a CycloneDX nor an SPDX JSON document$/);
  });

  it('unsupported versions and broken shapes', () => {
    fails(() => parseSbom('{"bomFormat":"CycloneDX","specVersion":"1.1"}', 'old.json', 'sbom:old.json'), 'SBOM_UNSUPPORTED_VERSION', /CycloneDX 1\.1 is not supported \(CycloneDX JSON 1\.2 to 1\.6 is\)/);
    fails(() => parseSbom('{"spdxVersion":"SPDX-2.1","packages":[]}', 'old.spdx.json', 'sbom:old.spdx.json'), 'SBOM_UNSUPPORTED_VERSION', /SPDX-2\.1 is not supported/);
    fails(() => parseSbom('{"bomFormat":"CycloneDX","specVersion":"1.5","components":{}}', 'c.json', 'sbom:c.json'), 'SBOM_INVALID', /"components" is not a list/);
    fails(() => parseSbom('{"spdxVersion":"SPDX-2.3","packages":"x"}', 's.json', 'sbom:s.json'), 'SBOM_INVALID', /"packages" is not a list/);
  });

  it('junk inside a valid document is skipped, not fatal', () => {
    const inv = parseSbom(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [null, 3, { type: 'library', purl: 'not a purl' }, { type: 'library', name: 'ms', purl: 'pkg:npm/ms@2.0.0', licenses: [{ license: { id: 'MIT' } }, 'bad'] }] }), 'j.json', 'sbom:j.json');
    assert.deepEqual(inv.packages.map((p) => [p.name, p.version, p.licenses]), [['ms', '2.0.0', ['MIT']]]);
    assert.match(inv.notes.join('\n'), /unparsable package URL/);
  });
});
