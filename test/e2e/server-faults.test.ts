/**
 * Faults with the builtin backend: registry down, registry answering 5xx, advisory DB missing (then
 * installed while running), DB replaced by `db update` (reloaded, old results not reused). Each gives
 * the configured decision and a metric, and never an unhandled rejection.
 */
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { registryAvailable, startFaultProxy, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import {
  buildImage,
  closedPort,
  eventually,
  get,
  imageReview,
  installTrivyDb,
  podReview,
  post,
  rmTemp,
  startTestServer,
  tempCacheDir,
  trapUnhandledRejections,
  vulnerableSpec,
} from './helpers.ts';

const skip = registryAvailable();
const rejections = trapUnhandledRejections();

type ImageReviewAnswer = { status: { allowed: boolean; reason?: string; auditAnnotations?: Record<string, string>; results: { image: string; allowed: boolean; reason: string }[] } };
type AdmissionAnswer = { response: { uid: string; allowed: boolean; warnings?: string[]; status?: { code: number; message: string }; auditAnnotations?: Record<string, string> } };

describe('admission server faults', { skip }, () => {
  let reg: TestRegistry;
  let vuln: string;

  before(async () => {
    reg = await startRegistry();
    await reg.pushImage(buildImage(vulnerableSpec()), 'acme/buster:1.0');
    vuln = `${reg.host}/acme/buster:1.0`;
  });

  after(async () => {
    await reg?.stop();
    rejections.stop();
    assert.deepEqual(rejections.list, [], 'no unhandled rejections');
  });

  it('registry down: fail closed by default, fail open with onError: allow (with a warning), counted', async () => {
    const port = await closedPort();
    const image = `127.0.0.1:${port}/acme/app:1`;
    const strict = await startTestServer({ server: { insecureRegistries: [`127.0.0.1:${port}`] } });
    const lenient = await startTestServer({ policy: { onError: 'allow' }, server: { insecureRegistries: [`127.0.0.1:${port}`] } });
    try {
      const a = (await post(`${strict.url}/validate?timeout=10s`, podReview('uid-down', [image]))).json as AdmissionAnswer;
      assert.equal(a.response.uid, 'uid-down');
      assert.equal(a.response.allowed, false);
      assert.equal(a.response.status?.code, 403);
      assert.match(a.response.status?.message ?? '', /registry could not be reached/);
      assert.doesNotMatch(a.response.status?.message ?? '', /ECONNREFUSED/, 'no exception text');
      assert.equal(await strict.metric('portcullis_errors_total', { kind: 'registry' }), 1);
      assert.equal(await strict.metric('portcullis_decisions_total', { route: 'validate', result: 'deny', code: 'scan-error' }), 1);

      const b = (await post(`${lenient.url}/validate?timeout=10s`, podReview('uid-down-2', [image]))).json as AdmissionAnswer;
      assert.equal(b.response.allowed, true);
      assert.match((b.response.warnings ?? []).join(' '), /scan failed/);
      assert.equal(await lenient.metric('portcullis_decisions_total', { route: 'validate', result: 'allow', code: 'scan-error' }), 1);
    } finally {
      await strict.close();
      await lenient.close();
      rmTemp(strict.cacheDir);
      rmTemp(lenient.cacheDir);
    }
  });

  it('registry answering 503 on every request: retries end in a curated deny', async () => {
    const proxy = await startFaultProxy(reg.url, () => ({ status: 503, body: 'down for maintenance' }));
    const s = await startTestServer({ server: { insecureRegistries: [proxy.host] } });
    try {
      const a = (await post(`${s.url}/scan?timeout=30s`, imageReview([`${proxy.host}/acme/buster:1.0`]))).json as ImageReviewAnswer;
      assert.equal(a.status.allowed, false);
      assert.match(a.status.results[0]?.reason ?? '', /registry could not be reached/);
      assert.ok(proxy.requests.length >= 2, 'retried');
      assert.equal(await s.metric('portcullis_errors_total', { kind: 'registry' }), 1);
    } finally {
      await s.close();
      rmTemp(s.cacheDir);
      await proxy.stop();
    }
  });

  it('DB missing: not ready, deny with a curated reason; installing the DB makes it ready without a restart', async () => {
    const cacheDir = tempCacheDir();
    const s = await startTestServer({ cacheDir, server: { insecureRegistries: [reg.host] }, extra: { dbWatchIntervalMs: 100 } });
    try {
      const r = await get(`${s.url}/readyz`);
      assert.equal(r.status, 503);
      assert.match(String((r.json as { reason?: string }).reason), /no advisory database/);
      const a = (await post(`${s.url}/scan`, imageReview([vuln]))).json as ImageReviewAnswer;
      assert.equal(a.status.allowed, false);
      assert.match(a.status.results[0]?.reason ?? '', /advisory database is not loaded/);
      assert.equal(await s.metric('portcullis_errors_total', { kind: 'db_missing' }), 1);
      assert.match(await (await fetch(`${s.url}/metrics`)).text(), /^portcullis_db_loaded 0$/m);

      installTrivyDb(cacheDir);
      await eventually(async () => (await get(`${s.url}/readyz`)).status === 200, 10_000);
      const b = (await post(`${s.url}/scan`, imageReview([vuln]))).json as ImageReviewAnswer;
      assert.equal(b.status.allowed, false);
      assert.match(b.status.reason ?? '', /CVE-2019-18224/, 'DB_MISSING was not cached: scanned now');
    } finally {
      await s.close();
      rmTemp(cacheDir);
    }
  });

  it('a DB update is picked up while running and results from the old DB are not reused', async () => {
    const cacheDir = tempCacheDir({ trivyDb: true });
    const s = await startTestServer({ cacheDir, server: { insecureRegistries: [reg.host] }, extra: { dbWatchIntervalMs: 100 } });
    try {
      await post(`${s.url}/scan`, imageReview([vuln]));
      await post(`${s.url}/scan`, imageReview([vuln]));
      assert.equal(await s.metric('portcullis_scans_total'), 1);
      // What `db update` does: write the new files beside the old ones, then rename over them.
      const meta = join(cacheDir, 'trivy-db', 'metadata.json');
      writeFileSync(`${meta}.new`, JSON.stringify({ Version: 2, NextUpdate: '2099-01-01T00:00:00Z', UpdatedAt: '2024-02-02T00:00:00Z', DownloadedAt: '2024-02-02T00:00:00Z' }));
      renameSync(`${meta}.new`, meta);
      await eventually(async () => ((await get(`${s.url}/readyz`)).json as { db?: { updatedAt?: string } }).db?.updatedAt === '2024-02-02T00:00:00Z', 10_000);
      const a = (await post(`${s.url}/scan`, imageReview([vuln]))).json as ImageReviewAnswer;
      assert.match(a.status.reason ?? '', /CVE-2019-18224/);
      assert.equal(await s.metric('portcullis_scans_total'), 2, 'rescanned with the new DB');
    } finally {
      await s.close();
      rmTemp(cacheDir);
    }
  });

  it('plain HTTP only for registries listed in insecureRegistries (non-loopback address)', async (t) => {
    const ip = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (!ip) {
      t.skip('no non-loopback IPv4 address on this machine');
      return;
    }
    const proxy = await startFaultProxy(reg.url, () => undefined, { listen: '0.0.0.0' });
    const host = `${ip}:${proxy.host.split(':')[1]}`;
    const image = `${host}/acme/buster:1.0`;
    const unlisted = await startTestServer({ server: { insecureRegistries: [] } });
    const listed = await startTestServer({ server: { insecureRegistries: [host] } });
    try {
      const a = (await post(`${unlisted.url}/scan`, imageReview([image]))).json as ImageReviewAnswer;
      assert.equal(a.status.allowed, false);
      assert.match(a.status.results[0]?.reason ?? '', /scan failed/);
      assert.equal(await unlisted.metric('portcullis_scans_total'), 0);
      const b = (await post(`${listed.url}/scan`, imageReview([image]))).json as ImageReviewAnswer;
      assert.match(b.status.reason ?? '', /CVE-2019-18224/);
    } finally {
      await unlisted.close();
      await listed.close();
      rmTemp(unlisted.cacheDir);
      rmTemp(listed.cacheDir);
      await proxy.stop();
    }
  });

  it('an unknown kind without a pod spec is denied by default and counted', async () => {
    // (ConfigMap, Service … run no containers and are allowed unchecked: docs/policy.md.)
    const s = await startTestServer();
    try {
      const review = podReview('uid-cm', []);
      const req = review['request'] as Record<string, unknown>;
      req['kind'] = { group: 'example.com', version: 'v1', kind: 'Widget' };
      req['resource'] = { group: 'example.com', version: 'v1', resource: 'widgets' };
      req['object'] = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'x' }, data: { a: 'b' } };
      const a = (await post(`${s.url}/validate`, review)).json as AdmissionAnswer;
      assert.equal(a.response.uid, 'uid-cm');
      assert.equal(a.response.allowed, false);
      assert.equal(await s.metric('portcullis_unknown_kinds_total', { kind: 'Widget' }), 1);
    } finally {
      await s.close();
      rmTemp(s.cacheDir);
    }
  });
});
