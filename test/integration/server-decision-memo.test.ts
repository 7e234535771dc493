/** DecisionMemo: entries die after their TTL, when the backend identity changes, and at the next exception expiry. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/config/policy-schema.ts';
import type { Decision } from '../../src/domain/policy.ts';
import { DecisionMemo, memoizable } from '../../src/server/decision-memo.ts';

const decision = (code: Decision['code'], imageCodes: Decision['code'][] = []): Decision => ({
  allowed: true,
  mode: 'enforce',
  outcome: 'allow',
  code,
  images: imageCodes.map((c) => ({ image: 'x', allowed: true, reason: '', code: c as never, findings: [] })),
  warnings: [],
  auditAnnotations: {},
  reason: '',
});

describe('DecisionMemo', () => {
  const entry = { parts: ['{}'] as [string], decision: decision('clean'), identity: 'db-1', log: {} };

  it('keeps an entry for its TTL and for one identity only', () => {
    const memo = new DecisionMemo(parsePolicy({}), { ttlMs: 1000 });
    memo.set('k', entry, 10_000);
    assert.ok(memo.get('k', 'db-1', 10_999));
    assert.equal(memo.get('k', 'db-2', 10_500), undefined, 'another DB: gone');
    memo.set('k', entry, 10_000);
    assert.equal(memo.get('k', 'db-1', 11_000), undefined, 'expired');
  });

  it('never lets an entry outlive the next policy exception expiry', () => {
    const policy = parsePolicy({ exceptions: [{ id: 'CVE-2019-18224', expires: '2030-01-01T00:00:00.500Z', reason: 'ticket 1' }] });
    const memo = new DecisionMemo(policy, { ttlMs: 1000 });
    const t = Date.parse('2030-01-01T00:00:00.000Z');
    memo.set('k', entry, t);
    assert.ok(memo.get('k', 'db-1', t + 499));
    assert.equal(memo.get('k', 'db-1', t + 500), undefined);
    memo.set('k', entry, t + 600);
    assert.ok(memo.get('k', 'db-1', t + 1500), 'past the expiry the normal TTL applies');
  });

  it('is bounded', () => {
    const memo = new DecisionMemo(parsePolicy({}), { ttlMs: 1000, maxEntries: 100 });
    for (let i = 0; i < 1000; i++) memo.set(`k${i}`, entry, 0);
    assert.ok(memo.size <= 100);
    assert.ok(memo.get('k999', 'db-1', 1));
  });

  it('memoizes only decisions without pending or failed images', () => {
    assert.equal(memoizable(decision('clean', ['clean'])), true);
    assert.equal(memoizable(decision('vulnerable', ['vulnerable', 'clean'])), true);
    assert.equal(memoizable(decision('pending', ['pending'])), false);
    assert.equal(memoizable(decision('vulnerable', ['vulnerable', 'scan-error'])), false);
    assert.equal(memoizable(decision('scan-error')), false);
  });

  it('is off with a TTL of 0', () => {
    const memo = new DecisionMemo(parsePolicy({}), { ttlMs: 0 });
    memo.set('k', entry, 0);
    assert.equal(memo.get('k', 'db-1', 0), undefined);
  });
});
