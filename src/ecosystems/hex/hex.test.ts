import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFs, type FsFile } from '../../domain/index.ts';
import { trivyBinary } from '../../../test/helpers/trivy.ts';
import { ourRows, trivyFsPackages } from '../../../test/helpers/trivy-fs.ts';
import { hexCataloger, hexPurl, parseMixLock } from './index.ts';

const file = (path: string, text: string): FsFile => ({ path, content: Buffer.from(text), mode: 0o100644, size: text.length });

const LOCK = `%{
  "castore": {:hex, :castore, "0.1.18", "deb5b9ab02400561b6f5708f3e7660fc35ca2d51bfc6a940d2f513f89c2975fc", [:mix], [], "hexpm", "61bbaf6452b782ef80b33cdb45701afbcf0a918a45ebe7e73f1130d661e66a06"},
  "phoenix_live_view": {:git, "https://example.invalid/phoenix_live_view.git", "ab9ff6a2541fd3c3b5e3ce10e0e1b6e4f0adcf0f", []},
  "local": {:path, "../local", []},
  "renamed": {:hex, :actual_name, "2.0.0", "aa", [:mix], [], "hexpm", "bb"},
  "castore": {:hex, :castore, "0.1.18", "deb5b9ab02400561b6f5708f3e7660fc35ca2d51bfc6a940d2f513f89c2975fc", [:mix], [], "hexpm", "61bbaf6452b782ef80b33cdb45701afbcf0a918a45ebe7e73f1130d661e66a06"},
  "jason": {:hex, :jason, "1.4.0", "e855647bc964a44e2f67df589ccf49105ae039d4179db7f6271dfd3843dc27e6", [:mix], [{:decimal, "~> 1.0 or ~> 2.0", [hex: :decimal, repo: "hexpm", optional: true]}], "hexpm", "79a3791085b2a0f743ca04cec0f7be26443738779d09302e01318f97bdb82121"},
}
`;

describe('hex (mix.lock)', () => {
  it('hex tuples by map key with the tuple version; git and path dependencies skipped; duplicates once', () => {
    assert.deepEqual(parseMixLock(LOCK), [
      { name: 'castore', version: '0.1.18' },
      { name: 'renamed', version: '2.0.0' },
      { name: 'jason', version: '1.4.0' },
    ]);
    assert.deepEqual(parseMixLock('%{\r\n  "plug": {:hex, :plug, "1.14.0", "a", [:mix], [], "hexpm", "b"},\r\n}\r\n'), [{ name: 'plug', version: '1.14.0' }]);
  });
  it('packages with the lock file as Target, purls, nothing in an image; junk gives nothing, never a crash', async () => {
    const fs = new MemoryFs([file('svc/mix.lock', LOCK), file('junk/mix.lock', '\u0000\u0001:\n"x":\n:::: , , ,\n')]);
    const ctx = { notes: [] as string[], artifactType: 'filesystem' as const };
    const pkgs = await hexCataloger.catalog(fs, ctx);
    assert.deepEqual(ctx.notes, []);
    assert.deepEqual(pkgs[0], { type: 'hex', name: 'castore', version: '0.1.18', purl: 'pkg:hex/castore@0.1.18', locations: [{ path: 'svc/mix.lock' }], filePath: 'svc/mix.lock' });
    assert.equal(pkgs.length, 3);
    assert.equal(hexPurl('phoenix', '1.6.13'), 'pkg:hex/phoenix@1.6.13');
    assert.deepEqual(await hexCataloger.catalog(fs, { notes: [], artifactType: 'container_image' }), []);
    assert.equal(hexCataloger.wants({ path: 'mix.lock', size: 1, mode: 0o100644 }), true);
    assert.equal(hexCataloger.wants({ path: 'a/remix.lock', size: 1, mode: 0o100644 }), false);
  });
  it('the same packages and IDs as Trivy 0.44.1 fs --list-all-pkgs', async (t) => {
    const trivy = trivyBinary();
    if (!trivy) return t.skip('Trivy binary absent (PORTCULLIS_TEST_TRIVY)');
    const files = { 'svc/mix.lock': LOCK, 'mix.lock': '%{\n  "phoenix": {:hex, :phoenix, "1.6.13", "a", [:mix], [{:plug, "~> 1.10", [hex: :plug, repo: "hexpm", optional: false]}], "hexpm", "b"},\n}\n' };
    const pkgs = await hexCataloger.catalog(new MemoryFs(Object.entries(files).map(([p, text]) => file(p, text))), { notes: [], artifactType: 'filesystem' });
    assert.deepEqual(ourRows(pkgs), trivyFsPackages(trivy, files));
  });
});
