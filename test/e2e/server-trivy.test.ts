/**
 * The trivy backend with the real Trivy 0.44.1 binary against a real registry and the fixture Trivy
 * DB, and with stand-ins for a Trivy that crashes, prints garbage or hangs. Also: an image name with
 * shell metacharacters never reaches execFile, and the image is one argv element after `--`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BuiltinBackend, TrivyBackend } from '../../src/backends/index.ts';
import type { Finding } from '../../src/domain/index.ts';
import { silentLogger } from '../../src/shared/log.ts';
import { freePort, registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { trivyBinary } from '../helpers/trivy.ts';
import {
  buildImage,
  cleanImageSpec,
  eventually,
  imageReview,
  installTrivyDb,
  podReview,
  post,
  rmTemp,
  startTestServer,
  tempCacheDir,
  trapUnhandledRejections,
  vulnerableSpec,
  type TestServer,
} from './helpers.ts';

const trivy = trivyBinary();
const skip = registryAvailable() ?? (trivy ? undefined : 'no Trivy binary (set PORTCULLIS_TEST_TRIVY)');
const rejections = trapUnhandledRejections();

type ImageReviewAnswer = { status: { allowed: boolean; reason?: string; results: { image: string; allowed: boolean; reason: string; digest?: string }[] } };
type AdmissionAnswer = { response: { uid: string; allowed: boolean; warnings?: string[]; status?: { message: string } } };

/** A stand-in executable: answers `version` like Trivy, does `body` for scans. */
function fakeTrivy(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(
    p,
    `#!/bin/sh\nfor a in "$@"; do if [ "$a" = version ]; then echo '{"Version":"0.44.1-fake","VulnerabilityDB":{"UpdatedAt":"2023-08-23T00:00:00Z"}}'; exit 0; fi; done\n${body}\n`,
  );
  chmodSync(p, 0o755);
  return p;
}

const key = (f: Finding): string => [f.advisoryId, f.package.name, f.installedVersion, f.fixedVersion ?? '', f.severity, f.status].join(' ');

describe('trivy backend', { skip }, () => {
  let reg: TestRegistry;
  let vulnDigest: string;
  let vuln: string;
  let clean: string;
  let bin: string;
  let argvDir: string;
  let srv: TestServer;

  before(async () => {
    reg = await startRegistry();
    vulnDigest = await reg.pushImage(buildImage(vulnerableSpec()), 'acme/buster:1.0');
    await reg.pushImage(buildImage(cleanImageSpec()), 'acme/clean:1.0');
    vuln = `${reg.host}/acme/buster:1.0`;
    clean = `${reg.host}/acme/clean:1.0`;
    bin = mkdtempSync(join(tmpdir(), 'pc-fake-trivy-'));
    argvDir = join(bin, 'argv');
    // Records every argv (NUL-separated, one file per run), then runs the real Trivy with it.
    const wrapper = join(bin, 'trivy-recording');
    writeFileSync(wrapper, `#!/bin/sh\nmkdir -p '${argvDir}'\nprintf '%s\\0' "$@" > '${argvDir}'/$$\nexec '${trivy}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const cacheDir = tempCacheDir();
    installTrivyDb(cacheDir, 'trivy/db');
    srv = await startTestServer({
      cacheDir,
      server: { backend: 'trivy', trivy: { binary: wrapper, offlineScan: true, timeout: '2m' }, insecureRegistries: [reg.host] },
    });
  });

  after(async () => {
    await srv?.close();
    if (srv) rmTemp(srv.cacheDir);
    await reg?.stop();
    if (bin) rmTemp(bin);
    rejections.stop();
    assert.deepEqual(rejections.list, [], 'no unhandled rejections');
  });

  it('denies the vulnerable image with the advisory id Trivy found, allows the clean one, caches by digest', async () => {
    const ready = await fetch(`${srv.url}/readyz`);
    assert.equal(ready.status, 200);
    const a = (await post(`${srv.url}/scan?timeout=30s`, imageReview([vuln, clean]))).json as ImageReviewAnswer;
    assert.equal(a.status.allowed, false);
    assert.match(a.status.reason ?? '', /CVE-2019-18224/);
    assert.equal(a.status.results[0]?.digest, vulnDigest);
    assert.equal(a.status.results[1]?.allowed, true);
    assert.equal(await srv.metric('portcullis_scans_total', { backend: 'trivy', outcome: 'ok' }), 2);
    const again = (await post(`${srv.url}/validate`, podReview('a1', [vuln]))).json as AdmissionAnswer;
    assert.equal(again.response.allowed, false);
    assert.equal(await srv.metric('portcullis_scans_total'), 2, 'second answer from the digest cache');
  });

  it('passes the image as one argv element after `--`, pinned by digest', () => {
    const runs = readdirSync(argvDir).map((f) => readFileSync(join(argvDir, f), 'utf8').split('\0').slice(0, -1));
    const scans = runs.filter((a) => a.includes('image'));
    assert.ok(scans.length >= 2);
    const forVuln = scans.find((a) => a.at(-1) === `${reg.host}/acme/buster@${vulnDigest}`);
    assert.ok(forVuln, 'scanned by digest');
    assert.equal(forVuln.at(-2), '--');
    assert.deepEqual(forVuln.slice(0, 4), ['--quiet', '--cache-dir', join(srv.cacheDir, 'trivy'), 'image']);
    for (const f of ['--format', 'json', '--scanners', 'vuln', '--skip-db-update', '--offline-scan']) assert.ok(forVuln.includes(f), f);
  });

  it('an image name with shell metacharacters never reaches execFile', async () => {
    const before = readdirSync(argvDir).length;
    const evil = [
      `${reg.host}/acme/buster:1.0;touch ${bin}/pwned`,
      `${reg.host}/acme/buster:$(touch ${bin}/pwned)`,
      `${reg.host}/acme/\`touch ${bin}/pwned\`:1`,
      '--help',
      `${reg.host}/acme/buster:1.0 && touch ${bin}/pwned`,
      `${reg.host}/${'a'.repeat(10 * 1024)}:1`,
    ];
    const a = (await post(`${srv.url}/scan`, imageReview(evil))).json as ImageReviewAnswer;
    assert.equal(a.status.allowed, false);
    assert.equal(a.status.results.length, evil.length);
    for (const r of a.status.results) assert.equal(r.allowed, false);
    assert.equal(readdirSync(argvDir).length, before, 'Trivy was not run');
    assert.equal(existsSync(join(bin, 'pwned')), false);
  });

  it('maps Trivy JSON to the same findings as the builtin backend on the same image', async () => {
    const pinned = `${reg.host}/acme/buster@${vulnDigest}`;
    const signal = new AbortController().signal;
    const t = new TrivyBackend({ binary: trivy as string, cacheDir: join(srv.cacheDir, 'trivy'), timeoutMs: 120_000, skipDbUpdate: true, offlineScan: true, maxOutputBytes: 1 << 26, logger: silentLogger, allowPrivateRegistries: true, insecureRegistries: [reg.host] });
    const bc = tempCacheDir({ trivyDb: true });
    const b = new BuiltinBackend({ cacheDir: bc, dbSource: 'trivy', logger: silentLogger, allowPrivateRegistries: true, insecureRegistries: [reg.host] });
    try {
      await t.start();
      await b.start();
      const [tr, br] = await Promise.all([t.scan(pinned, { signal }), b.scan(pinned, { signal })]);
      assert.deepEqual(tr.findings.map(key).sort(), br.findings.map(key).sort());
      assert.deepEqual(tr.findings.map((f) => f.advisoryId).sort(), ['CVE-2019-18224', 'CVE-2019-18276']);
      const crit = tr.findings.find((f) => f.advisoryId === 'CVE-2019-18224');
      assert.equal(crit?.package.type, 'deb');
      assert.equal(crit?.dataSource?.id, 'debian');
      assert.ok(crit?.title);
      assert.equal(tr.os?.family, 'debian');
    } finally {
      await t.close();
      await b.close();
      rmTemp(bc);
    }
  });

  for (const [name, body, code, kind] of [
    ['exits 1', 'echo "FATAL: something broke" >&2; exit 1', 'scanner', 'error'],
    ['prints garbage', 'echo "this is not JSON {"; exit 0', 'scanner', 'error'],
    ['prints JSON that is not a report', 'echo \'{"hello":"world"}\'; exit 0', 'scanner', 'error'],
    ['is killed by a signal', 'kill -SEGV $$', 'scanner', 'error'],
    ['hangs past its timeout', 'sleep 30', 'timeout', 'timeout'],
  ] as const) {
    it(`a Trivy that ${name} yields the onError decision and a metric, never a crash`, async () => {
      const exe = fakeTrivy(bin, `trivy-${name.replace(/\W+/g, '-')}`, body);
      const s = await startTestServer({ server: { backend: 'trivy', trivy: { binary: exe, timeout: '1s' }, insecureRegistries: [reg.host] } });
      try {
        const a = (await post(`${s.url}/scan?timeout=30s`, imageReview([vuln]))).json as ImageReviewAnswer;
        assert.equal(a.status.allowed, false);
        assert.match(a.status.results[0]?.reason ?? '', kind === 'timeout' ? /scan took too long/ : /scan failed: the scanner failed/);
        assert.doesNotMatch(JSON.stringify(a), /FATAL|not JSON|hello|SIGSEGV/, 'no scanner output sent to the client');
        assert.equal(await s.metric('portcullis_errors_total', { kind: code }), 1);
        assert.equal(await s.metric('portcullis_scans_total', { backend: 'trivy', outcome: kind }), 1);
        // onError: allow admits, with a warning naming the failure.
        const lenient = await startTestServer({ cacheDir: s.cacheDir, policy: { onError: 'allow' }, server: { backend: 'trivy', trivy: { binary: exe, timeout: '1s' }, insecureRegistries: [reg.host], cache: { persist: false } } });
        try {
          const v = (await post(`${lenient.url}/validate`, podReview('u-1', [vuln]))).json as AdmissionAnswer;
          assert.equal(v.response.uid, 'u-1');
          assert.equal(v.response.allowed, true);
          assert.match((v.response.warnings ?? []).join('\n'), /scan failed/);
        } finally {
          await lenient.close();
        }
      } finally {
        await s.close();
        rmTemp(s.cacheDir);
      }
    });
  }

  it('uses a Trivy server in client mode (--server), with its token from a file, never on the command line', async () => {
    const port = await freePort();
    const serverCache = tempCacheDir();
    installTrivyDb(serverCache, 'db');
    const token = 'tok-s3cret-0123';
    const tokenFile = join(bin, 'trivy-token');
    writeFileSync(tokenFile, `${token}\n`);
    const server = spawn(trivy as string, ['server', '--listen', `127.0.0.1:${port}`, '--cache-dir', serverCache, '--skip-db-update', '--token', token], { stdio: 'ignore' });
    const client = await startTestServer({
      server: { backend: 'trivy', trivy: { binary: join(bin, 'trivy-recording'), serverUrl: `http://127.0.0.1:${port}`, tokenFile, timeout: '2m' }, insecureRegistries: [reg.host], cache: { persist: false } },
    });
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok === true, 60_000, 250);
      const ready = (await (await fetch(`${client.url}/readyz`)).json()) as { status: string; db: { source: string } };
      assert.equal(ready.status, 'ready');
      assert.equal(ready.db.source, 'trivy-server');
      const a = (await post(`${client.url}/scan?timeout=30s`, imageReview([vuln]))).json as ImageReviewAnswer;
      const final = /scan in progress/.test(a.status.reason ?? '')
        ? await eventually(async () => {
            const x = (await post(`${client.url}/scan?timeout=30s`, imageReview([vuln]))).json as ImageReviewAnswer;
            return /CVE-/.test(x.status.reason ?? '') ? x : undefined;
          }, 120_000, 500)
        : a;
      assert.equal(final.status.allowed, false);
      assert.match(final.status.reason ?? '', /CVE-2019-18224/);
      const runs = readdirSync(argvDir).map((f) => readFileSync(join(argvDir, f), 'utf8').split('\0'));
      const clientRun = runs.find((r) => r.includes('--server'));
      assert.ok(clientRun, 'Trivy ran in client mode');
      assert.ok(!clientRun.some((x) => x.includes(token)), 'token not in argv');
    } finally {
      await client.close();
      rmTemp(client.cacheDir);
      server.kill('SIGKILL');
      rmTemp(serverCache);
    }
  });

  it('a missing Trivy binary: not ready, and requests get the onError answer', async () => {
    const s = await startTestServer({ server: { backend: 'trivy', trivy: { binary: join(bin, 'no-such-trivy') }, insecureRegistries: [reg.host] } });
    try {
      const r = await fetch(`${s.url}/readyz`);
      assert.equal(r.status, 503);
      const a = (await post(`${s.url}/scan`, imageReview([vuln]))).json as ImageReviewAnswer;
      assert.equal(a.status.allowed, false);
      assert.match(a.status.results[0]?.reason ?? '', /scanner failed/);
    } finally {
      await s.close();
      rmTemp(s.cacheDir);
    }
  });
});
