/**
 * sbom-input reads most package URLs without packageurl-js (`simplePurl`); these tests hold it to
 * packageurl-js's answer — the same type, namespace, name, version, qualifiers and subpath, or the
 * same refusal — on every purl in the shared test data, on hand-picked tricky ones and on generated ones.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PackageURL } from 'packageurl-js';
import { TESTDATA } from '../../test/helpers/paths.ts';
import { simplePurl, type Purl } from './sbom-input.ts';

type Fields = [string, string | undefined, string, string | undefined, [string, string][] | undefined, string | undefined] | 'invalid';

const fields = (p: Purl): Fields => [p.type, p.namespace, p.name, p.version, p.qualifiers ? Object.entries(p.qualifiers) : undefined, p.subpath];

function reference(s: string): Fields {
  try {
    return fields(PackageURL.fromString(s));
  } catch {
    return 'invalid';
  }
}

/** What sbom-input gets: the fast path's answer, or packageurl-js's where the fast path declines. */
function ours(s: string): { fields: Fields; fast: boolean } {
  const fast = simplePurl(s);
  if (fast === undefined) return { fields: reference(s), fast: false };
  if (fast !== null) assert.equal(Object.getPrototypeOf(fast.qualifiers ?? Object.create(null)), null, `${s}: qualifiers without a prototype`);
  return { fields: fast === null ? 'invalid' : fields(fast), fast: true };
}

function purlsIn(dir: string, out: Set<string>, depth = 0): Set<string> {
  if (depth > 6) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) purlsIn(p, out, depth + 1);
    else if (st.size < 4 << 20 && /\.(json|golden)$/.test(name)) for (const m of readFileSync(p, 'utf8').matchAll(/"(pkg:[^"\\]{1,400})"/g)) out.add(m[1]!);
  }
  return out;
}

describe('simplePurl reads purls exactly as packageurl-js does', () => {
  it('every purl in the shared test data (and most of them on the fast path)', () => {
    const all = [...purlsIn(join(TESTDATA, 'golden-scans'), new Set()), ...purlsIn(join(TESTDATA, 'osv'), new Set()), ...purlsIn(join(TESTDATA, 'trivy-db'), new Set())];
    assert.ok(all.length >= 100, `${all.length} purls`);
    let fast = 0;
    for (const s of all) {
      const r = ours(s);
      assert.deepEqual(r.fields, reference(s), s);
      if (r.fast) fast++;
    }
    assert.ok(fast >= all.length * 0.8, `${fast} of ${all.length} on the fast path`);
  });

  it('hand-picked cases: encodings, case, qualifiers, npm scopes, per-type rules', () => {
    const cases = [
      'pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.4',
      'pkg:deb/debian/libc6@2.36-9+deb12u3?arch=amd64&epoch=1&distro=debian-12',
      'pkg:deb/Debian/OpenSSL@1.0',
      'pkg:rpm/RedHat/OpenSSL@1:1.0.2k-19.el7?arch=x86_64&epoch=1&distro=rhel-7.9',
      'pkg:apk/alpine/musl@1.1.22-r3?arch=x86_64&distro=3.10.2',
      'pkg:npm/%40babel/core@7.0.0',
      'pkg:npm/@babel/core@7.0.0',
      'pkg:npm/@babel/core',
      'pkg:npm/Lodash@4.17.20',
      'pkg:npm/lodash@',
      'pkg:npm/lodash@4.17.20?',
      'pkg:npm/lodash@4.17.20?&&a=1&&',
      'pkg:npm/lodash@4.17.20?A=1&a=2',
      'pkg:npm/lodash@4.17.20?a=&b=2',
      'pkg:npm/lodash@4.17.20?1a=2',
      'pkg:npm/lodash@4.17.20?=2',
      'pkg:npm/lodash@4.17.20?a:b=2',
      'pkg:npm/lodash@4.17.20?a=b=c',
      'pkg:npm/lodash@4.17.20?a=x+y',
      'pkg:npm/lodash@4.17.20?a=x%20y',
      'pkg:npm/lodash@4.17.20?a=%zz',
      'pkg:npm/lodash@4.17.20#sub/path',
      'pkg:npm/lod%ash@1',
      'pkg:npm/lod%41sh@1',
      'pkg:npm/a%2Fb@1',
      'pkg:npm/a%2F%2Fb/c@1',
      'pkg:npm/%20a@1',
      'pkg:npm/a@%201',
      'pkg:npm/a@1%40beta',
      'pkg:pypi/Django_REST@3.0',
      'pkg:pypi/zope.interface@5.4.0',
      'pkg:golang/github.com/Foo/Bar@v1.2.3',
      'pkg:golang/github.com/foo/bar@1.2.3',
      'pkg:golang/github.com/foo/bar@vnot-semver',
      'pkg:maven/org.apache/Log4j@2.14.1',
      'pkg:maven/log4j@2.14.1',
      'pkg:gem/Rails@7.0.0',
      'pkg:cargo/Serde@1.0.0',
      'pkg:nuget/Newtonsoft.Json@13.0.1',
      'pkg:composer/Laravel/Framework@9.0.0',
      'pkg:pub/Foo-bar@1.0.0',
      'pkg:swift/github.com/apple/swift-nio@2.0.0',
      'pkg:conan/zlib@1.2.13',
      'PKG:npm/a@1',
      'pkg:NPM/a@1',
      'pkg://npm/a@1',
      'pkg:npm//a@1',
      'pkg:npm/a/@1',
      'pkg:npm/',
      'pkg:npm',
      'pkg:1npm/a@1',
      'npm/a@1',
      'pkg:npm/a b@1',
      'pkg:npm/é@1',
      "pkg:npm/a!*'()@1",
      'pkg:deb/debian/a@1:2.3~rc1+dfsg-1?arch=all',
    ];
    for (const s of cases) assert.deepEqual(ours(s).fields, reference(s), s);
  });

  it('generated purls from a tricky alphabet', () => {
    let seed = 12345;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
    const alphabet = ['a', 'Z', '0', '9', '.', '-', '_', '~', '+', ':', '@', '/', '%', '%2F', '%40', '%20', '%41', '%zz', '!', '*', "'", '(', ')', ' ', '?', '&', '=', '#', 'é'];
    const seg = (): string => Array.from({ length: 1 + rnd(5) }, () => pick(alphabet)).join('');
    const types = ['deb', 'rpm', 'apk', 'npm', 'pypi', 'golang', 'maven', 'gem', 'cargo', 'nuget', 'composer', 'pub', 'generic', 'Deb'];
    for (let i = 0; i < 5000; i++) {
      let s = `pkg:${pick(types)}/`;
      if (rnd(2)) s += `${seg()}/`;
      s += seg();
      if (rnd(3)) s += `@${seg()}`;
      if (rnd(2)) s += `?${Array.from({ length: 1 + rnd(3) }, () => `${seg()}=${seg()}`).join('&')}`;
      assert.deepEqual(ours(s).fields, reference(s), s);
    }
  });
});
