import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFs, type FsFile } from '../../domain/index.ts';
import { trivyBinary } from '../../../test/helpers/trivy.ts';
import { ourRows, trivyFsPackages } from '../../../test/helpers/trivy-fs.ts';
import { cocoapodsCataloger, cocoapodsPurl, parsePodfileLock } from './index.ts';

const file = (path: string, text: string): FsFile => ({ path, content: Buffer.from(text), mode: 0o100644, size: text.length });

const LOCK = `PODS:
  - AppCenter (4.2.0):
    - AppCenter/Analytics (= 4.2.0)
    - AppCenter/Crashes (= 4.2.0)
  - AppCenter/Analytics (4.2.0):
    - AppCenter/Core
  - AppCenter/Core (4.2.0)
  - AppCenter/Crashes (4.2.0):
    - AppCenter/Core
  - KeychainAccess (4.2.1)
  - "Quoted+Name (1.0.0)"
  - NoVersion

DEPENDENCIES:
  - AppCenter (~> 4.0)
  - KeychainAccess

SPEC REPOS:
  trunk:
    - AppCenter
    - KeychainAccess

COCOAPODS: 1.11.3
`;

describe('cocoapods (Podfile.lock)', () => {
  it('PODS entries (subspecs too), not their dependency lines nor DEPENDENCIES; one package per name', () => {
    assert.deepEqual(parsePodfileLock(LOCK), [
      { name: 'AppCenter', version: '4.2.0' },
      { name: 'AppCenter/Analytics', version: '4.2.0' },
      { name: 'AppCenter/Core', version: '4.2.0' },
      { name: 'AppCenter/Crashes', version: '4.2.0' },
      { name: 'KeychainAccess', version: '4.2.1' },
      { name: 'Quoted+Name', version: '1.0.0' },
    ]);
    assert.deepEqual(parsePodfileLock('COCOAPODS: 1.11.3\n'), []);
  });
  it('purls put a subspec in the subpath; packages with the lock file as Target; nothing in an image', async () => {
    assert.equal(cocoapodsPurl('AppCenter/Analytics', '4.2.0'), 'pkg:cocoapods/AppCenter@4.2.0#Analytics');
    assert.equal(cocoapodsPurl('GoogleUtilities/Environment', '7.11.0'), 'pkg:cocoapods/GoogleUtilities@7.11.0#Environment');
    assert.equal(cocoapodsPurl('KeychainAccess', '4.2.1'), 'pkg:cocoapods/KeychainAccess@4.2.1');
    const fs = new MemoryFs([file('ios/Podfile.lock', LOCK)]);
    const pkgs = await cocoapodsCataloger.catalog(fs, { notes: [], artifactType: 'filesystem' });
    assert.equal(pkgs.length, 6);
    assert.deepEqual(pkgs[1], { type: 'cocoapods', name: 'AppCenter/Analytics', version: '4.2.0', purl: 'pkg:cocoapods/AppCenter@4.2.0#Analytics', locations: [{ path: 'ios/Podfile.lock' }], filePath: 'ios/Podfile.lock' });
    assert.deepEqual(await cocoapodsCataloger.catalog(fs, { notes: [], artifactType: 'container_image' }), []);
    assert.equal(cocoapodsCataloger.wants({ path: 'ios/Podfile.lock', size: 1, mode: 0o100644 }), true);
    assert.equal(cocoapodsCataloger.wants({ path: 'ios/podfile.lock', size: 1, mode: 0o100644 }), false);
  });
  it('malformed input is a note naming the file, never a crash', async () => {
    const ctx = { notes: [] as string[], artifactType: 'filesystem' as const };
    const fs = new MemoryFs([file('a/Podfile.lock', 'PODS:\n  - X (1.0):\n      k: v\n'), file('b/Podfile.lock', 'PODS: [\n'), file('c/Podfile.lock', LOCK)]);
    const pkgs = await cocoapodsCataloger.catalog(fs, ctx);
    assert.equal(pkgs.length, 6);
    assert.equal(ctx.notes.length, 2);
    assert.match(ctx.notes[0] as string, /^cocoapods: \/a\/Podfile\.lock could not be read \(PODS: the dependencies of "X \(1\.0\)" are not a list of strings\)/);
    assert.match(ctx.notes[1] as string, /^cocoapods: \/b\/Podfile\.lock could not be read \(/);
  });
  it('the same packages and IDs as Trivy 0.44.1 fs --list-all-pkgs', async (t) => {
    const trivy = trivyBinary();
    if (!trivy) return t.skip('Trivy binary absent (PORTCULLIS_TEST_TRIVY)');
    const files = { 'ios/Podfile.lock': LOCK, 'Podfile.lock': 'PODS:\n  - _NIODataStructures (2.40.0)\n' };
    const pkgs = await cocoapodsCataloger.catalog(new MemoryFs(Object.entries(files).map(([p, text]) => file(p, text))), { notes: [], artifactType: 'filesystem' });
    assert.deepEqual(ourRows(pkgs), trivyFsPackages(trivy, files));
  });
});
