import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFs, type FsFile } from '../../domain/index.ts';
import { trivyBinary } from '../../../test/helpers/trivy.ts';
import { ourRows, trivyFsPackages } from '../../../test/helpers/trivy-fs.ts';
import { conanCataloger, conanPurl, parseConanLock } from './index.ts';

const file = (path: string, text: string): FsFile => ({ path, content: Buffer.from(text), mode: 0o100644, size: text.length });

const LOCK = JSON.stringify({
  graph_lock: {
    nodes: {
      '0': { options: 'x', requires: ['1', '2'], path: 'conanfile.txt' },
      '1': { ref: 'zlib/1.2.12#abc', options: 'shared=False', package_id: 'x', prev: '0', context: 'host' },
      '2': { ref: 'openssl/1.1.1q@user/channel#rev', requires: ['1', '3'] },
      '3': { ref: 'bzip2/1.0.8' },
      '4': { ref: 'noversion' },
    },
    revisions_enabled: false,
  },
  version: '0.4',
}, null, 2);

describe('conan (conan.lock)', () => {
  it('graph_lock nodes with a name/version ref; what the root requires is direct, the rest (a root with a ref too) indirect', () => {
    assert.deepEqual(parseConanLock(LOCK), [
      { name: 'zlib', version: '1.2.12', relationship: 'direct' },
      { name: 'openssl', version: '1.1.1q', relationship: 'direct' },
      { name: 'bzip2', version: '1.0.8', relationship: 'indirect' },
    ]);
    assert.deepEqual(parseConanLock('{"graph_lock":{"nodes":{"0":{"ref":"app/1.0","requires":["1"]},"1":{"ref":"pcre/8.43"}}}}'), [
      { name: 'app', version: '1.0', relationship: 'indirect' },
      { name: 'pcre', version: '8.43', relationship: 'direct' },
    ]);
    // Conan 2: no graph_lock, nothing (as Trivy 0.44)
    assert.deepEqual(parseConanLock('{"version":"0.5","requires":["zlib/1.2.13#rev%1"]}'), []);
  });
  it('packages with the lock file as Target, purls, nothing in an image; malformed JSON is a note', async () => {
    const ctx = { notes: [] as string[], artifactType: 'filesystem' as const };
    const fs = new MemoryFs([file('cpp/conan.lock', LOCK), file('bad/conan.lock', '{"graph_lock": {"nodes": {"1": {"ref": 7}}}}'), file('trunc/conan.lock', '{"graph_lock": ')]);
    const pkgs = await conanCataloger.catalog(fs, ctx);
    assert.equal(pkgs.length, 3);
    assert.deepEqual(pkgs.find((p) => p.name === 'bzip2'), { type: 'conan', name: 'bzip2', version: '1.0.8', purl: 'pkg:conan/bzip2@1.0.8', locations: [{ path: 'cpp/conan.lock' }], filePath: 'cpp/conan.lock', relationship: 'indirect' });
    assert.equal(ctx.notes.length, 2);
    assert.match(ctx.notes[0] as string, /^conan: \/bad\/conan\.lock could not be read \(graph_lock\.nodes\.1\.ref is not a string\)/);
    assert.match(ctx.notes[1] as string, /^conan: \/trunc\/conan\.lock could not be read \(/);
    assert.equal(conanPurl('pcre', '8.43'), 'pkg:conan/pcre@8.43');
    assert.deepEqual(await conanCataloger.catalog(fs, { notes: [], artifactType: 'container_image' }), []);
  });
  it('the same packages, IDs and Indirect as Trivy 0.44.1 fs --list-all-pkgs', async (t) => {
    const trivy = trivyBinary();
    if (!trivy) return t.skip('Trivy binary absent (PORTCULLIS_TEST_TRIVY)');
    const files = { 'cpp/conan.lock': LOCK, 'conan.lock': '{"graph_lock":{"nodes":{"0":{"ref":"app/1.0","requires":["1"]},"1":{"ref":"pcre/8.43"}}}}' };
    const pkgs = await conanCataloger.catalog(new MemoryFs(Object.entries(files).map(([p, text]) => file(p, text))), { notes: [], artifactType: 'filesystem' });
    assert.deepEqual(ourRows(pkgs), trivyFsPackages(trivy, files));
  });
});
