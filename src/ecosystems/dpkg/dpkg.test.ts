import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFs } from '../../domain/index.ts';
import { dpkgCataloger, isStatusFile, parseDpkgStatus, parseSource } from './index.ts';

describe('dpkg', () => {
  it('Source: with and without a version', () => {
    assert.deepEqual(parseSource('util-linux (2.31.1-0.4ubuntu3.1)', 'libuuid1', '2.31.1-0.4ubuntu3.2'), ['util-linux', '2.31.1-0.4ubuntu3.1']);
    assert.deepEqual(parseSource('glibc', 'libc6', '2.36-9'), ['glibc', '2.36-9']);
    assert.deepEqual(parseSource(undefined, 'bash', '5.2-1'), ['bash', '5.2-1']);
  });

  it('keeps the epoch in the version and moves it to the purl qualifier', async () => {
    const fs = new MemoryFs([{ path: 'var/lib/dpkg/status', content: Buffer.from('Package: libgcc-s1\nStatus: install ok installed\nArchitecture: amd64\nSource: gcc-12\nVersion: 1:12.2.0-14\n'), mode: 0o100644, size: 1 }]);
    const [p] = await dpkgCataloger.catalog(fs, { os: { family: 'debian', version: '12.5' }, notes: [] });
    assert.ok(p);
    assert.equal(p.version, '1:12.2.0-14');
    assert.deepEqual(p.source, { name: 'gcc-12', version: '1:12.2.0-14' });
    assert.equal(p.purl, 'pkg:deb/debian/libgcc-s1@12.2.0-14?arch=amd64&distro=debian-12.5&epoch=1');
  });

  it('only installed stanzas; continuation lines and CRLF do not confuse fields', () => {
    const text = 'Package: a\r\nStatus: install ok installed\r\nDescription: x\r\n Version: 9\r\nVersion: 1\r\n\r\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2\n\n\n\nPackage: c\nVersion: 3\n';
    const got = parseDpkgStatus(text, false).map((r) => `${r.name}=${r.version}`);
    assert.deepEqual(got, ['a=1']);
    assert.deepEqual(parseDpkgStatus('Package: c\nVersion: 3\n', true).map((r) => r.name), ['c']);
  });

  it('status.d stanza files only', () => {
    assert.ok(isStatusFile('var/lib/dpkg/status.d/libssl3'));
    assert.ok(isStatusFile('var/lib/dpkg/status.d/libssl1.1'));
    assert.equal(isStatusFile('var/lib/dpkg/status.d/libssl3.md5sums'), false);
    assert.equal(isStatusFile('var/lib/dpkg/status.d/sub/x'), false);
  });
});

describe('dpkg licenses from usr/share/doc/<pkg>/copyright', () => {
  const dep5 = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Files: *',
    'License: GPL-2+',
    '',
    'Files: lib/*',
    'License: LGPL-2.1+ or BSD-3-clause, MIT',
    '',
    'License: The MIT License (MIT)',
    ' Permission is hereby granted …',
    '',
    'On Debian systems, the complete text of the GNU General Public License version 3',
    "can be found in `/usr/share/common-licenses/GPL-3'.",
  ].join('\n');

  it('reads License: fields and common-licenses references as Trivy does', async () => {
    const { parseCopyright } = await import('./copyright.ts');
    assert.deepEqual(parseCopyright(dep5), ['GPL-2.0-or-later', 'LGPL-2.1-or-later', 'BSD-3-Clause', 'MIT', 'The MIT License', 'GPL-3.0-only']);
  });

  it('condenses a copyright file to its names, drops one without any, and the cataloger attaches them', async () => {
    const { condenseCopyright } = await import('./copyright.ts');
    const small = condenseCopyright(Buffer.from(dep5));
    assert.ok(small && small.length < dep5.length);
    assert.equal(condenseCopyright(Buffer.from('Copyright 2020 someone\nAll rights reserved.\n')), undefined);
    const file = (path: string, content: Buffer) => ({ path, content, mode: 0o100644, size: content.length });
    const fs = new MemoryFs([
      file('var/lib/dpkg/status', Buffer.from('Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13-1\nArchitecture: amd64\n')),
      file('usr/share/doc/zlib1g/copyright', small),
    ]);
    const [p] = await dpkgCataloger.catalog(fs, { notes: [] });
    assert.deepEqual(p?.licenses, ['GPL-2.0-or-later', 'LGPL-2.1-or-later', 'BSD-3-Clause', 'MIT', 'The MIT License', 'GPL-3.0-only']);
    assert.ok(dpkgCataloger.wants({ path: 'usr/share/doc/zlib1g/copyright', size: 1, mode: 0o100644 }));
    assert.equal(dpkgCataloger.wants({ path: 'usr/share/doc/ca-certificates/examples/x/debian/copyright', size: 1, mode: 0o100644 }), false);
  });
});
