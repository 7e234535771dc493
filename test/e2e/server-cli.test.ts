/**
 * `portcullis server` as a process: settings from portcullis.yaml (server: and policy:), flags
 * overriding them, one JSON decision line on stderr, SIGTERM finishing the in-flight request and
 * exiting 0, and a bad config refused with one clear line.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.ts';
import { freePort, registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { buildImage, eventually, imageReview, post, rmTemp, tempCacheDir, vulnerableSpec } from './helpers.ts';

const MAIN = join(REPO_ROOT, 'src', 'main.ts');

function spawnCli(args: string[], env: Record<string, string>): { proc: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  proc.stdout?.resume();
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, stderr: () => err, exited };
}

describe('portcullis server (CLI)', { skip: registryAvailable() }, () => {
  let reg: TestRegistry;
  let vuln: string;
  before(async () => {
    reg = await startRegistry();
    await reg.pushImage(buildImage(vulnerableSpec()), 'acme/buster:1.0');
    vuln = `${reg.host}/acme/buster:1.0`;
  });
  after(async () => reg?.stop());

  it('reads portcullis.yaml, lets flags override it, logs decisions, and stops cleanly on SIGTERM', async () => {
    const cacheDir = tempCacheDir({ trivyDb: true });
    const port = await freePort();
    const config = join(cacheDir, 'portcullis.yaml');
    // The file says port 1 and severities LOW+: the flag must win for the port; the policy applies.
    writeFileSync(config, ['server:', '  host: 127.0.0.1', '  port: 1', '  cache: { persist: false }', 'policy:', '  severities: [LOW]', '  mode: warn', ''].join('\n'));
    const cli = spawnCli(['server', '--config', config, '--port', String(port), '--allow-private-registries', '--insecure-registry', reg.host], { PORTCULLIS_CACHE_DIR: cacheDir });
    try {
      const url = `http://127.0.0.1:${port}`;
      await eventually(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, 30_000, 100);
      const r = await post(`${url}/validate?timeout=10s`, {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'cli-1',
          kind: { group: '', version: 'v1', kind: 'Pod' },
          resource: { group: '', version: 'v1', resource: 'pods' },
          namespace: 'default',
          operation: 'CREATE',
          object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: vuln }] } },
        },
      });
      const a = r.json as { response: { uid: string; allowed: boolean; warnings?: string[] } };
      assert.equal(a.response.uid, 'cli-1');
      // warn mode from the file: admitted, with warnings naming the LOW finding (CVE-2019-18276) too.
      assert.equal(a.response.allowed, true);
      assert.match((a.response.warnings ?? []).join(' '), /CVE-2019-18276|CVE-2019-18224/);
      await eventually(() => /"msg":"decision"/.test(cli.stderr()), 5000);
      const line = cli.stderr().split('\n').find((l) => l.includes('"msg":"decision"')) ?? '';
      const d = JSON.parse(line) as Record<string, unknown>;
      assert.equal(d['uid'], 'cli-1');
      assert.equal(d['decision'], 'warn');

      const inflight = post(`${url}/scan?timeout=30s`, imageReview([vuln]));
      cli.proc.kill('SIGTERM');
      const answered = await inflight.catch(() => undefined);
      if (answered) assert.equal(answered.status, 200);
      assert.equal(await cli.exited, 0);
      assert.match(cli.stderr(), /"msg":"stopped"/);
    } finally {
      cli.proc.kill('SIGKILL');
      rmTemp(cacheDir);
    }
  });

  it('refuses an invalid server section with one line naming the key', async () => {
    const cacheDir = tempCacheDir();
    const config = join(cacheDir, 'portcullis.yaml');
    writeFileSync(config, 'server:\n  workers: 0\n  bogus: 1\n');
    const cli = spawnCli(['server', '--config', config], { PORTCULLIS_CACHE_DIR: cacheDir });
    try {
      assert.equal(await cli.exited, 1);
      assert.match(cli.stderr(), /^error: config file .*portcullis\.yaml: server\.(workers|bogus)/m);
      assert.doesNotMatch(cli.stderr(), /at .*\.ts:\d+/);
    } finally {
      rmTemp(cacheDir);
    }
  });
});
