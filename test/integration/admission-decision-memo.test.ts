/**
 * Decisions over cached scan results are memoised (policy: same frozen verdicts → the same frozen
 * Decision; admission: its answer JSON made once): the memoised answers must be exactly the answers
 * computed afresh, in every mode, with patches, for any uid, and must change the moment an exception
 * expires, with another namespace, policy, image, digest or fromCache.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAdmissionReview, decideAdmission } from '../../src/admission/admission-review.ts';
import { decideImageReview, parseImageReview } from '../../src/admission/image-review.ts';
import type { ImageLookup } from '../../src/admission/types.ts';
import { parsePolicy } from '../../src/config/policy-schema.ts';
import type { Finding } from '../../src/domain/index.ts';
import type { ImageCheck, Policy } from '../../src/domain/policy.ts';
import { combine } from '../../src/policy/index.ts';
import { DIGEST_A, DIGEST_B, finding } from '../../src/policy/testing.ts';

const VULN: Finding[] = [finding('CVE-2023-1234', 'CRITICAL', 'openssl', '3.0.2', '3.0.7'), finding('CVE-2023-5678', 'HIGH', 'libxml2', '2.9.14', '2.9.14+dfsg-1.3'), finding('CVE-2023-0001', 'LOW', 'bash', '5.0', '5.1')];
const CLEAN: Finding[] = [];

/** A cache-like lookup: the same findings arrays on every call, answered synchronously through `cached`. */
function cacheLookup(table: Record<string, { digest: string; findings: Finding[] }>, fromCache = true): ImageLookup {
  const check = (image: string): ImageCheck => {
    const e = table[image];
    return e ? { state: 'scanned', image, digest: e.digest, findings: e.findings, fromCache } : { state: 'error', image, code: 'REGISTRY_NOT_FOUND', reason: 'image not found in the registry' };
  };
  return Object.assign(async (image: string) => check(image), { cached: (image: string) => check(image) });
}

/** The same lookup without `cached` and with fresh findings arrays: nothing can be memoised. */
function freshLookup(table: Record<string, { digest: string; findings: Finding[] }>, fromCache = true): ImageLookup {
  return async (image: string): Promise<ImageCheck> => {
    const e = table[image];
    return e ? { state: 'scanned', image, digest: e.digest, findings: structuredClone(e.findings), fromCache } : { state: 'error', image, code: 'REGISTRY_NOT_FOUND', reason: 'image not found in the registry' };
  };
}

const TABLE = { 'ghcr.io/acme/app:1': { digest: DIGEST_A, findings: VULN }, 'ghcr.io/acme/clean:1': { digest: DIGEST_B, findings: CLEAN } };

const pod = (uid: string, images: string[], namespace = 'prod', apiVersion = 'admission.k8s.io/v1'): unknown => ({
  apiVersion,
  kind: 'AdmissionReview',
  request: {
    uid,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace,
    name: 'web',
    operation: 'CREATE',
    object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } },
  },
});

const NOW = new Date('2025-06-15T12:00:00Z');

async function admit(body: unknown, lookup: ImageLookup, policy: Policy, mutate = false, now = NOW) {
  const out = await decideAdmission(parseAdmissionReview(body), lookup, policy, { now, deadline: Date.now() + 5000, mutate });
  assert.equal(out.json, JSON.stringify(out.response), 'json is the response serialised');
  return out;
}

describe('memoised decisions', () => {
  const policies: Record<string, Policy> = {
    enforce: parsePolicy({}),
    warn: parsePolicy({ mode: 'warn' }),
    audit: parsePolicy({ mode: 'audit' }),
    excepted: parsePolicy({ exceptions: [{ id: 'CVE-2023-1234', namespaces: ['prod'], expires: '2025-06-30', reason: 'ticket 1' }, { id: 'CVE-2023-5678', reason: 'ticket 2' }] }),
  };
  const cases: [string, string[]][] = [
    ['vulnerable', ['ghcr.io/acme/app:1']],
    ['clean', ['ghcr.io/acme/clean:1']],
    ['both', ['ghcr.io/acme/clean:1', 'ghcr.io/acme/app:1']],
    ['twice', ['ghcr.io/acme/app:1', 'ghcr.io/acme/app:1']],
    ['missing', ['ghcr.io/acme/app:1', 'ghcr.io/acme/nope:1']],
  ];

  it('AdmissionReview: synchronous, the same Decision object each time, answers equal to fresh ones for any uid', () => {
    for (const [pname, policy] of Object.entries(policies)) {
      for (const [cname, images] of cases) {
        for (const mutate of [false, true]) {
          const what = `${pname}/${cname}/${mutate ? 'mutate' : 'validate'}`;
          const lookup = cacheLookup(TABLE);
          const uids = ['0a000000-0000-4000-8000-000000000001', '0a000000-0000-4000-8000-000000000002', 'not-a-uuid "quoted" \\ \u2028 é'];
          const outs = uids.map((uid) => decideAdmission(parseAdmissionReview(pod(uid, images)), lookup, policy, { now: NOW, deadline: Date.now() + 5000, mutate }));
          for (const o of outs) assert.ok(!(o instanceof Promise), `${what}: decided without waiting`);
          const done = outs as Exclude<(typeof outs)[number], Promise<unknown>>[];
          if (cname !== 'missing') assert.equal(done[0]?.decision, done[1]?.decision, `${what}: one Decision object`);
          if (cname !== 'missing') assert.ok(Object.isFrozen(done[0]?.decision), `${what}: frozen`);
          for (const [i, o] of done.entries()) {
            assert.equal(o.json, JSON.stringify(o.response), what);
            assert.equal(o.response.response.uid, uids[i]);
          }
        }
      }
    }
  });

  it('memoised and fresh answers are identical (AdmissionReview v1 and v1beta1, ImageReview)', async () => {
    for (const [pname, policy] of Object.entries(policies)) {
      for (const [cname, images] of cases) {
        for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']) {
          for (const mutate of [false, true]) {
            const body = pod('0b000000-0000-4000-8000-000000000001', images, 'prod', apiVersion);
            const cached = cacheLookup(TABLE);
            await admit(body, cached, policy, mutate);
            const memo = await admit(body, cached, policy, mutate);
            const fresh = await admit(body, freshLookup(TABLE), policy, mutate);
            assert.equal(memo.json, fresh.json, `${pname}/${cname}/${apiVersion}/${mutate}`);
            assert.deepEqual(memo.decision, fresh.decision);
          }
        }
        const ir = parseImageReview({ apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: images.map((image) => ({ image })), namespace: 'prod' } });
        const cached = cacheLookup(TABLE);
        const a = await decideImageReview(ir, cached, policy, { now: NOW, deadline: Date.now() + 5000 });
        const b = await decideImageReview(ir, cached, policy, { now: NOW, deadline: Date.now() + 5000 });
        const fresh = await decideImageReview(ir, freshLookup(TABLE), policy, { now: NOW, deadline: Date.now() + 5000 });
        if (cname !== 'missing') assert.equal(a.decision, b.decision);
        assert.equal(b.json, JSON.stringify(b.response));
        assert.equal(b.json, fresh.json, `${pname}/${cname} ImageReview`);
      }
    }
  });

  it('another namespace, policy, fromCache or time across an exception expiry is decided afresh', async () => {
    const p = policies['excepted'] as Policy;
    const lookup = cacheLookup(TABLE);
    const body = pod('0c000000-0000-4000-8000-000000000001', ['ghcr.io/acme/app:1']);
    const before = await admit(body, lookup, p, false, new Date('2025-06-30T23:59:59.999Z'));
    assert.equal(before.decision.code, 'excepted');
    assert.equal(before.decision.allowed, true);
    const after = await admit(body, lookup, p, false, new Date('2025-07-01T00:00:00.000Z'));
    assert.equal(after.decision.code, 'vulnerable', 'the exception ends at its expiry instant');
    assert.equal(after.decision.allowed, false);
    assert.match(after.json, /CVE-2023-1234/);
    const again = await admit(body, lookup, p, false, new Date('2025-06-30T12:00:00Z'));
    assert.deepEqual(again.decision, before.decision, 'back inside the window (clock set back): excepted again');
    const staging = await admit(pod('0c000000-0000-4000-8000-000000000002', ['ghcr.io/acme/app:1'], 'staging'), lookup, p);
    assert.equal(staging.decision.code, 'vulnerable', 'the exception is for prod only');
    const enforce = await admit(body, lookup, policies['enforce'] as Policy);
    assert.notEqual(enforce.decision, before.decision);
    const notCached = await admit(body, cacheLookup(TABLE, false), p);
    assert.notEqual(notCached.decision, before.decision);
    assert.deepEqual(notCached.decision.images.map((v) => v.fromCache), [false]);
    assert.deepEqual(before.decision.images.map((v) => v.fromCache), [true]);
  });

  it('combine over verdicts that are not the memo’s (pre-scan denials, break-glass) is not memoised', () => {
    const p = parsePolicy({});
    const v = { image: 'x', allowed: false, code: 'invalid-image' as const, reason: 'invalid', findings: [] };
    const a = combine([v], p);
    const b = combine([v], p);
    assert.notEqual(a, b);
    assert.ok(!Object.isFrozen(a));
    assert.deepEqual(a, b);
  });
});
