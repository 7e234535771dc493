import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asOsvRecord, MemoryStore, normalizePackageName } from './memory-store.ts';
import type { OsvRecord } from './osv-types.ts';

const r = (id: string, eco: string, name: string, extra: Partial<OsvRecord> = {}): OsvRecord => ({
  id,
  modified: '2024-01-01T00:00:00Z',
  affected: [{ package: { ecosystem: eco, name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }],
  ...extra,
});

describe('MemoryStore', () => {
  it('indexes by exact ecosystem string and package name', () => {
    const s = new MemoryStore([r('A', 'Debian:12', 'openssl'), r('B', 'Debian:11', 'openssl')]);
    assert.deepEqual(s.forPackage('Debian:12', 'openssl').map((x) => x.id), ['A']);
    assert.deepEqual(s.forPackage('Debian', 'openssl'), []);
    assert.deepEqual(s.forPackage('Debian:12', 'OpenSSL'), []);
  });
  it('never returns withdrawn records, and a withdrawn update removes the old version', () => {
    const s = new MemoryStore([r('A', 'npm', 'x'), r('W', 'npm', 'x', { withdrawn: '2024-02-01T00:00:00Z' })]);
    assert.deepEqual(s.forPackage('npm', 'x').map((x) => x.id), ['A']);
    s.add(r('A', 'npm', 'x', { withdrawn: '2024-03-01T00:00:00Z' }));
    assert.deepEqual(s.forPackage('npm', 'x'), []);
    assert.equal(s.withdrawnCount, 2);
  });
  it('replaces a record with the same id', () => {
    const s = new MemoryStore([r('A', 'npm', 'x')]);
    s.add(r('A', 'npm', 'y'));
    assert.deepEqual(s.forPackage('npm', 'x'), []);
    assert.deepEqual(s.forPackage('npm', 'y').map((x) => x.id), ['A']);
    assert.equal(s.size, 1);
  });
  it('normalises PyPI (PEP 503) and npm names', () => {
    const s = new MemoryStore([r('P', 'PyPI', 'Zope.Interface'), r('N', 'npm', 'Foo')]);
    assert.deepEqual(s.forPackage('PyPI', 'zope_interface').map((x) => x.id), ['P']);
    assert.deepEqual(s.forPackage('npm', 'foo').map((x) => x.id), ['N']);
    assert.equal(normalizePackageName('Go', 'github.com/Foo/Bar'), 'github.com/Foo/Bar');
  });
  it('serves CVE severities', () => {
    const s = new MemoryStore();
    s.setCveSeverity('CVE-1', { severity: 'HIGH', source: 'nvd' });
    assert.equal(s.cveSeverity('CVE-1')?.severity, 'HIGH');
    assert.equal(s.cveSeverity('CVE-2'), undefined);
  });
});

describe('asOsvRecord', () => {
  it('accepts a minimal record and rejects malformed ones', () => {
    assert.ok(asOsvRecord({ id: 'X', modified: 'm', affected: [{ package: { ecosystem: 'npm', name: 'a' }, versions: ['1'] }] }));
    for (const bad of [null, 'x', {}, { id: 1, modified: 'm' }, { id: 'X', modified: 'm', affected: {} }, { id: 'X', modified: 'm', affected: [{ ranges: [{ type: 'SEMVER', events: [{ fixed: 1 }] }] }] }, { id: 'X', modified: 'm', aliases: [1] }]) {
      assert.equal(asOsvRecord(bad), undefined, JSON.stringify(bad));
    }
  });
});
