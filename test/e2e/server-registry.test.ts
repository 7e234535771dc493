/**
 * The admission server end to end: a real registry (Debian's docker-registry on 127.0.0.1) holding a
 * vulnerable and a clean image, the builtin backend with the fixture Trivy DB (a real BoltDB file in
 * the cache dir), and the exact wire JSON a Kubernetes API server sends.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { SHARED } from '../helpers/paths.ts';
import {
  admissionReviewFixture,
  buildImage,
  cleanImageSpec,
  eventually,
  get,
  imageReview,
  podReview,
  post,
  rmTemp,
  startSlowProxy,
  startTestServer,
  tempCacheDir,
  trapUnhandledRejections,
  VULN_DENYING_ID,
  vulnerableSpec,
  type TestServer,
} from './helpers.ts';

const execFileP = promisify(execFile);
const skip = registryAvailable();
const rejections = trapUnhandledRejections();

type ImageReviewAnswer = {
  apiVersion: string;
  kind: string;
  status: { allowed: boolean; reason?: string; auditAnnotations?: Record<string, string>; results: { image: string; allowed: boolean; reason: string; digest?: string }[] };
};
type AdmissionAnswer = {
  apiVersion: string;
  kind: string;
  response: { uid: string; allowed: boolean; status?: { code: number; message: string; reason: string }; warnings?: string[]; auditAnnotations?: Record<string, string>; patchType?: string; patch?: string };
};

describe('admission server against a real registry', { skip }, () => {
  let reg: TestRegistry;
  let srv: TestServer;
  let vuln: string;
  let clean: string;
  let vulnDigest: string;
  let cleanDigest: string;

  before(async () => {
    reg = await startRegistry();
    vulnDigest = await reg.pushImage(buildImage(vulnerableSpec()), 'acme/buster:1.0');
    cleanDigest = await reg.pushImage(buildImage(cleanImageSpec()), 'acme/clean:1.0');
    vuln = `${reg.host}/acme/buster:1.0`;
    clean = `${reg.host}/acme/clean:1.0`;
    srv = await startTestServer({ server: { mutate: true, insecureRegistries: [reg.host] } });
  });

  after(async () => {
    await srv?.close();
    if (srv) rmTemp(srv.cacheDir);
    await reg?.stop();
    rejections.stop();
    assert.deepEqual(rejections.list, [], 'no unhandled rejections');
  });

  it('is ready once the advisory DB is loaded', async () => {
    const r = await get(`${srv.url}/readyz`);
    assert.equal(r.status, 200);
    assert.equal((r.json as { db: { source: string } }).db.source, 'trivy');
    assert.equal((await get(`${srv.url}/healthz`)).status, 200);
  });

  it('denies the vulnerable image with its advisory id, allows the clean one, then answers from the digest cache', async () => {
    const scansBefore = await srv.metric('portcullis_scans_total');
    const r = await post(`${srv.url}/scan?timeout=30s`, imageReview([vuln, clean]));
    assert.equal(r.status, 200);
    const a = r.json as ImageReviewAnswer;
    assert.equal(a.apiVersion, 'imagepolicy.k8s.io/v1alpha1');
    assert.equal(a.kind, 'ImageReview');
    assert.equal(a.status.allowed, false);
    assert.match(a.status.reason ?? '', new RegExp(VULN_DENYING_ID));
    assert.equal(a.status.results.length, 2);
    const [rv, rc] = a.status.results;
    assert.equal(rv?.image, vuln);
    assert.equal(rv?.allowed, false);
    assert.equal(rv?.digest, vulnDigest);
    assert.match(rv?.reason ?? '', /CVE-2019-18224/);
    assert.equal(rc?.image, clean);
    assert.equal(rc?.allowed, true);
    assert.equal(rc?.digest, cleanDigest);
    assert.equal(await srv.metric('portcullis_scans_total'), scansBefore + 2);

    const hitsBefore = await srv.metric('portcullis_cache_lookups_total', { cache: 'result', result: 'hit' });
    const again = await post(`${srv.url}/image-policy`, imageReview([clean]));
    assert.equal((again.json as ImageReviewAnswer).status.allowed, true);
    const denyAgain = await post(`${srv.url}/image-policy`, imageReview([vuln]));
    assert.equal((denyAgain.json as ImageReviewAnswer).status.allowed, false);
    assert.equal(await srv.metric('portcullis_cache_lookups_total', { cache: 'result', result: 'hit' }), hitsBefore + 2);
    assert.equal(await srv.metric('portcullis_scans_total'), scansBefore + 2, 'no second scan');
    assert.ok((await srv.metric('portcullis_decisions_total', { route: 'image-policy', result: 'deny', code: 'vulnerable' })) >= 2);
  });

  it('answers a Deployment AdmissionReview (real request fixture) echoing the uid, 403 and the advisory id', async () => {
    const review = admissionReviewFixture('deployment_creation.json', [vuln]);
    const r = await post(`${srv.url}/validate?timeout=10s`, review);
    assert.equal(r.status, 200);
    const a = r.json as AdmissionAnswer;
    assert.equal(a.apiVersion, 'admission.k8s.io/v1');
    assert.equal(a.kind, 'AdmissionReview');
    assert.equal(a.response.uid, '1299d386-525b-4032-98ae-1949f69f9cfc');
    assert.equal(a.response.allowed, false);
    assert.equal(a.response.status?.code, 403);
    assert.match(a.response.status?.message ?? '', /CVE-2019-18224/);
    assert.match(a.response.status?.message ?? '', /acme\/buster/);

    const ok = await post(`${srv.url}/validate?timeout=10s`, admissionReviewFixture('statefulset_creation.json', [clean]));
    const b = ok.json as AdmissionAnswer;
    assert.equal(b.response.allowed, true);
    assert.equal(b.response.status, undefined);
  });

  it('POST /mutate pins the tag to the scanned digest with a JSONPatch', async () => {
    const r = await post(`${srv.url}/mutate?timeout=10s`, podReview('6f1c8e52-0000-4000-8000-000000000001', [clean]));
    const a = r.json as AdmissionAnswer;
    assert.equal(a.response.uid, '6f1c8e52-0000-4000-8000-000000000001');
    assert.equal(a.response.allowed, true);
    assert.equal(a.response.patchType, 'JSONPatch');
    const patch = JSON.parse(Buffer.from(a.response.patch ?? '', 'base64').toString('utf8')) as unknown;
    assert.deepEqual(patch, [{ op: 'replace', path: '/spec/containers/0/image', value: `${clean}@${cleanDigest}` }]);
    // /validate never patches.
    const v = (await post(`${srv.url}/validate`, podReview('6f1c8e52-0000-4000-8000-000000000002', [clean]))).json as AdmissionAnswer;
    assert.equal(v.response.patch, undefined);
  });

  it('answers from the decision memo exactly as the slow path does (validate, mutate, ImageReview; pre-router and fastify)', async () => {
    // The same reviews to a server without the memo (every answer decided afresh) and to `srv` (memo
    // on): over Content-Length (pre-router) and chunked (fastify), the answers are byte-identical.
    const plain = await startTestServer({ server: { mutate: true, insecureRegistries: [reg.host], cache: { decisionTtl: 0 } } });
    const chunked = (url: string, body: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        });
        req.on('error', reject);
        req.write(body.slice(0, 7));
        req.end(body.slice(7));
      });
    try {
      const hits = (): Promise<number> => srv.metric('portcullis_cache_lookups_total', { cache: 'decision', result: 'hit' });
      const hitsBefore = await hits();
      const uid = (i: number): string => `3a7c0e6d-52b1-4c1e-9f00-${String(i).padStart(12, '0')}`;
      const cases: [string, (i: number) => string][] = [
        ['/validate?timeout=10s', (i) => JSON.stringify(podReview(uid(i), [clean, vuln]))],
        ['/mutate?timeout=10s', (i) => JSON.stringify(podReview(uid(i), [vuln, clean]))],
        ['/validate', (i) => JSON.stringify(admissionReviewFixture('deployment_creation.json', [vuln])).replace('1299d386-525b-4032-98ae-1949f69f9cfc', uid(i)).replace('"name":"nginx"', '"name":"nginx-memo"')],
        ['/scan?timeout=30s', () => JSON.stringify(imageReview([vuln, clean], { namespace: 'memo-equivalence' }))],
      ];
      let n = 0;
      for (const [path, body] of cases) {
        for (let i = 0; i < 3; i++) {
          const b = body(++n);
          const expected = (await post(`${plain.url}${path}`, b)).text;
          const viaHot = (await post(`${srv.url}${path}`, b)).text;
          const viaFastify = await chunked(`${srv.url}${path}`, b);
          assert.equal(viaHot, expected, `${path} #${i} pre-router`);
          assert.equal(viaFastify, expected, `${path} #${i} fastify`);
          if (path !== '/scan?timeout=30s') assert.equal((JSON.parse(viaHot) as AdmissionAnswer).response.uid, uid(n));
        }
      }
      // Per case, 6 requests (3 bodies × 2 paths): an ImageReview is memoized by its first decision (5
      // hits), an AdmissionReview by its second, once it repeated (4 hits).
      assert.equal((await hits()) - hitsBefore, (cases.length - 1) * 4 + 5);
      assert.equal(await plain.metric('portcullis_cache_lookups_total', { cache: 'decision', result: 'hit' }), 0);
    } finally {
      await plain.close();
      rmTemp(plain.cacheDir);
    }
  });

  it("the original example's curl request works unchanged against POST /scan", async () => {
    // Exactly the seed's command line (only the URL's host:port differs): Docker Hub is unreachable
    // here, so both images fail to resolve and the answer is a well-formed, fail-closed ImageReview.
    const seed = readFileSync(join(SHARED, 'seeds', 'imagepolicywebhook-trivy-example.txt'), 'utf8');
    const m = /curl -s -X POST http:\/\/127\.0\.0\.1:5000\/scan -H "Content-Type: application\/json" -d '([\s\S]*?)' \| jq \./.exec(seed);
    assert.ok(m?.[1], 'curl command found in the seed');
    const { stdout } = await execFileP('curl', ['-s', '-X', 'POST', `${srv.url}/scan`, '-H', 'Content-Type: application/json', '-d', m[1]]);
    const a = JSON.parse(stdout) as ImageReviewAnswer;
    assert.equal(a.apiVersion, 'imagepolicy.k8s.io/v1alpha1');
    assert.equal(a.kind, 'ImageReview');
    assert.equal(a.status.allowed, false);
    assert.deepEqual(a.status.results.map((x) => [x.image, x.allowed]), [['alpine:3.22', false], ['nginx:latest', false]]);
    for (const x of a.status.results) assert.match(x.reason, /scan failed: the registry could not be reached/);
  });

  it('answers the Kubernetes 1.25 ImageReview from the issue byte for byte (break-glass annotation forwarded, not enabled)', async () => {
    const wire =
      '{"kind":"ImageReview","apiVersion":"imagepolicy.k8s.io/v1alpha1","metadata":{"creationTimestamp":null},' +
      `"spec":{"containers":[{"image":"${clean}"},{"image":"b"}],` +
      '"annotations":{"mycluster.image-policy.k8s.io/ticket-1234":"break-glass"},"namespace":"default"},"status":{"allowed":false}}';
    const r = await post(`${srv.url}/scan?timeout=30s`, wire);
    const a = r.json as ImageReviewAnswer;
    assert.equal(a.status.results[0]?.allowed, true);
    assert.equal(a.status.results[1]?.image, 'b');
    assert.equal(a.status.results[1]?.allowed, false, 'docker.io/library/b cannot be resolved here: fail closed');
    assert.equal(a.status.allowed, false);
  });

  it('100 concurrent first requests for one new image cause exactly one scan', async () => {
    const d = await reg.pushImage(buildImage({ layers: [{ entries: [...(vulnerableSpec().layers[0] as { entries: never[] }).entries, { path: 'etc/motd', content: 'fresh\n' }] }] }), 'acme/fresh:1');
    const image = `${reg.host}/acme/fresh:1`;
    const before = await srv.metric('portcullis_scans_total');
    const answers = await Promise.all(Array.from({ length: 100 }, () => post(`${srv.url}/scan?timeout=30s`, imageReview([image]))));
    for (const r of answers) {
      const a = r.json as ImageReviewAnswer;
      assert.equal(r.status, 200);
      assert.equal(a.status.allowed, false);
      assert.equal(a.status.results[0]?.digest, d);
      assert.match(a.status.reason ?? '', /CVE-2019-18224/);
    }
    assert.equal((await srv.metric('portcullis_scans_total')) - before, 1, 'exactly one scan');
    assert.ok((await srv.metric('portcullis_cache_lookups_total', { cache: 'result', result: 'shared' })) >= 1);
  });

  it('refuses private-address registries unless allowed (SSRF guard), with a curated reason', async () => {
    const guarded = await startTestServer({ server: { allowPrivateRegistries: false, insecureRegistries: [reg.host] } });
    try {
      const a = (await post(`${guarded.url}/scan`, imageReview([vuln]))).json as ImageReviewAnswer;
      assert.equal(a.status.allowed, false);
      assert.match(a.status.results[0]?.reason ?? '', /registry address not allowed/);
      assert.doesNotMatch(a.status.reason ?? '', /127\.0\.0\.1 \(/, 'no resolved address leaked');
      assert.equal(await guarded.metric('portcullis_errors_total', { kind: 'registry_blocked' }), 1);
      assert.equal(await guarded.metric('portcullis_scans_total'), 0);
    } finally {
      await guarded.close();
      rmTemp(guarded.cacheDir);
    }
  });

  it('--prescan warms the cache, and results survive a restart (SQLite store)', async () => {
    const cacheDir = tempCacheDir({ trivyDb: true });
    const list = join(cacheDir, 'prescan.txt');
    writeFileSync(list, `# images to warm\n${vuln}\n\n${clean}   # the clean one\n`);
    const first = await startTestServer({ cacheDir, server: { prescan: list, insecureRegistries: [reg.host] } });
    try {
      await first.prescanned;
      assert.equal(await first.metric('portcullis_scans_total', { outcome: 'ok' }), 2);
      const a = (await post(`${first.url}/scan`, imageReview([vuln, clean]))).json as ImageReviewAnswer;
      assert.deepEqual(a.status.results.map((x) => x.allowed), [false, true]);
      assert.equal(await first.metric('portcullis_scans_total'), 2, 'answered from the warmed cache');
    } finally {
      await first.close();
    }
    const second = await startTestServer({ cacheDir, server: { insecureRegistries: [reg.host] } });
    try {
      const a = (await post(`${second.url}/scan`, imageReview([vuln, clean]))).json as ImageReviewAnswer;
      assert.deepEqual(a.status.results.map((x) => x.allowed), [false, true]);
      assert.match(a.status.reason ?? '', /CVE-2019-18224/);
      assert.equal(await second.metric('portcullis_scans_total'), 0, 'no rescan after restart');
      assert.equal(await second.metric('portcullis_cache_lookups_total', { cache: 'result', result: 'hit' }), 2);
    } finally {
      await second.close();
      rmTemp(cacheDir);
    }
  });

  it('serves Prometheus metrics with bounded labels', async () => {
    const r = await get(`${srv.url}/metrics`);
    assert.equal(r.status, 200);
    for (const name of [
      'portcullis_decisions_total',
      'portcullis_scan_duration_seconds_bucket',
      'portcullis_cache_lookups_total',
      'portcullis_scan_queue_depth',
      'portcullis_scans_in_flight',
      'portcullis_db_age_seconds',
      'portcullis_break_glass_total',
      'portcullis_errors_total',
      'portcullis_unknown_kinds_total',
    ]) {
      assert.match(r.text, new RegExp(`^# (HELP|TYPE) ${name.replace(/_bucket$/, '')}`, 'm'), name);
    }
    assert.doesNotMatch(r.text, /acme|sha256:|CVE-/, 'no image names, digests or advisory ids in labels');
    const age = Number(/^portcullis_db_age_seconds (\S+)$/m.exec(r.text)?.[1]);
    assert.ok(age > 0, 'DB age from the DB build time');
  });

  it('a registry slower than the deadline gets the pending answer; the work goes on and the retry is answered from the cache', async () => {
    const proxy = await startSlowProxy(reg.host, 1500);
    const slow = await startTestServer({ server: { insecureRegistries: [proxy.host] } });
    try {
      const image = `${proxy.host}/acme/buster:1.0`;
      // timeout=2s → budget min(2 s − 1.5 s, 1.6 s) = 500 ms; every new connection waits 1.5 s.
      const t0 = Date.now();
      const first = (await post(`${slow.url}/scan?timeout=2s`, imageReview([image]))).json as ImageReviewAnswer;
      const took = Date.now() - t0;
      assert.ok(took < 2000, `answered before the API server's timeout (${took} ms)`);
      assert.equal(first.status.allowed, false);
      assert.match(first.status.results[0]?.reason ?? '', /scan in progress, retry/);
      assert.equal(await slow.metric('portcullis_pending_total', { reason: 'resolve' }), 1);
      const answered = await eventually(async () => {
        const a = (await post(`${slow.url}/scan?timeout=2s`, imageReview([image]))).json as ImageReviewAnswer;
        return /CVE-2019-18224/.test(a.status.reason ?? '') ? a : undefined;
      }, 30_000, 250);
      assert.equal(answered.status.results[0]?.digest, vulnDigest);
      assert.equal(await slow.metric('portcullis_scans_total', { outcome: 'ok' }), 1, 'one scan, finished in the background');
    } finally {
      await slow.close();
      rmTemp(slow.cacheDir);
      await proxy.stop();
    }
  });
});
