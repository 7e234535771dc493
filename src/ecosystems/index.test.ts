import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFs } from '../domain/index.ts';
import type { Cataloger } from './types.ts';
import { catalogFs, catalogers, fileSelector, osDetectors } from './index.ts';

const h = (path: string, size = 100) => ({ path, size, mode: 0o100644 });
const file = (path: string, text: string) => ({ path, content: Buffer.from(text), mode: 0o100644, size: text.length });

describe('fileSelector', () => {
  const sel = fileSelector();
  it('wants the OS databases and release files', () => {
    for (const p of [
      'lib/apk/db/installed',
      'var/lib/dpkg/status',
      'var/lib/dpkg/status.d/libc6',
      'var/lib/dpkg/status.d/libssl1.1',
      'var/lib/rpm/Packages',
      'var/lib/rpm/rpmdb.sqlite',
      'usr/lib/sysimage/rpm/Packages.db',
      'usr/lib/sysimage/rpm/rpmdb.sqlite',
      'var/lib/rpmmanifest/container-manifest-2',
      'etc/os-release',
      'usr/lib/os-release',
      'etc/alpine-release',
      'etc/debian_version',
      'etc/lsb-release',
      'etc/redhat-release',
      'etc/centos-release',
      'etc/rocky-release',
      'etc/almalinux-release',
      'etc/fedora-release',
      'etc/oracle-release',
      'etc/system-release',
    ]) {
      assert.ok(sel.wants(h(p)), p);
    }
  });
  it('skips everything else, including dpkg info files in status.d', () => {
    for (const p of [
      'var/lib/dpkg/status.d/libc6.md5sums',
      'var/lib/dpkg/status.d/foo.conffiles',
      'var/lib/dpkg/status-old',
      'var/lib/dpkg/info/libc6.md5sums',
      'usr/bin/bash',
      'etc/os-release.bak',
      'app/etc/os-release',
      'var/lib/rpm/Name',
    ]) {
      assert.equal(sel.wants(h(p)), false, p);
    }
  });
  it('has a cache key naming every cataloger version and detector', () => {
    for (const c of catalogers) assert.ok(sel.key.includes(`${c.id}@${c.version}`));
    for (const d of osDetectors) assert.ok(sel.key.includes(`os:${d.id}`));
    const bumped = fileSelector(catalogers.map((c) => (c.id === 'dpkg' ? { ...c, version: c.version + 1 } : c)));
    assert.notEqual(bumped.key, sel.key);
  });
  it('caps release files small and databases large', () => {
    assert.ok(sel.maxFileSize('etc/os-release') <= 64 * 1024);
    assert.ok(sel.maxFileSize('var/lib/rpm/Packages') >= 256 * 1024 * 1024);
  });
});

describe('catalogFs', () => {
  it('passes the detected OS to catalogers (purl distro qualifier)', async () => {
    const fs = new MemoryFs([
      file('etc/alpine-release', '3.19.1\n'),
      file('lib/apk/db/installed', 'P:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nL:MIT\no:musl\n\n'),
    ]);
    const res = await catalogFs(fs);
    assert.deepEqual(res.os, { family: 'alpine', version: '3.19.1' });
    assert.equal(res.packages[0]?.purl, 'pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=3.19.1');
    assert.equal(res.complete, true);
  });

  it('a cataloger that throws becomes a note and marks the result incomplete; others still run', async () => {
    const broken: Cataloger = { id: 'broken', version: 1, kind: 'os', types: ['deb'], wants: () => false, catalog: () => { throw new Error('boom'); } };
    const fs = new MemoryFs([file('var/lib/dpkg/status', 'Package: a\nStatus: install ok installed\nVersion: 1\n\n')]);
    const res = await catalogFs(fs, { catalogers: [broken, ...catalogers] });
    assert.equal(res.complete, false);
    assert.equal(res.packages.length, 1);
    assert.match(res.notes.join('\n'), /^broken: boom; its packages are missing from this result/m);
  });

  it('OS packages without a release file say so', async () => {
    const fs = new MemoryFs([file('var/lib/dpkg/status', 'Package: a\nStatus: install ok installed\nVersion: 1\n\n')]);
    const res = await catalogFs(fs);
    assert.equal(res.os, undefined);
    assert.match(res.notes.join('\n'), /no OS release file/);
  });
});
