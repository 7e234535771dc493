import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../shared/errors.ts';
import { familiarReference, formatReference, parseReference, withDefaultTag } from './reference.ts';
import { parseTarget } from './target.ts';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference: valid references (distribution/reference grammar)', () => {
  const valid: [string, { registry: string; repository: string; tag?: string; digest?: string }][] = [
    ['alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['alpine:3.19', { registry: 'docker.io', repository: 'library/alpine', tag: '3.19' }],
    ['library/alpine:3.19', { registry: 'docker.io', repository: 'library/alpine', tag: '3.19' }],
    ['bitnami/redis:7.2', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7.2' }],
    ['docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['index.docker.io/alpine:edge', { registry: 'docker.io', repository: 'library/alpine', tag: 'edge' }],
    ['docker.io/org/team/app:1', { registry: 'docker.io', repository: 'org/team/app', tag: '1' }],
    ['ghcr.io/owner/app:v1.2.3-rc.1', { registry: 'ghcr.io', repository: 'owner/app', tag: 'v1.2.3-rc.1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/app:dev', { registry: 'localhost:5000', repository: 'app', tag: 'dev' }],
    ['127.0.0.1:5055/bench/python:latest', { registry: '127.0.0.1:5055', repository: 'bench/python', tag: 'latest' }],
    ['[::1]:5000/app', { registry: '[::1]:5000', repository: 'app' }],
    ['Registry.Example.COM/app', { registry: 'Registry.Example.COM', repository: 'app' }],
    ['MYHOST/app', { registry: 'MYHOST', repository: 'app' }],
    [`alpine@${D}`, { registry: 'docker.io', repository: 'library/alpine', digest: D }],
    [`quay.io/a/b:1.0@${D}`, { registry: 'quay.io', repository: 'a/b', tag: '1.0', digest: D }],
    ['a__b/c-d/e.f_g:Tag_.-', { registry: 'docker.io', repository: 'a__b/c-d/e.f_g', tag: 'Tag_.-' }],
    ['host:5000', { registry: 'docker.io', repository: 'library/host', tag: '5000' }],
    [`x/y:${'t'.repeat(128)}`, { registry: 'docker.io', repository: 'x/y', tag: 't'.repeat(128) }],
  ];
  for (const [input, want] of valid) {
    it(`accepts ${input.length > 60 ? `${input.slice(0, 60)}…` : input}`, () => {
      assert.deepEqual(parseReference(input), want);
    });
  }

  it('formats the canonical and the familiar form', () => {
    const r = parseReference('alpine:3.19');
    assert.equal(formatReference(r), 'docker.io/library/alpine:3.19');
    assert.equal(familiarReference(r), 'alpine:3.19');
    assert.equal(familiarReference(parseReference('ghcr.io/o/a:1')), 'ghcr.io/o/a:1');
    assert.deepEqual(withDefaultTag(parseReference('alpine')).tag, 'latest');
    assert.equal(withDefaultTag(parseReference(`alpine@${D}`)).tag, undefined);
  });
});

describe('parseReference: invalid references are refused with a clear message', () => {
  const invalid: [string, RegExp][] = [
    ['', /empty/],
    ['Alpine', /must be lower-case/],
    ['library/Alpine:1', /must be lower-case/],
    ['alpine:', /is not a valid tag/],
    ['alpine:-x', /is not a valid tag/],
    [`alpine:${'t'.repeat(129)}`, /is not a valid tag/],
    ['-alpine', /not a valid path component/],
    ['alpine-', /not a valid path component/],
    ['a..b', /not a valid path component/],
    ['foo/', /empty path component/],
    ['foo//bar', /empty path component/],
    [':tag', /missing repository/],
    ['ghcr.io/', /missing repository/],
    ['alpine@', /empty digest/],
    ['alpine@sha256:abc', /sha256 needs 64 lower-case hex digits/],
    [`alpine@sha256:${'A'.repeat(64)}`, /lower-case hex/],
    [`alpine@md5:${'a'.repeat(32)}`, /algorithm must be sha256 or sha512/],
    [`alpine@${D}@${D}`, /more than one "@"/],
    ['host:99999/app', /not a valid port/],
    ['ho_st:5000/app', /not a valid registry host/],
    ['-host.com/app', /not a valid registry host/],
    [`docker.io/${'a'.repeat(250)}`, /longer than 255/],
    ['x'.repeat(5000), /too long/],
    // shell metacharacters: refused by the grammar, never reach a shell
    ['alpine;rm -rf /', /white space/],
    ['alpine;id', /not a valid path component/],
    ['alpine$(id)', /not a valid path component/],
    ['alpine`id`', /not a valid path component/],
    ['alpine|cat', /not a valid path component/],
    ['alpine&&id', /not a valid path component/],
    ['alpine:1>x', /is not a valid tag/],
    ['alpine\nlatest', /white space/],
    ['alpine\u0000', /not a valid path component/],
    ['../../etc/passwd', /not a valid (registry host|path component)/],
  ];
  for (const [input, why] of invalid) {
    it(`refuses ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)}`, () => {
      assert.throws(
        () => parseReference(input),
        (err: unknown) => {
          assert.ok(err instanceof UserError, 'a UserError (safe to show)');
          assert.equal(err.code, 'IMAGE_REF_INVALID');
          assert.match(err.message, /^invalid (image reference|digest)/);
          assert.match(err.message, why);
          assert.ok(!err.message.includes('\n'), 'one line');
          assert.ok(err.message.length < 500, 'long input is clipped in the message');
          return true;
        },
      );
    });
  }
});

describe('parseTarget: skopeo transport syntax', () => {
  it('reads each transport', () => {
    assert.deepEqual(parseTarget('docker-archive:/tmp/x.tar'), { kind: 'docker-archive', input: 'docker-archive:/tmp/x.tar', path: '/tmp/x.tar' });
    assert.deepEqual(parseTarget('oci-archive:img.tar'), { kind: 'oci-archive', input: 'oci-archive:img.tar', path: 'img.tar' });
    assert.deepEqual(parseTarget('oci:/srv/layout'), { kind: 'oci-layout', input: 'oci:/srv/layout', path: '/srv/layout' });
    assert.deepEqual(parseTarget('oci:/srv/layout:v1.2'), { kind: 'oci-layout', input: 'oci:/srv/layout:v1.2', path: '/srv/layout', tag: 'v1.2' });
    assert.deepEqual(parseTarget('rootfs:/mnt/root'), { kind: 'rootfs', input: 'rootfs:/mnt/root', path: '/mnt/root' });
    const r = parseTarget('docker://ghcr.io/o/a:1');
    assert.equal(r.kind, 'registry');
    assert.equal(r.kind === 'registry' && formatReference(r.ref), 'ghcr.io/o/a:1');
    const bare = parseTarget('localhost:5000/app:dev');
    assert.equal(bare.kind === 'registry' && bare.ref.registry, 'localhost:5000');
  });

  it('refuses a transport without a path, and bad registry references', () => {
    assert.throws(() => parseTarget('oci:'), /oci: needs a path/);
    assert.throws(() => parseTarget('docker-archive:'), /needs a path/);
    assert.throws(() => parseTarget(''), /empty target/);
    assert.throws(() => parseTarget('Not/A;Ref'), /invalid image reference/);
  });
});
