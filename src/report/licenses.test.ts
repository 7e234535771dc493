import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { declaredLicense, licenseRefFor, parseSpdxExpression } from './licenses.ts';

describe('SPDX license expressions', () => {
  it('accepts listed ids, fixing their case, and normalises operators', () => {
    assert.equal(parseSpdxExpression('mit'), 'MIT');
    assert.equal(parseSpdxExpression('GPL-2.0-or-later'), 'GPL-2.0-or-later');
    assert.equal(parseSpdxExpression('(Apache-2.0 or MIT)  and MPL-2.0'), '(Apache-2.0 OR MIT) AND MPL-2.0');
    assert.equal(parseSpdxExpression('GPL-2.0-only WITH Classpath-exception-2.0'), 'GPL-2.0-only WITH Classpath-exception-2.0');
    assert.equal(parseSpdxExpression('LGPL-2.1+'), 'LGPL-2.1+');
    assert.equal(parseSpdxExpression('LicenseRef-foo.bar'), 'LicenseRef-foo.bar');
  });
  it('refuses names that are not SPDX ids and broken syntax', () => {
    for (const bad of ['GPL-2', 'public-domain', 'MIT AND', '(MIT', 'MIT)', 'MIT WITH', 'MIT WITH MIT-foo', 'BSD like', '', 'MIT OR OR ISC']) assert.equal(parseSpdxExpression(bad), undefined, bad);
  });
  it('turns a cataloger license list into one expression with LicenseRefs for free names', () => {
    assert.deepEqual(declaredLicense(undefined), { expression: 'NOASSERTION', refs: [] });
    assert.deepEqual(declaredLicense(['MIT']), { expression: 'MIT', refs: [] });
    assert.deepEqual(declaredLicense(['Apache-2.0 OR MIT']), { expression: 'Apache-2.0 OR MIT', refs: [] });
    assert.deepEqual(declaredLicense(['Apache-2.0 OR MIT', 'ISC']), { expression: '(Apache-2.0 OR MIT) AND ISC', refs: [] });
    assert.deepEqual(declaredLicense(['GPL-2.0-only', 'public domain', 'MIT', 'MIT']), {
      expression: 'GPL-2.0-only AND LicenseRef-public-domain AND MIT',
      refs: [{ id: 'LicenseRef-public-domain', name: 'public domain' }],
    });
    assert.equal(licenseRefFor('  Artistic/GPL  '), 'LicenseRef-Artistic-GPL');
    assert.equal(licenseRefFor('©'), 'LicenseRef-unnamed');
  });
});
