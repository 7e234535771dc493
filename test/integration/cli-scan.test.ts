/**
 * The `scan`, `sbom` and `demo` commands as users run them: the real CLI in a child process on
 * Node 24, real images (the bundled demo OCI layout and archives made from it), real SQLite layer
 * cache; exit codes, formats, --output, filters and one-line errors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.ts';
import { DEBIAN_12, buildImage, osReleaseEntries, writeOciLayout } from '../helpers/image-builder.ts';
import { registryAvailable, startRegistry } from '../helpers/registry.ts';

const NODE = process.execPath;
const MAIN = join(REPO_ROOT, 'src', 'main.ts');
const DEMO = join(REPO_ROOT, 'demo', 'image');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(NODE, [MAIN, ...args], { cwd: opts.cwd ?? work, env: { ...process.env, NO_COLOR: '1', ...opts.env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let work: string;
let cache: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'pc-cli-'));
  cache = join(work, 'cache');
});
after(() => rmSync(work, { recursive: true, force: true }));

interface TrivyRow {
  target: string;
  id: string;
  pkg: string;
  installed: string;
  fixed?: string;
  severity: string;
}
function rows(json: string): TrivyRow[] {
  const r = JSON.parse(json) as { Results?: { Target: string; Vulnerabilities?: Record<string, string>[] }[] };
  return (r.Results ?? []).flatMap((res) =>
    (res.Vulnerabilities ?? []).map((v) => {
      const row: TrivyRow = { target: res.Target, id: String(v['VulnerabilityID']), pkg: String(v['PkgName']), installed: String(v['InstalledVersion']), severity: String(v['Severity']) };
      if (v['FixedVersion']) row.fixed = v['FixedVersion'];
      return row;
    }),
  );
}

describe('portcullis demo (the README\'s first command)', () => {
  it('shows real findings offline, from the bundled sample, and exits 0', async () => {
    const r = await cli(['--cache-dir', cache, 'demo']);
    assert.equal(r.code, 0, r.stderr);
    for (const id of ['CVE-2015-8315', 'CVE-2016-10707', 'CVE-2022-40897']) assert.match(r.stdout, new RegExp(id), `table shows ${id}`);
    assert.match(r.stdout, /USN-3863-1/);
    assert.match(r.stdout, /Total: \d+ \(CRITICAL: \d+, HIGH: \d+, MEDIUM: \d+, LOW: \d+, UNKNOWN: \d+\)/);
    assert.doesNotMatch(r.stdout, /left-pad/, 'left-pad was deleted by a whiteout');
    assert.match(r.stderr, /sample/);
  });
  it('gives the exact findings as Trivy JSON', async () => {
    const r = await cli(['--cache-dir', cache, 'demo', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const got = rows(r.stdout).map((x) => `${x.pkg} ${x.installed} ${x.id} ${x.fixed ?? '-'}`).sort();
    assert.deepEqual(got, [
      'apt 1.6.3ubuntu0.1 USN-3863-1 1.6.6ubuntu0.1',
      'jquery 2.2.4 CVE-2016-10707 3.0.0',
      'libapt-pkg5.0 1.6.3ubuntu0.1 USN-3863-1 1.6.6ubuntu0.1',
      'ms 0.7.0 CVE-2015-8315 0.7.1',
      'setuptools 51.3.3 CVE-2022-40897 65.5.1',
    ]);
  });
});

describe('portcullis scan', () => {
  let dbCache: string;
  before(async () => {
    // a real advisory DB: the demo sample imported into the SQLite store
    dbCache = join(work, 'dbcache');
    const r = await cli(['--cache-dir', dbCache, 'db', 'import', join(REPO_ROOT, 'demo', 'advisories')]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('--exit-code N exits N when findings remain, 0 when the filters leave none', async () => {
    const hit = await cli(['--cache-dir', dbCache, 'scan', `oci:${DEMO}`, '--exit-code', '7', '--format', 'json']);
    assert.equal(hit.code, 7, hit.stderr);
    assert.ok(rows(hit.stdout).length >= 5);
    const none = await cli(['--cache-dir', dbCache, 'scan', `oci:${DEMO}`, '--exit-code', '7', '--severity', 'LOW', '--format', 'json']);
    const low = rows(none.stdout);
    assert.equal(none.code, low.length ? 7 : 0);
    assert.ok(low.every((x) => x.severity === 'LOW'));
  });

  it('--ignorefile drops ignored ids; portcullis.yaml supplies flags; flags win over it', async () => {
    const dir = mkdtempSync(join(work, 'cfg-'));
    writeFileSync(join(dir, '.trivyignore'), '# accepted\nCVE-2016-10707\n');
    writeFileSync(join(dir, 'portcullis.yaml'), 'format: json\nexit-code: 4\n');
    const r = await cli(['--cache-dir', dbCache, 'scan', `oci:${DEMO}`], { cwd: dir });
    assert.equal(r.code, 4, r.stderr);
    const ids = rows(r.stdout).map((x) => x.id);
    assert.ok(!ids.includes('CVE-2016-10707'));
    assert.ok(ids.includes('CVE-2015-8315'));
    const flag = await cli(['--cache-dir', dbCache, 'scan', `oci:${DEMO}`, '--exit-code', '0'], { cwd: dir });
    assert.equal(flag.code, 0);
  });

  it('--output writes the file atomically; a failed scan leaves no file', async () => {
    const out = join(work, 'report.sarif');
    const r = await cli(['--cache-dir', dbCache, 'scan', `oci:${DEMO}`, '--format', 'sarif', '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    const sarif = JSON.parse(readFileSync(out, 'utf8')) as { version: string; runs: unknown[] };
    assert.equal(sarif.version, '2.1.0');
    const bad = join(work, 'bad.json');
    const f = await cli(['--cache-dir', dbCache, 'scan', `oci:${join(work, 'no-such-layout')}`, '--format', 'json', '--output', bad]);
    assert.equal(f.code, 1);
    assert.ok(!existsSync(bad));
    assert.deepEqual(readdirSync(work).filter((n) => n.includes('.tmp')), []);
  });

  it('without a DB: one line telling the user to run db update, exit 1', async () => {
    const r = await cli(['--cache-dir', join(work, 'empty-cache'), 'scan', `oci:${DEMO}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: no advisory database in .*portcullis db update/m);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('bad targets and flags: one clear line, non-zero exit, no stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['scan', 'UPPER/Case:tag'], /error: .*(invalid|reference)/i],
      [['scan', 'alpine:3.19;rm -rf /'], /error: .*invalid/i],
      [['scan', `oci:${DEMO}`, '--severity', 'SEVERE'], /error: unknown severity "SEVERE"/],
      [['scan', `oci:${DEMO}`, '--format', 'xml'], /error: unknown --format "xml"/],
      [['scan', `docker-archive:${join(work, 'missing.tar')}`], /error: .*missing\.tar/],
      [['scan', `sbom:${join(REPO_ROOT, 'package.json')}`], /error: .*neither a CycloneDX nor an SPDX/],
      [['scan', `oci:${DEMO}`, '--timeout', 'soon'], /error: invalid --timeout "soon"/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(['--cache-dir', dbCache, ...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace for ${args.join(' ')}`);
    }
  });
});

describe('portcullis sbom', () => {
  it('CycloneDX and SPDX of the demo image, and scanning that SBOM finds the same vulnerabilities', async () => {
    const cdx = join(work, 'demo.cdx.json');
    const r = await cli(['--cache-dir', cache, 'sbom', `oci:${DEMO}`, '--format', 'cyclonedx', '--output', cdx]);
    assert.equal(r.code, 0, r.stderr);
    const bom = JSON.parse(readFileSync(cdx, 'utf8')) as { bomFormat: string; specVersion: string; components: { purl?: string; type: string }[] };
    assert.equal(bom.bomFormat, 'CycloneDX');
    const purls = bom.components.map((c) => c.purl).filter(Boolean);
    assert.ok(purls.includes('pkg:npm/ms@0.7.0'));
    assert.ok(purls.some((p) => p?.startsWith('pkg:deb/ubuntu/apt@1.6.3ubuntu0.1')));
    assert.ok(!purls.some((p) => p?.includes('left-pad')));
    assert.ok(bom.components.some((c) => c.type === 'operating-system'));
    assert.ok(!readFileSync(cdx, 'utf8').includes('aquasecurity:trivy:'), 'no Trivy properties unless asked');
    const compat = await cli(['--cache-dir', cache, 'sbom', `oci:${DEMO}`, '--sbom-compat', 'trivy']);
    assert.equal(compat.code, 0, compat.stderr);
    assert.match(compat.stdout, /"aquasecurity:trivy:SrcName"/);
    const spdxFile = join(work, 'demo.spdx.json');
    const spdx = await cli(['--cache-dir', cache, 'sbom', `oci:${DEMO}`, '--format', 'spdx-json', '-o', spdxFile]);
    assert.equal(spdx.code, 0, spdx.stderr);
    assert.equal((JSON.parse(readFileSync(spdxFile, 'utf8')) as { spdxVersion: string }).spdxVersion, 'SPDX-2.3');
    // scanning either SBOM gives the findings of scanning the image
    const dbCache = join(work, 'sbom-db');
    assert.equal((await cli(['--cache-dir', dbCache, 'db', 'import', join(REPO_ROOT, 'demo', 'advisories')])).code, 0);
    const key = (j: string): string[] => rows(j).map((x) => `${x.pkg} ${x.installed} ${x.id} ${x.fixed ?? '-'}`).sort();
    const direct = await cli(['--cache-dir', dbCache, 'scan', `oci:${DEMO}`, '--format', 'json']);
    assert.equal(key(direct.stdout).length, 5);
    for (const f of [cdx, spdxFile]) {
      const viaSbom = await cli(['--cache-dir', dbCache, 'scan', `sbom:${f}`, '--format', 'json']);
      assert.equal(viaSbom.code, 0, viaSbom.stderr);
      assert.deepEqual(key(viaSbom.stdout), key(direct.stdout), f);
    }
  });
});

describe('portcullis sbom --cyclonedx-version', () => {
  it('writes the spec version asked for (flag, env, config); an unknown one is one line', async () => {
    const c = join(work, 'cdxv-cache');
    const v16 = await cli(['--cache-dir', c, 'sbom', `oci:${DEMO}:latest`, '--format', 'cyclonedx', '--cyclonedx-version', '1.6']);
    assert.equal(v16.code, 0, v16.stderr);
    assert.equal((JSON.parse(v16.stdout) as { specVersion: string }).specVersion, '1.6');
    const env = await cli(['--cache-dir', c, 'sbom', `oci:${DEMO}:latest`, '--format', 'cyclonedx'], { env: { PORTCULLIS_CYCLONEDX_VERSION: '1.4' } });
    assert.equal((JSON.parse(env.stdout) as { specVersion: string }).specVersion, '1.4');
    const cfgDir = mkdtempSync(join(work, 'cdxv-cfg-'));
    writeFileSync(join(cfgDir, 'portcullis.yaml'), "cyclonedx-version: '1.6'\n");
    const cfg = await cli(['--cache-dir', c, 'sbom', `oci:${DEMO}:latest`, '--format', 'cyclonedx'], { cwd: cfgDir });
    assert.equal((JSON.parse(cfg.stdout) as { specVersion: string }).specVersion, '1.6');
    const dflt = await cli(['--cache-dir', c, 'sbom', `oci:${DEMO}:latest`, '--format', 'cyclonedx']);
    assert.equal((JSON.parse(dflt.stdout) as { specVersion: string }).specVersion, '1.5');
    const bad = await cli(['--cache-dir', c, 'sbom', `oci:${DEMO}:latest`, '--format', 'cyclonedx', '--cyclonedx-version', '2.0']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: .*'2\.0' is invalid.*1\.4, 1\.5, 1\.6/);
  });
});

describe('portcullis sbom --verify-diff-ids', () => {
  it('a layer whose tar is not its claimed diff ID: accepted by default (the blob digest is verified), one DIGEST_MISMATCH line with the flag or the config key, also after a cached run', async () => {
    const wrong = `sha256:${'ab'.repeat(32)}`;
    const image = buildImage({ layers: [osReleaseEntries(DEBIAN_12), { entries: [{ path: 'etc/hostname', content: 'x\n' }], diffId: wrong }] });
    const dir = join(work, 'bad-diffid');
    await writeOciLayout(dir, [{ tag: 'v1', image }]);
    const c = join(work, 'verify-cache');
    const plain = await cli(['--cache-dir', c, 'sbom', `oci:${dir}:v1`, '--format', 'cyclonedx']);
    assert.equal(plain.code, 0, plain.stderr);
    const strict = await cli(['--cache-dir', c, 'sbom', `oci:${dir}:v1`, '--format', 'cyclonedx', '--verify-diff-ids']);
    assert.equal(strict.code, 1);
    assert.equal(strict.stdout, '');
    assert.match(strict.stderr, new RegExp(`^error: .*not its diff ID ${wrong}`));
    assert.equal(strict.stderr.trim().split('\n').length, 1, strict.stderr);
    const cfgDir = mkdtempSync(join(work, 'verify-cfg-'));
    writeFileSync(join(cfgDir, 'portcullis.yaml'), 'verify-diff-ids: true\n');
    const byConfig = await cli(['--cache-dir', c, 'sbom', `oci:${dir}:v1`, '--format', 'cyclonedx'], { cwd: cfgDir });
    assert.equal(byConfig.code, 1);
    assert.match(byConfig.stderr, /DIGEST_MISMATCH|not its diff ID/);
  });
});

describe('portcullis scan of a registry image behind auth', { skip: registryAvailable() ?? false }, () => {
  it('uses $DOCKER_CONFIG/config.json without --registry-config, and fails with one line without it', async () => {
    const reg = await startRegistry({ auth: 'token' });
    try {
      await reg.push(DEMO, 'demo/app:1', { layoutTag: 'latest' });
      const dockerDir = mkdtempSync(join(work, 'docker-'));
      reg.dockerConfig(dockerDir);
      const dbCache = join(work, 'reg-db');
      assert.equal((await cli(['--cache-dir', dbCache, 'db', 'import', join(REPO_ROOT, 'demo', 'advisories')])).code, 0);
      const ok = await cli(['--cache-dir', dbCache, 'scan', `${reg.host}/demo/app:1`, '--format', 'json'], { env: { DOCKER_CONFIG: dockerDir, HOME: work } });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(rows(ok.stdout).length, 5);
      const denied = await cli(['--cache-dir', dbCache, 'scan', `${reg.host}/demo/app:1`, '--no-cache'], { env: { DOCKER_CONFIG: join(work, 'no-docker-config'), HOME: work } });
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /^error: .*(401|unauthori[sz]ed|authentication)/im);
      assert.equal(denied.stderr.trim().split('\n').length, 1, denied.stderr);
    } finally {
      await reg.stop();
    }
  });

  it('asks the credential helper the docker config names (credsStore), as docker does; a failing helper is one line', async () => {
    const reg = await startRegistry({ auth: 'token' });
    try {
      await reg.push(DEMO, 'demo/app:1', { layoutTag: 'latest' });
      const bin = mkdtempSync(join(work, 'helper-bin-'));
      const log = join(bin, 'asked.log');
      // docker-credential-pcstore: answers the registry's user for its host, "not found" for others
      writeFileSync(
        join(bin, 'docker-credential-pcstore'),
        `#!${process.execPath}\nlet a = '';\nprocess.stdin.on('data', (c) => (a += c));\nprocess.stdin.on('end', () => {\n  require('fs').appendFileSync(${JSON.stringify(log)}, process.argv[2] + ' ' + a + '\\n');\n  if (a !== ${JSON.stringify(reg.host)}) { process.stdout.write('credentials not found in native keychain'); process.exit(1); }\n  process.stdout.write(JSON.stringify({ ServerURL: a, Username: ${JSON.stringify(reg.user)}, Secret: ${JSON.stringify(reg.password)} }));\n});\n`,
        { mode: 0o755 },
      );
      const dockerDir = mkdtempSync(join(work, 'docker-helper-'));
      writeFileSync(join(dockerDir, 'config.json'), JSON.stringify({ auths: { [reg.host]: {} }, credsStore: 'pcstore' }));
      const dbCache = join(work, 'reg-db-helper');
      assert.equal((await cli(['--cache-dir', dbCache, 'db', 'import', join(REPO_ROOT, 'demo', 'advisories')])).code, 0);
      const env = { DOCKER_CONFIG: dockerDir, HOME: work, PATH: `${bin}:${process.env['PATH'] ?? ''}` };
      const ok = await cli(['--cache-dir', dbCache, 'scan', `${reg.host}/demo/app:1`, '--format', 'json'], { env });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(rows(ok.stdout).length, 5);
      assert.match(readFileSync(log, 'utf8'), new RegExp(`^get ${reg.host.replace(/\./g, '\\.')}$`, 'm'));
      writeFileSync(join(dockerDir, 'config.json'), JSON.stringify({ credHelpers: { [reg.host]: 'pcabsent' } }));
      const bad = await cli(['--cache-dir', dbCache, 'scan', `${reg.host}/demo/app:1`, '--no-cache'], { env });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^error: .*docker-credential-pcabsent, which is not on PATH/m);
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    } finally {
      await reg.stop();
    }
  });
});
