import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { displayWidth, sanitize, truncate, wrap } from './table.ts';

describe('table text helpers', () => {
  it('measures terminal columns: wide CJK 2, combining marks 0', () => {
    assert.equal(displayWidth('abc'), 3);
    assert.equal(displayWidth('日本'), 4);
    assert.equal(displayWidth('e\u0301'), 1);
  });
  it('cuts to a width with an ellipsis, never splitting a wide character over the edge', () => {
    assert.equal(truncate('openssl: information disclosure', 10), 'openssl: …');
    assert.equal(truncate('short', 10), 'short');
    assert.equal(displayWidth(truncate('日本語のタイトル', 7)), 7);
    assert.equal(truncate('anything', 0), 'anything');
  });
  it('wraps at spaces and hard-breaks long words', () => {
    assert.deepEqual(wrap('Installed Version', 9), ['Installed', 'Version']);
    assert.deepEqual(wrap('1.44.1-1ubuntu1.2', 8), ['1.44.1-1', 'ubuntu1.', '2']);
    assert.deepEqual(wrap('fits', 8), ['fits']);
  });
  it('replaces control and bidi characters', () => {
    assert.equal(sanitize('a\u001b[31mb\u202ec\n'), 'a [31mb c ');
  });
});
