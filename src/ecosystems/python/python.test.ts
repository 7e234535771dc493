import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFs, type FsFile } from '../../domain/index.ts';
import { splitLicenseField } from './licenses.ts';
import { condenseMetadata, parseMetadata } from './metadata.ts';
import { langMode } from './mode.ts';
import { pythonCataloger } from './index.ts';
import { parsePipfileLock } from './pipenv.ts';
import { parsePoetryLock, pep503, pyprojectDirectDeps } from './poetry.ts';
import { decodeRequirements, parseRequirements } from './requirements.ts';
import { condenseDpkgList, systemFiles } from './system-files.ts';
import { parseToml, TomlError } from './toml.ts';
import { withoutAliases } from './aliases.ts';

const file = (path: string, text: string | Buffer, mode = 0o100644): FsFile => {
  const content = typeof text === 'string' ? Buffer.from(text) : text;
  return { path, content, mode, size: content.length };
};

describe('python core metadata', () => {
  it('reads name, version and folds continuation lines; the description after the blank line is ignored', () => {
    const m = parseMetadata('Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nLicense: BSD 3-Clause\n  License\nSummary: x\n\nName: not-me\n');
    assert.deepEqual(m, { name: 'foo', version: '1.0', licenses: ['BSD 3-Clause License'] });
  });
  it('keys are case-insensitive; CRLF and a BOM are fine', () => {
    assert.equal(parseMetadata('\ufeffname: Foo\r\nVERSION: 2\r\n')?.version, '2');
  });
  it('stops at the first malformed line, as Go textproto does', () => {
    assert.equal(parseMetadata('Metadata-Version: 2.1\nthis is not a header\nName: foo\nVersion: 1\n'), undefined);
    assert.equal(parseMetadata('Name: foo\nVersion: 1\nbroken line\nLicense: MIT\n')?.licenses.length, 0);
  });
  it('skips files without Name or Version', () => {
    assert.equal(parseMetadata('Name: foo\n'), undefined);
    assert.equal(parseMetadata(''), undefined);
    assert.equal(parseMetadata('\x00\x01\x02 binary junk'), undefined);
  });
  it('license: License-Expression, then classifiers (OSI Approved alone skipped), then License, then License-File', () => {
    assert.deepEqual(parseMetadata('Name: a\nVersion: 1\nLicense: GPL\nLicense-Expression: MIT OR Apache-2.0\n')?.licenses, ['MIT OR Apache-2.0']);
    assert.deepEqual(
      parseMetadata('Name: a\nVersion: 1\nLicense: see file\nClassifier: License :: OSI Approved\nClassifier: License :: OSI Approved :: MIT License\nClassifier: License :: OSI Approved :: Apache Software License\n')?.licenses,
      ['MIT License', 'Apache Software License'],
    );
    assert.deepEqual(parseMetadata('Name: a\nVersion: 1\nLicense: BSD\n')?.licenses, ['BSD']);
    assert.deepEqual(parseMetadata('Name: a\nVersion: 1\nLicense-File: LICENSE, v2.txt\n')?.licenses, ['file://LICENSE, v2.txt']);
  });
  it('condenses to the header block', () => {
    const c = condenseMetadata(Buffer.from(`Name: a\nVersion: 1\n\n${'long description '.repeat(1000)}`));
    assert.equal(c.toString(), 'Name: a\nVersion: 1\n');
  });
});

describe('license splitting (Trivy SplitLicenses)', () => {
  it('splits on commas, or, and; keeps version suffixes and PyPI names with or/and', () => {
    assert.deepEqual(splitLicenseField('GPL-1+ or Artistic, and BSD-4-clause-POWERDOG'), ['GPL-1+', 'Artistic', 'BSD-4-clause-POWERDOG']);
    assert.deepEqual(splitLicenseField('BSD 3-Clause License or Apache License, Version 2.0'), ['BSD 3-Clause License', 'Apache License, Version 2.0']);
    assert.deepEqual(splitLicenseField('GNU Lesser General Public License v2 or later (LGPLv2+)'), ['GNU Lesser General Public License v2 or later (LGPLv2+)']);
    assert.deepEqual(splitLicenseField('GNU Library or Lesser General Public License (LGPL)'), ['GNU Library or Lesser General Public License (LGPL)']);
    assert.deepEqual(splitLicenseField('LGPLv3+_or_GPLv2+'), ['LGPLv3+', 'GPLv2+']);
    assert.deepEqual(splitLicenseField(''), []);
  });
});

describe('requirements.txt', () => {
  it('keeps == pins only, drops extras, markers, hashes, comments and options', () => {
    const text = [
      'click==8.0.0',
      'Flask == 2.0.0  # web',
      'requests[socks,security]==2.31.0 ; python_version > "3.7"',
      'urllib3==2.0.7 \\',
      '    --hash=sha256:abc',
      'MarkupSafe>2.0.0',
      'numpy>=1.0,<2',
      '-r other.txt',
      '--index-url https://example.invalid/simple',
      'git+https://example.invalid/x.git#egg=x',
      'weird===1.0',
      '',
    ].join('\n');
    assert.deepEqual(parseRequirements(text).map((p) => `${p.name}@${p.version}`), ['click@8.0.0', 'Flask@2.0.0', 'requests@2.31.0', 'urllib3@2.0.7', 'weird@1.0']);
  });
  it('decodes UTF-16 files with a byte-order mark', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('six==1.16.0\n', 'utf16le')]);
    assert.equal(decodeRequirements(le), 'six==1.16.0\n');
    assert.equal(decodeRequirements(Buffer.from('\ufeffsix==1\n')), 'six==1\n');
  });
});

describe('toml subset', () => {
  it('reads tables, arrays of tables, strings, arrays and inline tables', () => {
    const doc = parseToml(`# c\n[[package]]\nname = "a"\nversion = '1'\nfiles = [\n  {file = "a.whl", hash = "sha256:x"}, # c\n]\n\n[package.dependencies]\nb = {version = ">=1", markers = "x == \\"y\\""}\n"c.d" = "*"\n\n[[package]]\nname = """multi\nline"""\n[metadata]\nlock-version = "2.0"\n`);
    assert.deepEqual(doc, {
      package: [
        { name: 'a', version: '1', files: [{ file: 'a.whl', hash: 'sha256:x' }], dependencies: { b: { version: '>=1', markers: 'x == "y"' }, 'c.d': '*' } },
        { name: 'multi\nline' },
      ],
      metadata: { 'lock-version': '2.0' },
    });
  });
  it('throws TomlError with a line number on garbage, never hangs', () => {
    assert.throws(() => parseToml('[[package]\nname = "a"\n'), TomlError);
    assert.throws(() => parseToml('name = "unterminated\n'), /line 1/);
    assert.throws(() => parseToml(`a = ${'['.repeat(100)}`), TomlError);
  });
});

describe('poetry, pipenv', () => {
  it('poetry.lock: dev by category or groups; pyproject direct dependencies', () => {
    const lock = '[[package]]\nname = "a"\nversion = "1"\ncategory = "main"\n[[package]]\nname = "b"\nversion = "2"\ncategory = "dev"\n[[package]]\nname = "c"\nversion = "3"\ngroups = ["test"]\n';
    assert.deepEqual(parsePoetryLock(lock).map((p) => [p.name, p.dev]), [['a', false], ['b', true], ['c', true]]);
    assert.deepEqual([...(pyprojectDirectDeps('[tool.poetry.dependencies]\npython = "^3.9"\nWerkzeug = "*"\n[project]\ndependencies = ["Flask_Login>=1"]\n') ?? [])], ['werkzeug', 'flask-login']);
    assert.equal(pep503('Zope.Interface__x'), 'zope-interface-x');
  });
  it('Pipfile.lock: default and develop; VCS entries skipped; not JSON throws', () => {
    const text = JSON.stringify({ default: { six: { version: '==1.16.0' }, x: { git: 'https://example.invalid' } }, develop: { pytest: { version: '==7.0.0' } } });
    assert.deepEqual(parsePipfileLock(text), [{ name: 'six', version: '1.16.0', dev: false }, { name: 'pytest', version: '7.0.0', dev: true }]);
    assert.throws(() => parsePipfileLock('{'), /not JSON/);
  });
});

describe('OS-owned files', () => {
  it('condenses dpkg .list files to the lines a language cataloger can ask about', () => {
    const list = ['/.', '/usr', '/usr/lib/python3/dist-packages/yaml', '/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA', '/usr/lib/python3/dist-packages/yaml/__init__.py', '/usr/share/doc/python3-yaml/copyright', '/usr/bin/tool'].join('\n');
    const kept = condenseDpkgList(Buffer.from(list)).toString().split('\n');
    assert.ok(kept.includes('/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA'));
    assert.ok(kept.includes('/usr/bin/tool'));
    assert.ok(!kept.includes('/usr/lib/python3/dist-packages/yaml/__init__.py'));
  });
  it('dpkg and apk ownership, usr-merge aliases both ways, Trivy\'s python2.7 defaults', () => {
    const fs = new MemoryFs([
      file('var/lib/dpkg/info/a.list', '/bin/tool\n/usr/lib/python3/dist-packages/x-1.dist-info/METADATA\n'),
      file('lib/apk/db/installed', 'P:py3-six\nV:1\nF:usr/lib/python3.11/site-packages/six-1.16.0.dist-info\nR:METADATA\n\n'),
    ]);
    const s = systemFiles(fs);
    assert.ok(s.owns('usr/bin/tool'));
    assert.ok(s.owns('bin/tool'));
    assert.ok(s.owns('usr/lib/python3/dist-packages/x-1.dist-info/METADATA'));
    assert.ok(s.owns('usr/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA'));
    assert.ok(s.owns('usr/lib/python2.7/wsgiref.egg-info'));
    assert.ok(!s.owns('opt/venv/lib/python3.11/site-packages/x-1.dist-info/METADATA'));
  });
  it('aliases (one content buffer, several paths) count once, at the real path', () => {
    const real = file('usr/bin/x', 'a');
    const alias = { ...real, path: 'bin/x' };
    const pnpm = file('node_modules/.pnpm/j@1/node_modules/j/package.json', '{}');
    const link = { ...pnpm, path: 'node_modules/j/package.json' };
    assert.deepEqual(withoutAliases([alias, real, link, pnpm, file('bin/y', 'a')]).map((f) => f.path), ['usr/bin/x', 'node_modules/.pnpm/j@1/node_modules/j/package.json', 'bin/y']);
  });
});

describe('python cataloger', () => {
  it('image or project: container images and rootfs with an OS are images', () => {
    assert.equal(langMode({ artifactType: 'container_image' }), 'image');
    assert.equal(langMode({ artifactType: 'rootfs', os: { family: 'debian', version: '12' } }), 'image');
    assert.equal(langMode({ artifactType: 'rootfs' }), 'project');
    assert.equal(langMode({}), 'project');
  });
  it('lock files only in projects; a broken lock is a note, not a crash', async () => {
    const files = [
      file('app/requirements.txt', 'six==1.16.0\n'),
      file('app/poetry.lock', '[[package]\n'),
      file('site/a-1.dist-info/METADATA', 'Name: a\nVersion: 1\n'),
    ];
    const ctx = { notes: [] as string[] };
    const pkgs = await pythonCataloger.catalog(new MemoryFs(files), ctx);
    assert.deepEqual(pkgs.map((p) => `${p.type}:${p.name}@${p.version}:${p.filePath}`).sort(), ['pip:six@1.16.0:app/requirements.txt', 'python-pkg:a@1:site/a-1.dist-info/METADATA']);
    assert.match(ctx.notes.join('\n'), /python: \/app\/poetry\.lock could not be read \(line 1/);
    const image = await pythonCataloger.catalog(new MemoryFs(files), { notes: [], os: { family: 'debian', version: '12' } });
    assert.deepEqual(image.map((p) => p.type), ['python-pkg']);
  });
  it('purls use the PEP 503 name', async () => {
    const pkgs = await pythonCataloger.catalog(new MemoryFs([file('x/Zope.Interface-5.dist-info/METADATA', 'Name: zope.interface\nVersion: 5.4.0\n')]), { notes: [] });
    assert.equal(pkgs[0]?.purl, 'pkg:pypi/zope-interface@5.4.0');
    assert.equal(pkgs[0]?.name, 'zope.interface');
  });
});

describe('rpm-owned files', () => {
  it('header file lists: BASENAMES + DIRNAMES via DIRINDEXES, vendor packages only, malformed blobs give none', async () => {
    const { headerFiles } = await import('./rpm-files.ts');
    // a header blob: il, dl, index entries (tag, type, offset, count), data
    const blob = (vendor: string): Buffer => {
      const strs = (a: string[]): Buffer => Buffer.from(`${a.join('\0')}\0`);
      const dirs = strs(['/usr/lib/python3.9/site-packages/x-1.dist-info/', '/usr/bin/']);
      const bases = strs(['METADATA', 'tool']);
      const idx = Buffer.alloc(8);
      idx.writeInt32BE(0, 0);
      idx.writeInt32BE(1, 4);
      const ven = strs([vendor]);
      const parts: [number, number, Buffer, number][] = [[1116, 4, idx, 2], [1117, 8, bases, 2], [1118, 8, dirs, 2], [1011, 6, ven, 1]];
      const index = Buffer.alloc(parts.length * 16);
      const data: Buffer[] = [];
      let off = 0;
      parts.forEach(([tag, type, buf, count], i) => {
        index.writeInt32BE(tag, i * 16);
        index.writeUInt32BE(type, i * 16 + 4);
        index.writeInt32BE(off, i * 16 + 8);
        index.writeUInt32BE(count, i * 16 + 12);
        data.push(buf);
        off += buf.length;
      });
      const head = Buffer.alloc(8);
      head.writeInt32BE(parts.length, 0);
      head.writeInt32BE(off, 4);
      return Buffer.concat([head, index, ...data]);
    };
    assert.deepEqual(headerFiles(blob('Red Hat, Inc.')), ['usr/lib/python3.9/site-packages/x-1.dist-info/METADATA', 'usr/bin/tool']);
    assert.deepEqual(headerFiles(blob('Example Corp')), []);
    const good = blob('CentOS');
    for (let n = 0; n < good.length; n += 3) assert.ok(Array.isArray(headerFiles(good.subarray(0, n))));
  });
});
