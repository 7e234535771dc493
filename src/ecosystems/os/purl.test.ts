import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PackageURL } from 'packageurl-js';
import { isValidPurl, makePurl } from './purl.ts';

/** What packageurl-js makes of the same call (makePurl's contract), or the fact that it throws. */
function reference(type: string, ns: string | undefined, name: string, version: string, q: Record<string, string | undefined>): string | Error {
  const kept: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') kept[k] = v;
  try {
    return new PackageURL(type, ns, name, version, Object.keys(kept).length ? kept : undefined, undefined).toString();
  } catch (err) {
    return err as Error;
  }
}
function ours(type: string, ns: string | undefined, name: string, version: string, q: Record<string, string | undefined>): string | Error {
  try {
    return makePurl(type, ns, name, version, q);
  } catch (err) {
    return err as Error;
  }
}
function validByReference(s: string): boolean {
  try {
    PackageURL.fromString(s);
    return true;
  } catch {
    return false;
  }
}

// a small deterministic generator (xorshift) over characters that exercise every rule
let seed = 0x9e3779b9;
const rnd = (n: number): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
};
const ALPHABET = ['a', 'b', 'Z', 'Q', '0', '9', '.', '-', '_', '~', '+', ':', '/', '@', '?', '#', '%', ' ', '!', "'", '(', ')', '*', '&', '=', ',', 'é', 'İ', '中', '\t', '\ud800', '😀'];
const str = (max: number): string => Array.from({ length: rnd(max + 1) }, () => ALPHABET[rnd(ALPHABET.length)]).join('');
const TYPES = ['deb', 'apk', 'rpm', 'npm', 'pypi', 'maven', 'golang', 'gem', 'cargo', 'nuget', 'composer', 'conda', 'generic', 'oci', 'swift', 'pub', 'conan', 'github', 'hex'];
const KEYS = ['arch', 'distro', 'epoch', 'repository_url', 'Arch', '1x', 'a.b', 'a b', 'upstream'];

describe('makePurl', () => {
  it('writes what packageurl-js writes for the purls catalogers make', () => {
    const cases: [string, string | undefined, string, string, Record<string, string | undefined>][] = [
      ['deb', 'debian', 'libstdc++6', '12.2.0-14+deb12u1', { arch: 'amd64', distro: 'debian-12.5', epoch: undefined }],
      ['deb', 'ubuntu', 'Libc6', '1:2.35-0ubuntu3.8', { arch: 'amd64', distro: 'ubuntu-22.04', epoch: '1' }],
      ['apk', 'alpine', 'musl', '1.2.4-r2', { arch: 'x86_64', distro: '3.19.1' }],
      ['rpm', 'Redhat', 'OpenSSL-libs', '3.0.7-25.el9_3', { arch: 'x86_64', epoch: '1', distro: 'redhat-9.3' }],
      ['npm', '@Types', 'Node', '20.1.0', {}],
      ['pypi', undefined, 'Typing_Extensions', '4.9.0', {}],
      ['maven', 'org.apache.commons', 'commons-lang3', '3.12.0', {}],
      ['maven', undefined, 'no-group', '1.0', {}],
      ['golang', 'github.com/spf13', 'cobra', 'v1.8.0', {}],
      ['golang', 'github.com/spf13', 'cobra', '1.8.0', {}],
      ['oci', undefined, 'Alpine', 'sha256:abc', { arch: 'amd64', repository_url: 'index.docker.io/library/alpine' }],
      ['generic', undefined, 'thing', '', { a: ' x y ', b: '  ' }],
    ];
    for (const c of cases) assert.deepEqual(ours(...c), reference(...c), JSON.stringify(c));
  });

  it('agrees with packageurl-js on 20,000 generated calls (result, or that it throws)', () => {
    for (let i = 0; i < 20_000; i++) {
      const q: Record<string, string | undefined> = {};
      for (let k = rnd(4); k > 0; k--) q[KEYS[rnd(KEYS.length)] ?? 'arch'] = rnd(5) === 0 ? undefined : str(6);
      const args: [string, string | undefined, string, string, Record<string, string | undefined>] = [
        TYPES[rnd(TYPES.length)] ?? 'deb',
        rnd(3) === 0 ? undefined : str(6),
        str(8),
        rnd(2) === 0 ? `v${str(4)}` : str(8),
        q,
      ];
      const want = reference(...args);
      const got = ours(...args);
      if (want instanceof Error) assert.ok(got instanceof Error, `${JSON.stringify(args)}: packageurl-js throws ${want.message}, we wrote ${String(got)}`);
      else assert.equal(got, want, JSON.stringify(args));
    }
  });
});

describe('isValidPurl', () => {
  it('answers as PackageURL.fromString does, for canonical, odd and broken purls', () => {
    const samples = [
      'pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12',
      'pkg:npm/%40types/node@20.1.0',
      'pkg:maven/org.apache/commons@1.0',
      'pkg:maven/nogroup@1.0',
      'pkg:golang/github.com/a/b@v1.2.3',
      'pkg:golang/github.com/a/b@vX',
      'pkg:deb/debian/libc6@2.36%ZZ',
      'pkg:deb/debian/LIBC6@1',
      'pkg:oci/alpine@sha256:abc?arch=amd64&repository_url=index.docker.io%2Flibrary%2Falpine',
      'pkg:pypi/Foo_Bar@1',
      'not a purl',
      'pkg:/x',
      'pkg:1abc/x@1',
      'pkg:generic/x?=1',
      'pkg:deb/debian/x@1?1a=b',
    ];
    for (const s of samples) assert.equal(isValidPurl(s), validByReference(s), s);
  });

  it('agrees with packageurl-js on what makePurl writes with packageurl-js on generated strings', () => {
    for (let i = 0; i < 5_000; i++) {
      const args: [string, string | undefined, string, string, Record<string, string | undefined>] = [TYPES[rnd(TYPES.length)] ?? 'deb', rnd(3) === 0 ? undefined : str(5), str(6), str(6), { arch: str(4), distro: str(4) }];
      const p = ours(...args);
      if (typeof p === 'string') assert.equal(isValidPurl(p), validByReference(p), p);
      const mangled = typeof p === 'string' ? p.slice(0, rnd(p.length + 1)) + str(2) : `pkg:${str(10)}`;
      assert.equal(isValidPurl(mangled), validByReference(mangled), mangled);
    }
  });
});
