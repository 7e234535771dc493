import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { TESTDATA } from '../../test/helpers/paths.ts';
import { defaultPolicy, parsePolicy } from '../config/policy-schema.ts';
import type { Policy } from '../domain/policy.ts';
import { DIGEST_A, DIGEST_B, finding, tableLookup } from '../policy/testing.ts';
import { parseAdmissionReview, reviewAdmission, type AdmissionReviewResponse } from './admission-review.ts';
import { ProtocolError, type ImageLookup } from './types.ts';
import { WORKLOAD_KINDS, extractImages, workloadKind } from './workloads.ts';

const K8S = join(TESTDATA, 'k8s');
const KW = join(K8S, 'admission', 'kubewarden-trusted-repos-policy');
const RT = join(K8S, 'api-roundtrip', 'HEAD');
const NOW = new Date('2025-06-15T12:00:00Z');
const json = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));
const wrap = (request: unknown, apiVersion = 'admission.k8s.io/v1') => ({ apiVersion, kind: 'AdmissionReview', request });

async function decide(body: unknown, lookup: ImageLookup = tableLookup({}), policy: Policy = defaultPolicy, mutate = false) {
  const out = await reviewAdmission(parseAdmissionReview(body), lookup, policy, { now: NOW, deadline: Date.now() + 2000, mutate });
  assert.equal(out.json, JSON.stringify(out.response), 'the answer JSON is the response object serialised');
  return out;
}

/** An independent RFC 6902 `replace` applier (RFC 6901 pointers with ~0 / ~1), to check patches. */
function applyPatch(doc: unknown, patch: { op: string; path: string; value: unknown }[]): unknown {
  const out = structuredClone(doc);
  for (const p of patch) {
    assert.equal(p.op, 'replace');
    const parts = p.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let cur = out as Record<string, unknown>;
    for (const k of parts.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
    const last = parts.at(-1)!;
    assert.ok(last in cur, `replace target ${p.path} exists`);
    cur[last] = p.value;
  }
  return out;
}

function patchOf(r: AdmissionReviewResponse): { op: string; path: string; value: string }[] {
  assert.equal(r.response.patchType, 'JSONPatch');
  return JSON.parse(Buffer.from(r.response.patch ?? '', 'base64').toString('utf8'));
}

function pod(containers: object[], extra: Record<string, unknown> = {}, metadata: Record<string, unknown> = { name: 'web' }) {
  return {
    uid: 'f0b8b3c2-0000-4000-8000-000000000001',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'prod',
    operation: 'CREATE',
    object: { apiVersion: 'v1', kind: 'Pod', metadata, spec: { containers } },
    ...extra,
  };
}

describe('AdmissionReview: every kubewarden request, images as expected.json lists them', () => {
  const expected = (json(join(KW, 'expected.json')) as {
    images_per_request: Record<string, { request_kind: string; operation: string; images: { container_type: string; name: string; image: string }[] | null }>;
  }).images_per_request;
  const files = readdirSync(join(KW, 'test_data')).filter((f) => f.endsWith('.json'));
  it('covers every file in test_data', () => {
    assert.deepEqual(files.map((f) => `test_data/${f}`).sort(), Object.keys(expected).sort());
  });
  for (const f of files) {
    const want = expected[`test_data/${f}`]!;
    it(`${f}: ${want.request_kind} → ${want.images ? want.images.map((i) => i.image).join(', ') : 'no pod spec'}`, async () => {
      const review = parseAdmissionReview(wrap(json(join(KW, 'test_data', f))));
      assert.equal(review.request.kind.kind, want.request_kind);
      assert.equal(review.request.operation, want.operation);
      const w = workloadKind(review.request.kind.group, review.request.kind.kind);
      if (want.images === null) {
        assert.equal(w, undefined);
        const { decision, response } = await decide(wrap(json(join(KW, 'test_data', f))));
        assert.equal(decision.code, 'skipped', 'an Ingress runs no containers: nothing to check');
        assert.equal(response.response.allowed, true);
        assert.match(response.response.status?.message ?? decision.reason, /runs no containers/);
        return;
      }
      assert.ok(w);
      const got = extractImages(w, review.request.object);
      assert.ok(got.ok);
      assert.deepEqual(
        got.images.map((i) => ({ container_type: i.containerType, name: i.name, image: i.image })),
        want.images,
      );
      const lookup = tableLookup({});
      const { response } = await decide(wrap(json(join(KW, 'test_data', f))), lookup);
      assert.deepEqual(lookup.calls, want.images.map((i) => i.image));
      assert.equal(response.response.uid, review.request.uid);
      assert.equal(response.response.allowed, true);
    });
  }
  it('registry allow list: the CronJob from ghcr.io is accepted (kubewarden e2e "accept image from allowed registry")', async () => {
    const { response } = await decide(wrap(json(join(KW, 'test_data', 'cronjob_creation.json'))), tableLookup({}), parsePolicy({ registries: { allow: ['ghcr.io'] } }));
    assert.equal(response.response.allowed, true);
    const { response: denied } = await decide(wrap(json(join(KW, 'test_data', 'cronjob_creation.json'))), tableLookup({}), parsePolicy({ registries: { allow: ['quay.io'] } }));
    assert.equal(denied.response.allowed, false);
    assert.match(denied.response.status?.message ?? '', /ghcr\.io\/kubewarden\/test-verify-image-signatures is not in the allowed registries/);
  });
  it('registry deny list: the DaemonSet image is rejected and named (kubewarden e2e "reject not allowed image")', async () => {
    const lookup = tableLookup({});
    const { response } = await decide(wrap(json(join(KW, 'test_data', 'daemonset_creation.json'))), lookup, parsePolicy({ registries: { deny: ['ghcr.io/kubewarden'] } }));
    assert.equal(response.response.allowed, false);
    assert.deepEqual(lookup.calls, [], 'a denied registry is never contacted');
    assert.match(response.response.status?.message ?? '', /ghcr\.io\/kubewarden\/test-verify-image-signatures:signed: registry ghcr\.io\/kubewarden is denied/);
  });
});

describe('AdmissionReview: kubernetes/api round-trip fixtures', () => {
  const exp = (json(join(RT, 'expected-images.json')) as { files: Record<string, { kind: string; images: { container_type: string; name: string | null; image: string }[] }> }).files;
  const objects = Object.keys(exp).filter((f) => !f.startsWith('imagepolicy'));
  for (const f of objects) {
    for (const ext of ['json', 'yaml']) {
      it(`${f.replace(/\.json$/, `.${ext}`)}: extraction equals expected-images.json`, async () => {
        const text = readFileSync(join(RT, f.replace(/\.json$/, `.${ext}`)), 'utf8');
        const obj = (ext === 'json' ? JSON.parse(text) : parseYaml(text)) as { apiVersion: string; kind: string };
        const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
        const request = {
          uid: 'rt-1',
          kind: { group, version, kind: obj.kind },
          resource: { group, version, resource: `${obj.kind.toLowerCase()}s` },
          namespace: 'ns',
          operation: 'CREATE',
          object: obj,
        };
        const w = workloadKind(group!, obj.kind)!;
        const got = extractImages(w, obj);
        assert.ok(got.ok);
        assert.deepEqual(
          got.images.map((i) => ({ container_type: i.containerType, name: i.name ?? null, image: i.image })),
          exp[f]!.images,
        );
        // "imageValue" is not a valid reference (upper case): denied, never looked up.
        const lookup = tableLookup({});
        const placeholder = await decide(wrap(request), lookup, defaultPolicy, true);
        assert.equal(placeholder.response.response.allowed, false);
        assert.equal(placeholder.decision.code, 'invalid-image');
        assert.deepEqual(lookup.calls, []);
        assert.match(placeholder.response.response.status?.message ?? '', /^1 of 1 image denied: invalid image reference "imageValue": repository name must be lower-case$/);
        // With a real image in every container: one lookup, three patches.
        const real = JSON.parse(JSON.stringify(obj).replaceAll('"image":"imageValue"', '"image":"registry.example/app:1"')) as typeof obj;
        const { decision, response } = await decide(wrap({ ...request, object: real }), lookup, defaultPolicy, true);
        assert.deepEqual(lookup.calls, ['registry.example/app:1'], 'one lookup for three containers with one image');
        assert.equal(decision.images.length, 3);
        const patched = applyPatch(real, patchOf(response)) as typeof obj;
        const again = extractImages(w, patched);
        assert.ok(again.ok);
        assert.deepEqual(again.images.map((i) => i.image), Array(3).fill(`registry.example/app:1@${DIGEST_B}`));
      });
    }
  }
  for (const v of ['v1', 'v1beta1']) {
    it(`admission.k8s.io.${v}.AdmissionReview (every field populated) parses; the unknown operation is denied echoing the uid`, async () => {
      for (const ext of ['json', 'yaml']) {
        const text = readFileSync(join(RT, `admission.k8s.io.${v}.AdmissionReview.${ext}`), 'utf8');
        const body = ext === 'json' ? JSON.parse(text) : parseYaml(text);
        const review = parseAdmissionReview(body);
        assert.equal(review.apiVersion, `admission.k8s.io/${v}`);
        assert.equal(review.request.uid, 'uidValue');
        assert.equal(review.request.subResource, 'subResourceValue');
        assert.equal(review.request.dryRun, true);
        assert.equal(review.request.username, 'usernameValue');
        const { response, decision } = await decide(body);
        assert.equal(response.apiVersion, `admission.k8s.io/${v}`, 'answered in the version asked');
        assert.equal(response.response.uid, 'uidValue');
        assert.equal(response.response.allowed, false);
        assert.equal(decision.code, 'invalid-object');
        assert.match(response.response.status?.message ?? '', /operation operationValue is not one of CREATE, UPDATE, DELETE, CONNECT/);
      }
    });
  }
});

describe('AdmissionReview: decisions', () => {
  const bad = tableLookup({
    'nginx:latest': { state: 'scanned', digest: DIGEST_A, fromCache: true, findings: [finding('CVE-2023-1234', 'CRITICAL', 'openssl', '3.0.2', '3.0.7'), finding('CVE-2023-0001', 'HIGH', 'zlib', '1.2.11', '1.2.12')] },
  });

  it('a mixed pod (init, regular, ephemeral) is denied naming the one bad image; 403 Forbidden; uid echoed', async () => {
    const req = pod([{ name: 'app', image: 'alpine:3.22' }, { name: 'proxy', image: 'nginx:latest' }]);
    (req.object.spec as Record<string, unknown>)['initContainers'] = [{ name: 'init', image: 'busybox:1.36' }];
    const { response, decision } = await decide(wrap(req), bad);
    assert.equal(response.response.uid, req.uid);
    assert.equal(response.response.allowed, false);
    assert.deepEqual(response.response.status, {
      status: 'Failure',
      code: 403,
      reason: 'Forbidden',
      message: '1 of 3 images denied: nginx:latest (sha256:abababababab): 1 CRITICAL, 1 HIGH: CVE-2023-1234 (openssl 3.0.2, fixed 3.0.7), CVE-2023-0001 (zlib 1.2.11, fixed 1.2.12)',
    });
    assert.equal(decision.images.find((v) => v.image === 'nginx:latest')?.fromCache, true);
    assert.equal(response.response.patch, undefined, 'no patch on a denial, nor without mutate');
    assert.equal(response.response.auditAnnotations?.['advisories'], 'CVE-2023-1234,CVE-2023-0001');
  });

  it('warn mode: allowed with warnings; audit mode: allowed, audit annotations only', async () => {
    const req = pod([{ name: 'proxy', image: 'nginx:latest' }]);
    const warn = await decide(wrap(req), bad, parsePolicy({ mode: 'warn' }));
    assert.equal(warn.response.response.allowed, true);
    assert.equal(warn.response.response.status, undefined);
    assert.match(warn.response.response.warnings?.[0] ?? '', /^would be denied: nginx:latest \(sha256:abababababab\): 1 CRITICAL, 1 HIGH/);
    const audit = await decide(wrap(req), bad, parsePolicy({ mode: 'audit' }));
    assert.equal(audit.response.response.allowed, true);
    assert.equal(audit.response.response.warnings, undefined);
    assert.equal(audit.response.response.auditAnnotations?.['decision'], 'audit');
    assert.match(audit.response.response.auditAnnotations?.['reason'] ?? '', /nginx:latest/);
  });

  it('DELETE and CONNECT are allowed without scanning', async () => {
    for (const operation of ['DELETE', 'CONNECT']) {
      const lookup = tableLookup({});
      const { response, decision } = await decide(wrap(pod([{ name: 'p', image: 'nginx:latest' }], { operation, object: null })), lookup);
      assert.equal(response.response.allowed, true);
      assert.equal(decision.code, 'skipped');
      assert.deepEqual(lookup.calls, []);
    }
  });

  it('subresources other than ephemeralcontainers are allowed without scanning; ephemeralcontainers checks only ephemeral containers', async () => {
    for (const subResource of ['status', 'binding', 'exec', 'attach', 'log']) {
      const lookup = tableLookup({});
      const { response } = await decide(wrap(pod([{ name: 'p', image: 'nginx:latest' }], { subResource, operation: 'UPDATE' })), bad);
      assert.equal(response.response.allowed, true, subResource);
      assert.deepEqual(lookup.calls, []);
    }
    const req = pod([{ name: 'app', image: 'nginx:latest' }], { subResource: 'ephemeralcontainers', operation: 'UPDATE' });
    (req.object.spec as Record<string, unknown>)['ephemeralContainers'] = [{ name: 'debugger', image: 'busybox:1.36' }];
    const lookup = tableLookup({});
    const { response } = await decide(wrap(req), lookup, defaultPolicy, true);
    assert.deepEqual(lookup.calls, ['busybox:1.36']);
    assert.deepEqual(patchOf(response), [{ op: 'replace', path: '/spec/ephemeralContainers/0/image', value: `busybox:1.36@${DIGEST_B}` }]);
  });

  it('UPDATE checks only images that were not in the old object (a label change never blocks)', async () => {
    const old = pod([{ name: 'proxy', image: 'nginx:latest' }]).object;
    const lookup = tableLookup({});
    const same = await decide(wrap(pod([{ name: 'proxy', image: 'nginx:latest' }], { operation: 'UPDATE', oldObject: old })), lookup);
    assert.equal(same.response.response.allowed, true);
    assert.equal(same.decision.code, 'skipped');
    assert.deepEqual(lookup.calls, []);
    const changed = await decide(wrap(pod([{ name: 'proxy', image: 'nginx:latest' }, { name: 'x', image: 'redis:7' }], { operation: 'UPDATE', oldObject: old })), lookup);
    assert.deepEqual(lookup.calls, ['redis:7']);
    assert.equal(changed.response.response.allowed, true);
  });

  it('unknown kinds: their pod specs are found and checked (scan, the default); deny and allow as configured', async () => {
    const req = {
      uid: 'u-1',
      kind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'Rollout' },
      resource: { group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts' },
      namespace: 'prod',
      operation: 'CREATE',
      object: { metadata: { name: 'r' }, spec: { template: { spec: { initContainers: [{ name: 'i', image: 'busybox:1' }], containers: [{ name: 'a', image: 'nginx:latest' }] } } } },
    };
    const lookup = tableLookup({});
    const scanned = await decide(wrap(req), lookup);
    assert.deepEqual(lookup.calls.sort(), ['busybox:1', 'nginx:latest']);
    assert.equal(scanned.response.response.uid, 'u-1');
    const patched = await decide(wrap(req), tableLookup({}), parsePolicy({}), true);
    const patch = patched.response.response.patch ? (JSON.parse(Buffer.from(patched.response.response.patch, 'base64').toString()) as { path: string }[]) : [];
    assert.equal(patch.length, 2, 'both discovered images are pinned');
    for (const p of patch) assert.match(p.path, /^\/spec\/template\/spec\/(initContainers|containers)\/0\/image$/);

    const noPods = { ...req, object: { spec: { replicas: 3, selector: {} } } };
    const deny = await decide(wrap(noPods));
    assert.equal(deny.response.response.allowed, false);
    assert.equal(deny.decision.code, 'unknown-kind');
    assert.match(deny.response.response.status?.message ?? '', /kind argoproj\.io\/v1alpha1\/Rollout has no pod spec Portcullis knows/);

    const denyAll = tableLookup({});
    const denied = await decide(wrap(req), denyAll, parsePolicy({ unknownKinds: 'deny' }));
    assert.equal(denied.response.response.allowed, false);
    assert.deepEqual(denyAll.calls, [], 'unknownKinds: deny never scans');
    const allow = await decide(wrap(noPods), tableLookup({}), parsePolicy({ unknownKinds: 'allow' }));
    assert.equal(allow.response.response.allowed, true);
    assert.equal(allow.decision.code, 'unknown-kind');
    const warn = await decide(wrap(noPods), tableLookup({}), parsePolicy({ mode: 'warn' }));
    assert.equal(warn.response.response.allowed, true);
    assert.equal(warn.decision.outcome, 'warn');
    assert.match(warn.response.response.warnings?.[0] ?? '', /would be denied: kind argoproj\.io/);
  });

  it('break-glass on the pod template annotations admits a Deployment without scanning, audited', async () => {
    const req = json(join(KW, 'test_data', 'deployment_creation.json')) as { object: { spec: { template: { metadata?: Record<string, unknown> } } } };
    req.object.spec.template.metadata = { annotations: { 'portcullis.image-policy.k8s.io/break-glass': 'INC-77 outage' } };
    const lookup = tableLookup({});
    const { response, decision } = await decide(wrap(req), lookup, parsePolicy({ breakGlass: { enabled: true } }));
    assert.equal(response.response.allowed, true);
    assert.equal(decision.breakGlass, true);
    assert.deepEqual(lookup.calls, []);
    assert.equal(response.response.auditAnnotations?.['break-glass'], 'portcullis.image-policy.k8s.io/break-glass=INC-77 outage');
    assert.match(response.response.warnings?.[0] ?? '', /break-glass/);
  });

  it('excluded namespaces are admitted without scanning', async () => {
    const lookup = tableLookup({});
    const req = { ...pod([{ name: 'p', image: 'nginx:latest' }]), namespace: 'kube-system' };
    const { response } = await decide(wrap(req), lookup, parsePolicy({ excludedNamespaces: ['kube-system'] }));
    assert.equal(response.response.allowed, true);
    assert.deepEqual(lookup.calls, []);
  });

  it('malformed objects are denied with a reason, echoing the uid (never a 500)', async () => {
    const cases: [unknown, RegExp][] = [
      [{ apiVersion: 'v1', kind: 'Pod' }, /Pod has no pod spec at spec/],
      [{ spec: { containers: 'nginx' } }, /pod spec is malformed/],
      [{ spec: { containers: [{ name: 'a' }] } }, /containers\[0\] \(a\) has no image/],
      [{ spec: { containers: [{ name: 'a', image: 7 }] } }, /pod spec is malformed/],
      [null, /has no pod spec/],
    ];
    for (const [object, re] of cases) {
      const { response, decision } = await decide(wrap({ ...pod([]), object }));
      assert.equal(response.response.uid, 'f0b8b3c2-0000-4000-8000-000000000001');
      assert.equal(response.response.allowed, false);
      assert.equal(decision.code, 'invalid-object');
      assert.match(response.response.status?.message ?? '', re);
    }
  });

  it('shell metacharacters / a 10 KB image in a Deployment: denied "invalid image reference", never looked up', async () => {
    const req = json(join(KW, 'test_data', 'deployment_creation.json')) as { object: { spec: { template: { spec: { containers: { image: string }[] } } } } };
    req.object.spec.template.spec.containers.push({ image: 'x;reboot' }, { image: 'b'.repeat(10240) });
    const lookup = tableLookup({});
    const { response } = await decide(wrap(req), lookup);
    assert.deepEqual(lookup.calls, ['ghcr.io/kubewarden/test-verify-image-signatures:signed']);
    assert.equal(response.response.allowed, false);
    assert.match(response.response.status?.message ?? '', /^2 of 3 images denied: invalid image reference "x;reboot"/);
    assert.ok((response.response.status?.message.length ?? 0) <= 2000);
  });
});

describe('AdmissionReview: mutation', () => {
  it('pins every scanned image to its digest in every container list (tag kept), skipping images that have a digest', async () => {
    const req = pod([
      { name: 'a', image: 'nginx:1.25' },
      { name: 'b', image: `redis@${DIGEST_A}` },
      { name: 'c', image: 'nginx:1.25' },
    ]);
    (req.object.spec as Record<string, unknown>)['initContainers'] = [{ name: 'i', image: 'busybox' }];
    const lookup = tableLookup({ 'nginx:1.25': { state: 'scanned', digest: DIGEST_A, findings: [], fromCache: false } });
    const { response } = await decide(wrap(req), lookup, defaultPolicy, true);
    assert.equal(response.response.allowed, true);
    const patch = patchOf(response);
    assert.deepEqual(patch, [
      { op: 'replace', path: '/spec/initContainers/0/image', value: `busybox@${DIGEST_B}` },
      { op: 'replace', path: '/spec/containers/0/image', value: `nginx:1.25@${DIGEST_A}` },
      { op: 'replace', path: '/spec/containers/2/image', value: `nginx:1.25@${DIGEST_A}` },
    ]);
    const patched = applyPatch(req.object, patch) as { spec: { containers: { image: string }[] } };
    assert.equal(patched.spec.containers[1]?.image, `redis@${DIGEST_A}`);
  });

  it('CronJob: the patch reaches into jobTemplate', async () => {
    const body = wrap(json(join(KW, 'test_data', 'cronjob_creation.json')));
    const { response } = await decide(body, tableLookup({}), defaultPolicy, true);
    assert.deepEqual(patchOf(response).map((p) => p.path), ['/spec/jobTemplate/spec/template/spec/containers/0/image']);
  });

  it('no patch for images not scanned (break-glass, excluded namespace) or without mutate', async () => {
    const req = { ...pod([{ name: 'a', image: 'nginx:1.25' }]), namespace: 'kube-system' };
    const { response } = await decide(wrap(req), tableLookup({}), parsePolicy({ excludedNamespaces: ['kube-system'] }), true);
    assert.equal(response.response.patch, undefined);
    assert.equal(response.response.patchType, undefined);
  });

  it('a digest that is not a valid digest from the lookup is never written into the pod', async () => {
    const lookup = tableLookup({ 'nginx:1.25': { state: 'scanned', digest: 'sha256:nothex', findings: [], fromCache: false } });
    const { response } = await decide(wrap(pod([{ name: 'a', image: 'nginx:1.25' }])), lookup, defaultPolicy, true);
    assert.equal(response.response.patch, undefined);
  });
});

describe('AdmissionReview: protocol errors', () => {
  const good = pod([{ name: 'a', image: 'nginx' }]);
  const cases: [string, unknown, number, RegExp][] = [
    ['not an object', 42, 400, /must be a JSON object/],
    ['wrong apiVersion', { apiVersion: 'admission.k8s.io/v2', kind: 'AdmissionReview', request: good }, 422, /expected apiVersion admission\.k8s\.io\/v1 or admission\.k8s\.io\/v1beta1 kind AdmissionReview/],
    ['an ImageReview sent to /validate', { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: {} }, 422, /kind AdmissionReview/],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 400, /AdmissionReview has no request/],
    ['no uid', wrap({ ...good, uid: undefined }), 400, /request\.uid/],
    ['kind not an object', wrap({ ...good, kind: 'Pod' }), 400, /request\.kind/],
    ['dryRun not a boolean', wrap({ ...good, dryRun: 'yes' }), 400, /request\.dryRun/],
  ];
  for (const [name, body, status, re] of cases) {
    it(`${name} → ${status}`, () => {
      assert.throws(
        () => parseAdmissionReview(body),
        (err: unknown) => err instanceof ProtocolError && err.statusCode === status && re.test(err.message),
      );
    });
  }
  it('the workload table is keyed on group + kind (CronJob in batch, every version)', () => {
    assert.ok(WORKLOAD_KINDS.some((w) => w.group === 'batch' && w.kind === 'CronJob'));
    assert.equal(workloadKind('batch', 'CronJob')?.podSpec.join('.'), 'spec.jobTemplate.spec.template.spec');
    assert.equal(workloadKind('apps', 'Pod'), undefined);
  });
});
