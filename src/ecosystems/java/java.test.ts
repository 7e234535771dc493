import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { MemoryFs, type FsFile } from '../../domain/index.ts';
import { fileSelector } from '../index.ts';
import { condenseJavaArchive, isJavaArchive, javaCataloger, mavenPurl, readJavaArchive } from './index.ts';
import { readZipEntry, zipEntries, ZipError } from './zip.ts';
import { pom, sampleArchives, zip } from './testdata/jars.ts';

const file = (path: string, content: Buffer): FsFile => ({ path, content, mode: 0o100644, size: content.length });
const rows = (r: { libraries: { name: string; version: string; path: string }[] }): string[] => r.libraries.map((l) => `${l.path} ${l.name}@${l.version}`);

describe('zip reader', () => {
  it('stored, deflated and ZIP64 archives; data prepended before the archive', async () => {
    for (const opts of [{ compress: false }, { compress: true }, { zip64: true }]) {
      const z = await zip([['a/b.txt', Buffer.from('hello')], ['c', Buffer.alloc(3000, 'x')]], opts);
      for (const buf of [z, Buffer.concat([Buffer.from('#!/bin/sh\nexec java -jar "$0"\n'), z])]) {
        const es = zipEntries(buf);
        assert.deepEqual(es.map((e) => [e.name, e.size]), [['a/b.txt', 5], ['c', 3000]]);
        assert.equal(readZipEntry(buf, es[0]!, 100).toString(), 'hello');
      }
    }
  });
  it('an entry that inflates past its limit is refused, whatever its header claims', async () => {
    const z = await zip([['META-INF/maven/g/a/pom.properties', Buffer.alloc(8 << 20, 0x20)]]);
    const [e] = zipEntries(z);
    assert.throws(() => readZipEntry(z, { ...e!, size: 10 }, 1 << 20), /inflates past the 1048576 byte limit/);
    assert.throws(() => readZipEntry(z, e!, 1 << 20), /over the 1048576 byte limit/);
  });
  it('garbage and truncation are ZipErrors', async () => {
    const z = await zip([['x', Buffer.from('y')]]);
    assert.throws(() => zipEntries(Buffer.from('PK')), /too short/);
    assert.throws(() => zipEntries(Buffer.alloc(100)), /no end of central directory/);
    for (let n = 0; n < z.length; n++) {
      try {
        const es = zipEntries(z.subarray(0, n));
        for (const e of es) readZipEntry(z.subarray(0, n), e, 100);
      } catch (err) {
        assert.ok(err instanceof ZipError, `prefix ${n}: ${String(err)}`);
      }
    }
  });
});

describe('java archives', () => {
  it('pom.properties of the archive and of nested archives, at Trivy\'s nested paths', async () => {
    const { war } = await sampleArchives();
    const r = readJavaArchive(war, 'srv/app.war');
    assert.deepEqual(rows(r).sort(), [
      'srv/app.war com.example:app@2.0.0',
      'srv/app.war/WEB-INF/lib/lib-a-1.2.3.jar com.example:lib-a@1.2.3',
      'srv/app.war/WEB-INF/lib/lib-a-1.2.3.jar/lib/deep.jar org.deep:deep@0.1',
      'srv/app.war/WEB-INF/lib/spring-core-5.3.4.jar org.springframework:spring-core@5.3.4',
    ]);
    assert.deepEqual(r.problems, ['srv/app.war/WEB-INF/lib/broken.jar: not a zip archive (too short)']);
  });
  it('condenses to the package list, relative to the archive, and reads it back under any path', async () => {
    const { war } = await sampleArchives();
    const c = condenseJavaArchive('srv/app.war', war);
    assert.ok(c.length < war.length);
    const pkgs = await javaCataloger.catalog(new MemoryFs([file('opt/app.war', c)]), { notes: [] });
    assert.ok(pkgs.some((p) => p.filePath === 'opt/app.war/WEB-INF/lib/lib-a-1.2.3.jar/lib/deep.jar' && p.name === 'org.deep:deep'));
    const ctx = { notes: [] as string[] };
    await javaCataloger.catalog(new MemoryFs([file('opt/app.war', c)]), ctx);
    assert.deepEqual(ctx.notes, ['jar: /opt/app.war/WEB-INF/lib/broken.jar: not a zip archive (too short); packages in that part are missing']);
    const sel = fileSelector();
    assert.equal(sel.condense?.('opt/app.war', war)?.toString('latin1', 0, 17), '\0portcullis-jar/1');
  });
  it('nesting deeper than 8 archives is refused with a note, not followed', async () => {
    let a = await zip([['META-INF/maven/g/bottom/pom.properties', pom('g', 'bottom', '1')]]);
    for (let i = 0; i < 10; i++) a = await zip([[`lib/l${i}.jar`, a], [`META-INF/maven/g/l${i}/pom.properties`, pom('g', `l${i}`, '1')]]);
    const r = readJavaArchive(a, 'x.jar');
    assert.equal(r.libraries.length, 9);
    assert.match(r.problems.join('\n'), /nested more than 8 deep/);
  });
  it('a corrupt archive is a problem, never a throw', () => {
    const r = readJavaArchive(Buffer.from('PK\x03\x04 garbage'), 'a.jar');
    assert.deepEqual(r.libraries, []);
    assert.equal(r.problems.length, 1);
  });
  it('which files are archives; maven purls', () => {
    for (const p of ['a.jar', 'x/y.WAR', 'app.ear', 'm.par']) assert.ok(isJavaArchive(p), p);
    for (const p of ['a.jar.sha1', 'jar', 'x.jar/readme', 'a.zip']) assert.ok(!isJavaArchive(p), p);
    assert.equal(mavenPurl('org.apache.logging.log4j:log4j-core', '2.14.1'), 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1');
  });
});
