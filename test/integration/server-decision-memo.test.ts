/** DecisionMemo: entries die after their TTL, when the backend identity changes, and at the next exception expiry; matches are byte-exact. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/config/policy-schema.ts';
import type { Decision } from '../../src/domain/policy.ts';
import { DecisionMemo, memoizable } from '../../src/server/decision-memo.ts';
import { uidSlot } from '../../src/server/reviews.ts';

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

const b = (s: string): Buffer => Buffer.from(s);

describe('DecisionMemo', () => {
  const entry = { parts: ['{}'] as [string], bytes: 2, decision: decision('clean'), identity: 'db-1', log: {} };
  const k = b('{"kind":"ImageReview"}');

  it('keeps an entry for its TTL and for one identity only', () => {
    const memo = new DecisionMemo(parsePolicy({}), { ttlMs: 1000 });
    memo.set('ir', k, entry, 10_000);
    assert.ok(memo.get('ir', k, 'db-1', 10_999));
    assert.equal(memo.get('validate', k, 'db-1', 10_999), undefined, 'another route');
    assert.equal(memo.get('ir', k, 'db-2', 10_500), undefined, 'another DB: gone');
    memo.set('ir', k, entry, 10_000);
    assert.equal(memo.get('ir', k, 'db-1', 11_000), undefined, 'expired');
  });

  it('never lets an entry outlive the next policy exception expiry', () => {
    const policy = parsePolicy({ exceptions: [{ id: 'CVE-2019-18224', expires: '2030-01-01T00:00:00.500Z', reason: 'ticket 1' }] });
    const memo = new DecisionMemo(policy, { ttlMs: 1000 });
    const t = Date.parse('2030-01-01T00:00:00.000Z');
    memo.set('ir', k, entry, t);
    assert.ok(memo.get('ir', k, 'db-1', t + 499));
    assert.equal(memo.get('ir', k, 'db-1', t + 500), undefined);
    memo.set('ir', k, entry, t + 600);
    assert.ok(memo.get('ir', k, 'db-1', t + 1500), 'past the expiry the normal TTL applies');
  });

  it('matches byte for byte: every byte outside the slot counts, the slot may differ', () => {
    const memo = new DecisionMemo(parsePolicy({}), { ttlMs: 1000 });
    const body = (uid: string, name = 'web'): Buffer => b(`{"request":{"uid":"${uid}","name":"${name}"}}`);
    const u1 = '0f5e3c1a-1111-4a4a-8b8b-000000000001';
    const u2 = '0f5e3c1a-1111-4a4a-8b8b-000000000002';
    const slot = uidSlot(body(u1));
    assert.deepEqual(slot, { at: 19, len: 36 });
    memo.set('validate', body(u1), entry, 0, slot);
    assert.ok(memo.get('validate', body(u2), 'db-1', 1, slot), 'another uid in the slot');
    assert.equal(memo.get('validate', body(u2, 'wec'), 'db-1', 1, slot), undefined, 'one byte differs (same length, same bucket)');
    assert.equal(memo.get('validate', body(u2), 'db-1', 1), undefined, 'without the slot the uid bytes count');
    // Same length, same sampled bytes: a shared bucket; the bytes decide.
    const names = ['aaaaa', 'aaaab', 'aaaac'];
    for (const [i, n] of names.entries()) memo.set('validate', body(u1, n), { ...entry, bytes: i }, 0, slot);
    for (const [i, n] of names.entries()) assert.equal(memo.get('validate', body(u2, n), 'db-1', 1, slot)?.bytes, i);
  });

  it('copies the body it keeps (the request buffer may be reused)', () => {
    const memo = new DecisionMemo(parsePolicy({}), { ttlMs: 1000 });
    const buf = b('{"kind":"ImageReview","x":1}');
    memo.set('ir', buf, entry, 0);
    buf[25] = 0x32;
    assert.equal(memo.get('ir', buf, 'db-1', 1), undefined);
    assert.ok(memo.get('ir', b('{"kind":"ImageReview","x":1}'), 'db-1', 1));
  });

  it('is bounded, overall and per bucket', () => {
    const memo = new DecisionMemo(parsePolicy({}), { ttlMs: 1000, maxEntries: 100 });
    for (let i = 0; i < 1000; i++) memo.set('ir', b(`{"k":${i}}`), entry, 0);
    assert.ok(memo.size <= 100);
    assert.ok(memo.get('ir', b('{"k":999}'), 'db-1', 1));
    // 20 bodies in one bucket (the hash forced): 8 kept, the newest.
    const one = new DecisionMemo(parsePolicy({}), { ttlMs: 1000, bucketOf: () => 7 });
    const body = (i: number): Buffer => b(`{"a":"${String.fromCharCode(65 + i)}${'x'.repeat(200)}"}`);
    for (let i = 0; i < 20; i++) one.set('ir', body(i), entry, 0);
    assert.equal(one.size, 8);
    assert.ok(one.get('ir', body(19), 'db-1', 1));
    assert.equal(one.get('ir', body(0), 'db-1', 1), undefined);
  });

  it('near-duplicate reviews (one byte differs, where the bucket hash does not sample) never count as repeats of each other', () => {
    const memo = new DecisionMemo(parsePolicy({}), { ttlMs: 1000, maxEntries: 10_000 });
    // Pod reviews that differ only in a name suffix in the middle: each is a first sighting.
    const body = (i: number): Buffer => b(`{"request":{"uid":"0a000000-0000-4000-8000-000000000001","a":"${'x'.repeat(300)}${String(i).padStart(4, '0')}${'y'.repeat(300)}"}}`);
    for (let i = 0; i < 100; i++) {
      const x = body(i);
      const slot = uidSlot(x) as NonNullable<ReturnType<typeof uidSlot>>;
      assert.equal(memo.get('validate', x, 'db-1', i, slot), undefined);
      assert.equal(memo.wouldKeepRepeated('validate', x, i, slot), false, `body ${i}`);
      memo.set('validate', x, entry, i, slot, { repeated: true });
    }
    assert.equal(memo.size, 0);
  });

  it('with `repeated`, keeps an entry only for a review whose lookup missed before (within 10 × TTL)', () => {
    const memo = new DecisionMemo(parsePolicy({}), { ttlMs: 1000 });
    const body = (uid: string): Buffer => b(`{"request":{"uid":"${uid}","name":"web"}}`);
    const u = (i: number): string => `0a000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const slotOf = (x: Buffer) => uidSlot(x) as NonNullable<ReturnType<typeof uidSlot>>;
    const first = body(u(1));
    assert.equal(memo.get('validate', first, 'db-1', 0, slotOf(first)), undefined);
    assert.equal(memo.wouldKeepRepeated('validate', first, 0, slotOf(first)), false, 'first sighting');
    memo.set('validate', first, entry, 0, slotOf(first), { repeated: true });
    assert.equal(memo.size, 0, 'a review seen once is not kept');
    const second = body(u(2));
    assert.equal(memo.get('validate', second, 'db-1', 10, slotOf(second)), undefined);
    assert.equal(memo.wouldKeepRepeated('validate', second, 10, slotOf(second)), true, 'the same review but its uid, again');
    memo.set('validate', second, entry, 10, slotOf(second), { repeated: true });
    assert.equal(memo.size, 1);
    const third = body(u(3));
    assert.ok(memo.get('validate', third, 'db-1', 20, slotOf(third)), 'the third is answered from the memo');
    // Another review (one byte differs outside the slot) is a first sighting of its own.
    const other = b(`{"request":{"uid":"${u(4)}","name":"wec"}}`);
    assert.equal(memo.get('validate', other, 'db-1', 30, slotOf(other)), undefined);
    memo.set('validate', other, entry, 30, slotOf(other), { repeated: true });
    assert.equal(memo.size, 1);
    // After the entry expired, a review seen within 10 × TTL is kept again at once; after that it is new again.
    const later = body(u(5));
    assert.equal(memo.get('validate', later, 'db-1', 5_000, slotOf(later)), undefined);
    memo.set('validate', later, entry, 5_000, slotOf(later), { repeated: true });
    assert.ok(memo.get('validate', body(u(6)), 'db-1', 5_001, slotOf(body(u(6)))));
    const much = body(u(7));
    assert.equal(memo.get('validate', much, 'db-1', 100_000, slotOf(much)), undefined);
    assert.equal(memo.wouldKeepRepeated('validate', much, 100_000, slotOf(much)), false);
    // Without `repeated` (ImageReview), an entry is made at once.
    const ir = b('{"kind":"ImageReview","n":1}');
    memo.set('ir', ir, entry, 0);
    assert.ok(memo.get('ir', ir, 'db-1', 1));
  });

  it('memoizes only decisions without pending or failed images', () => {
    assert.equal(memoizable(decision('clean', ['clean'])), true);
    assert.equal(memoizable(decision('vulnerable', ['vulnerable', 'clean'])), true);
    assert.equal(memoizable(decision('pending', ['pending'])), false);
    assert.equal(memoizable(decision('vulnerable', ['vulnerable', 'scan-error'])), false);
    assert.equal(memoizable(decision('scan-error')), false);
  });

  it('is off with a TTL of 0', () => {
    const memo = new DecisionMemo(parsePolicy({ }), { ttlMs: 0 });
    memo.set('ir', k, entry, 0);
    assert.equal(memo.get('ir', k, 'db-1', 0), undefined);
  });
});

describe('uidSlot', () => {
  const u = '0f5e3c1a-1111-4a4a-8b8b-00000000000a';
  it('finds the first "uid": "<UUID>" (JSON whitespace allowed), skipping uids that are not UUIDs', () => {
    assert.deepEqual(uidSlot(b(`{"uid" :\n "${u}"}`)), { at: 11, len: 36 });
    const s = `{"x":{"uid":"abc"},"uid":"${u}"}`;
    assert.deepEqual(uidSlot(b(s)), { at: s.indexOf(u), len: 36 });
    assert.equal(uidSlot(b(`{"uid":"${u.slice(0, 35)}g"}`)), undefined);
    assert.equal(uidSlot(b(`{"uid":"${u}x"}`)), undefined, 'the UUID must be the whole string');
    assert.equal(uidSlot(b(`{"uid":"${u.replace(/-/g, 'a')}"}`)), undefined);
    assert.equal(uidSlot(b(`{"uid":"${u}`)), undefined, 'cut off');
  });
});
