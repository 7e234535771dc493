/**
 * The wire parsers' plain-check fast paths (parseAdmissionReview, parseImageReview, extractImages)
 * against their zod schemas: on real payloads (kubewarden test_data, the API round-trip fixtures, the
 * Kubernetes docs' ImageReview) and on every field of them replaced by values of every JSON type,
 * empty, too long and missing, both give the same result or the same error message.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAdmissionReview } from '../../src/admission/admission-review.ts';
import { parseImageReview } from '../../src/admission/image-review.ts';
import { WORKLOAD_KINDS, extractImages } from '../../src/admission/workloads.ts';
import { TESTDATA } from '../helpers/paths.ts';

const K8S = join(TESTDATA, 'k8s');
const KW = join(K8S, 'admission', 'kubewarden-trusted-repos-policy', 'test_data');
const RT = join(K8S, 'api-roundtrip', 'HEAD');
const json = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));

/** Values every field is replaced with (`undefined` removes the key). */
const VALUES: unknown[] = [undefined, null, 0, 1.5, true, false, '', 'x', 'CREATE', 'x'.repeat(63), 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(253), 'x'.repeat(254), 'x'.repeat(257), [], ['a'], [1], [{}], [{ image: 'a' }], [{ image: 1 }], [{ name: 'x'.repeat(254), image: 'a' }], [null], {}, { a: 'b' }, { a: 1 }, { image: 'a' }];

function outcome(f: () => unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: f() };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}

/** Every path to a value inside `doc` (objects and arrays), to `maxDepth`. */
function paths(doc: unknown, maxDepth = 8, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (prefix.length >= maxDepth || typeof doc !== 'object' || doc === null) return out;
  const entries = Object.entries(doc);
  // Of a long list or map, the first two entries and the last stand for the rest.
  const some = entries.length > 3 ? [entries[0], entries[1], entries[entries.length - 1]] as [string, unknown][] : entries;
  for (const [k, v] of some) {
    const p = [...prefix, Array.isArray(doc) ? Number(k) : k];
    out.push(p, ...paths(v, maxDepth, p));
  }
  return out;
}

/** A copy of `doc` with the value at `path` replaced (removed: `undefined`), or undefined when its parent does not exist. */
function withValue(doc: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let cur: unknown = copy;
  for (const k of path.slice(0, -1)) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  if (typeof cur !== 'object' || cur === null) return undefined;
  const last = path[path.length - 1] as string | number;
  // JSON has no holes: an array element is removed, not deleted.
  if (Array.isArray(cur)) {
    if (typeof last !== 'number') return undefined;
    if (value === undefined) cur.splice(last, 1);
    else cur[last] = structuredClone(value);
  } else if (value === undefined) delete (cur as Record<string | number, unknown>)[last];
  else (cur as Record<string | number, unknown>)[last] = structuredClone(value);
  return copy;
}

/** Fixtures plus each of their fields set to each value; checks `same` on all of them. */
function mutations(docs: unknown[], extraPaths: (string | number)[][], same: (doc: unknown, what: string) => void): number {
  let n = 0;
  for (const doc of docs) {
    same(doc, 'fixture');
    n++;
    const ps = [...paths(doc), ...extraPaths];
    for (const p of ps) {
      for (const v of VALUES) {
        const changed = withValue(doc, p, v);
        if (changed === undefined) continue;
        same(changed, `${p.join('.')} = ${JSON.stringify(v)?.slice(0, 40)}`);
        n++;
      }
    }
  }
  return n;
}

const wrap = (request: unknown, apiVersion = 'admission.k8s.io/v1'): unknown => ({ apiVersion, kind: 'AdmissionReview', request });

function admissionDocs(): unknown[] {
  const docs: unknown[] = readdirSync(KW)
    .filter((f) => f.endsWith('.json'))
    .map((f) => wrap(json(join(KW, f))));
  for (const f of ['admission.k8s.io.v1.AdmissionReview.json', 'admission.k8s.io.v1beta1.AdmissionReview.json']) docs.push(json(join(RT, f)));
  return docs;
}

describe('wire parsers: fast path = zod schema', () => {
  it('AdmissionReview: same request or the same error, fixtures and every field mutated', () => {
    const extra = ['userInfo', 'resource', 'requestKind', 'requestResource', 'subResource', 'requestSubResource', 'dryRun', 'name', 'namespace'].map((k) => ['request', k]);
    const n = mutations(admissionDocs(), [...extra, ['request', 'kind', 'group'], ['request', 'userInfo', 'groups'], ['request', 'userInfo', 'username']], (doc, what) => {
      assert.deepEqual(outcome(() => parseAdmissionReview(doc)), outcome(() => parseAdmissionReview(doc, 'schema')), what);
    });
    assert.ok(n > 5000, `${n} cases`);
  });

  it('ImageReview: same review or the same error, fixtures and every field mutated', () => {
    const docs = [json(join(K8S, 'admission', 'k8s-docs-imagereview', 'imagereview-request.json'))];
    docs.push({ kind: 'ImageReview', apiVersion: 'imagepolicy.k8s.io/v1alpha1', metadata: { creationTimestamp: null }, spec: { containers: [{ image: 'ghcr.io/acme/a:2' }, { image: 'b' }], annotations: { 'mycluster.image-policy.k8s.io/ticket-1234': 'break-glass', other: 'x' }, namespace: 'default' }, status: { allowed: false } });
    const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}.image-policy.k8s.io/x`, 'v']));
    docs.push({ kind: 'ImageReview', apiVersion: 'imagepolicy.k8s.io/v1alpha1', spec: { containers: Array.from({ length: 1001 }, () => ({ image: 'a' })), annotations: many } });
    const n = mutations(docs, [['spec', 'namespace'], ['spec', 'annotations'], ['spec', 'containers'], ['metadata'], ['status']], (doc, what) => {
      assert.deepEqual(outcome(() => parseImageReview(doc)), outcome(() => parseImageReview(doc, 'schema')), what);
    });
    assert.ok(n > 500, `${n} cases`);
  });

  it('pod specs and annotations of every workload kind: same images, annotations and problems', () => {
    let n = 0;
    for (const doc of admissionDocs()) {
      const object = (doc as { request: { object?: unknown } }).request.object;
      if (object === undefined) continue;
      const kinds = WORKLOAD_KINDS;
      const extraPaths = kinds.flatMap((w) => [[...w.podSpec, 'initContainers'], [...w.podSpec, 'ephemeralContainers'], ['metadata', 'annotations'], ...(w.templateMetadata ? [[...w.templateMetadata, 'annotations']] : [])]);
      n += mutations([object], extraPaths, (o, what) => {
        for (const w of kinds) assert.deepEqual(outcome(() => extractImages(w, o)), outcome(() => extractImages(w, o, undefined, 'schema')), `${w.group}/${w.kind}: ${what}`);
      });
    }
    assert.ok(n > 1000, `${n} cases`);
  });
});
