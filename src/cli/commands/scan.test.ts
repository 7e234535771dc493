import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { staleDbNote } from './scan.ts';

describe('stale advisory DB warning', () => {
  const now = new Date('2026-12-01T00:00:00Z');
  it('warns from a week on, naming the command for the DB in use', () => {
    assert.equal(staleDbNote({ source: 'osv', updatedAt: '2026-11-25T00:00:00Z' }, now), undefined);
    assert.match(staleDbNote({ source: 'osv', updatedAt: '2026-11-20T00:00:00Z' }, now) ?? '', /11 days ago.*`portcullis db update`\)/);
    assert.match(staleDbNote({ source: 'trivy', builtAt: '2026-01-01T00:00:00Z' }, now) ?? '', /db update --source trivy/);
  });
  it('says nothing for the demo sample or an unknown date', () => {
    assert.equal(staleDbNote({ source: 'demo (sample)', updatedAt: '2020-01-01T00:00:00Z' }, now), undefined);
    assert.equal(staleDbNote({ source: 'osv' }, now), undefined);
  });
});
