/**
 * Admission payloads beyond the shared set: kwctl-style AdmissionRequests from other kubewarden
 * policies (some leave out `group` and `resource`, as kwctl allows), each checked for exactly the
 * images of its pod spec in order, through the parser, the kind table and a full review.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAdmissionReview, reviewAdmission } from '../../src/admission/admission-review.ts';
import { extractImages, workloadKind } from '../../src/admission/workloads.ts';
import { defaultPolicy } from '../../src/config/policy-schema.ts';
import { tableLookup } from '../../src/policy/testing.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'holdout-admission');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as { requests: Record<string, [string, string, string][]> };

function review(file: string): unknown {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: JSON.parse(readFileSync(join(DIR, file), 'utf8')) };
}

describe('kubewarden AdmissionRequests: the images of each pod spec, in order', () => {
  for (const [file, want] of Object.entries(expected.requests)) {
    it(file, async () => {
      const parsed = parseAdmissionReview(review(file));
      const w = workloadKind(parsed.request.kind.group, parsed.request.kind.kind);
      assert.ok(w, `${parsed.request.kind.kind} is a workload kind`);
      const got = extractImages(w, parsed.request.object);
      assert.ok(got.ok, got.ok ? '' : got.problem);
      assert.deepEqual(
        got.images.map((i) => [i.containerType, i.name, i.image]),
        want,
      );
      const lookup = tableLookup({});
      const { response } = await reviewAdmission(parsed, lookup, defaultPolicy, { now: new Date('2025-06-15T12:00:00Z'), deadline: Date.now() + 2000, mutate: false });
      assert.deepEqual([...new Set(lookup.calls)].sort(), [...new Set(want.map((x) => x[2]))].sort());
      assert.equal(response.response.uid, parsed.request.uid);
      assert.equal(response.response.allowed, true);
    });
  }
});

describe('requests without a group', () => {
  it('read as the core group, and a kind only another group has gets that group', () => {
    assert.equal(workloadKind('', 'Deployment')?.group, 'apps');
    assert.equal(workloadKind('', 'CronJob')?.group, 'batch');
    assert.equal(workloadKind('', 'Pod')?.group, '');
    assert.equal(workloadKind('', 'Ingress'), undefined);
    assert.equal(workloadKind('example.com', 'Deployment'), undefined);
  });
});
