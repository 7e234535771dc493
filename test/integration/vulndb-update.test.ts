/**
 * `db update` against a real HTTP mirror on 127.0.0.1 (and file:// / directory mirrors): conditional
 * requests and 304s, retries after 500s, a hanging server, truncated and corrupt downloads, a killed
 * process, Ctrl-C: whatever goes wrong, the DB that was there answers exactly as before.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ScannerError, UserError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/log.ts';
import { openOsvStore, osvDbPath } from '../../src/vulndb/index.ts';
import { ecosystemZipUrl, readChecked, updateOsvDb, type UpdateOsvOptions } from '../../src/vulndb/update.ts';
import { MirrorServer, osvFiles, snapshot, startCli, tempDir, writeZip, zipBuffer } from './vulndb-helpers.ts';

const log = silentLogger;
const FAST = { retryBaseMs: 5, timeoutMs: 2000 } as const;

describe('db update from an HTTP mirror', () => {
  const tmp = tempDir();
  const server = new MirrorServer();
  let npmV1: Buffer;
  let npmV2: Buffer;
  let pypi: Buffer;
  before(async () => {
    await server.start();
    pypi = await zipBuffer(osvFiles('PyPI'));
    npmV1 = await zipBuffer(osvFiles('npm').slice(0, 3));
    npmV2 = await zipBuffer(osvFiles('npm'));
  });
  beforeEach(() => {
    server.files.clear();
    server.behaviours.clear();
    server.requests.length = 0;
    server.set('/PyPI/all.zip', pypi);
    server.set('/npm/all.zip', npmV1);
  });
  after(async () => {
    await server.stop();
    tmp.cleanup();
  });
  const opts = (cache: string, extra: Partial<UpdateOsvOptions> = {}): UpdateOsvOptions => ({ cacheDir: cache, logger: log, mirror: server.url, ecosystems: ['PyPI', 'npm'], ...FAST, ...extra });

  it('downloads each ecosystem, then sends conditional requests and skips what did not change', async () => {
    const cache = join(tmp.path, 'cond');
    const r1 = await updateOsvDb(opts(cache));
    assert.equal(r1.swapped, true);
    assert.deepEqual(r1.outcomes.map((o) => [o.name, o.status, o.change?.added]), [['PyPI', 'updated', 53], ['npm', 'updated', 3]]);
    const s = openOsvStore(cache)!;
    const src = s.sources().find((x) => x.id === 'osv:PyPI')!;
    s.close();
    assert.equal(src.url, `${server.url}/PyPI/all.zip`);
    assert.equal(src.etag, server.files.get('/PyPI/all.zip')?.etag);
    assert.equal(src.lastModified, server.files.get('/PyPI/all.zip')?.lastModified);
    assert.equal(src.bytes, pypi.length);
    const ino = statSync(osvDbPath(cache)).ino;
    const before = snapshot(cache);

    server.requests.length = 0;
    const r2 = await updateOsvDb(opts(cache));
    assert.equal(r2.swapped, false);
    assert.deepEqual(r2.outcomes.map((o) => o.status), ['unchanged', 'unchanged']);
    assert.deepEqual(server.requests.map((q) => [q.path, q.status, q.ifNoneMatch !== undefined, q.ifModifiedSince !== undefined]).sort(), [['/PyPI/all.zip', 304, true, true], ['/npm/all.zip', 304, true, true]]);
    assert.equal(statSync(osvDbPath(cache)).ino, ino, 'an unchanged update does not rewrite the DB');
    const checked = readChecked(cache);
    assert.ok(checked.checkedAt && Date.parse(checked.checkedAt) >= Date.parse(src.importedAt), 'but it records that the sources were checked');
    assert.equal(checked.sources['osv:PyPI'], checked.checkedAt);
    assert.equal(snapshot(cache), before);

    server.set('/npm/all.zip', npmV2);
    const r3 = await updateOsvDb(opts(cache));
    assert.equal(r3.swapped, true);
    assert.deepEqual(r3.outcomes.map((o) => [o.name, o.status, o.change?.added ?? 0]), [['PyPI', 'unchanged', 0], ['npm', 'updated', 2]]);
    const s3 = openOsvStore(cache)!;
    try {
      assert.equal(s3.changes().length, 2);
      assert.ok(s3.changes().every((c) => c.change === 'added' && c.source === 'osv:npm'));
      assert.equal(s3.updates(1)[0]?.summary.sources['osv:PyPI']?.status, 'unchanged');
    } finally {
      s3.close();
    }

    server.requests.length = 0;
    await updateOsvDb(opts(cache, { force: true, ecosystems: ['npm'] }));
    assert.equal(server.requests[0]?.ifNoneMatch, undefined, '--force sends no validators');
  });

  it('retries a 500 with backoff and succeeds; gives up after the retries and keeps the old data', async () => {
    const cache = join(tmp.path, 'retry');
    server.plan('/PyPI/all.zip', { kind: 'status', status: 500, times: 2 });
    const r = await updateOsvDb(opts(cache, { retries: 3 }));
    assert.equal(r.failed, 0);
    assert.deepEqual(server.requests.filter((q) => q.path === '/PyPI/all.zip').map((q) => q.status), [500, 500, 200]);
    const before = snapshot(cache);

    server.set('/PyPI/all.zip', await zipBuffer(osvFiles('PyPI').slice(0, 10)));
    server.set('/npm/all.zip', npmV2);
    server.plan('/PyPI/all.zip', { kind: 'status', status: 503, times: 10 });
    server.requests.length = 0;
    const r2 = await updateOsvDb(opts(cache, { retries: 2 }));
    assert.equal(r2.failed, 1);
    const failed = r2.outcomes.find((o) => o.name === 'PyPI')!;
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /HTTP 503 .*gave up after 3 attempts/);
    assert.equal(server.requests.filter((q) => q.path === '/PyPI/all.zip').length, 3);
    assert.equal(r2.outcomes.find((o) => o.name === 'npm')?.status, 'updated');
    const s = openOsvStore(cache)!;
    try {
      assert.equal(s.sources().find((x) => x.id === 'osv:PyPI')?.records, 53, 'PyPI kept its previous data');
      assert.equal(s.updates(1)[0]?.summary.sources['osv:PyPI']?.status, 'failed');
    } finally {
      s.close();
    }
    assert.notEqual(snapshot(cache), before, 'npm did change');
  });

  it('no retry on a 404: the ecosystem is named in the error', async () => {
    const cache = join(tmp.path, 'notfound');
    const r = await updateOsvDb(opts(cache, { ecosystems: ['PyPI', 'Go'] }));
    const go = r.outcomes.find((o) => o.name === 'Go')!;
    assert.equal(go.status, 'failed');
    assert.match(go.error ?? '', /\/Go\/all\.zip: HTTP 404/);
    assert.equal(server.requests.filter((q) => q.path === '/Go/all.zip').length, 1);
    assert.equal(r.outcomes.find((o) => o.name === 'PyPI')?.status, 'updated');
  });

  it('a hanging server, a truncated body, a corrupt zip: the failed ecosystem keeps its data, the DB answers as before', async () => {
    const cache = join(tmp.path, 'broken');
    await updateOsvDb(opts(cache));
    const before = snapshot(cache);
    server.set('/PyPI/all.zip', await zipBuffer(osvFiles('PyPI').slice(0, 5)));
    server.set('/npm/all.zip', npmV2);

    server.plan('/PyPI/all.zip', { kind: 'hang' });
    server.plan('/npm/all.zip', { kind: 'hang' });
    const t0 = Date.now();
    const r1 = await updateOsvDb(opts(cache, { timeoutMs: 300, retries: 0 }));
    assert.ok(Date.now() - t0 < 5000, 'gave up on the hanging server');
    assert.deepEqual(r1.outcomes.map((o) => o.status), ['failed', 'failed']);
    assert.match(r1.outcomes[0]?.error ?? '', /no response from .* within 300 ms/);
    assert.equal(r1.swapped, false);
    assert.equal(snapshot(cache), before);

    server.plan('/PyPI/all.zip', { kind: 'truncate', bytes: 500 });
    server.plan('/npm/all.zip', { kind: 'truncate', bytes: 100, stall: true });
    const r2 = await updateOsvDb(opts(cache, { timeoutMs: 400, retries: 0 }));
    assert.deepEqual(r2.outcomes.map((o) => o.status), ['failed', 'failed']);
    assert.match(r2.outcomes[0]?.error ?? '', /interrupted after|got 500 of/);
    assert.match(r2.outcomes[1]?.error ?? '', /stalled for 400 ms after 100 bytes/);
    assert.equal(snapshot(cache), before);

    server.set('/PyPI/all.zip', Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(2000, 7)]));
    server.set('/npm/all.zip', (await zipBuffer(osvFiles('npm'))).subarray(0, 900));
    const r3 = await updateOsvDb(opts(cache, { retries: 0 }));
    assert.deepEqual(r3.outcomes.map((o) => o.status), ['failed', 'failed']);
    assert.match(r3.outcomes[0]?.error ?? '', /not a usable zip archive/);
    assert.equal(r3.swapped, false);
    assert.equal(snapshot(cache), before);
    assert.deepEqual(readdirSync(join(cache, 'db')).sort(), ['osv.checked.json', 'osv.sqlite'], 'downloads and temp files are cleaned up');
  });

  it('Ctrl-C (abort) mid-download: ABORTED, the DB as before, nothing left behind', async () => {
    const cache = join(tmp.path, 'abort');
    await updateOsvDb(opts(cache));
    const before = snapshot(cache);
    server.set('/PyPI/all.zip', await zipBuffer(osvFiles('PyPI').slice(0, 5)));
    server.plan('/PyPI/all.zip', { kind: 'truncate', bytes: 300, stall: true });
    const ctl = new AbortController();
    server.onPartial = () => ctl.abort(new Error('interrupted'));
    try {
      await assert.rejects(updateOsvDb(opts(cache, { signal: ctl.signal, ecosystems: ['PyPI'] })), (e: unknown) => e instanceof ScannerError && e.code === 'ABORTED' && /left as it was/.test(e.message));
    } finally {
      server.onPartial = undefined;
    }
    assert.equal(snapshot(cache), before);
    assert.deepEqual(readdirSync(join(cache, 'db')).sort(), ['osv.checked.json', 'osv.sqlite']);
  });

  it('a process killed mid-download leaves the old DB answering exactly as before; the next update cleans up', async () => {
    const cache = join(tmp.path, 'killed');
    await updateOsvDb(opts(cache));
    const before = snapshot(cache);
    server.set('/PyPI/all.zip', await zipBuffer(osvFiles('PyPI').slice(0, 5)));
    server.plan('/PyPI/all.zip', { kind: 'truncate', bytes: 1000, stall: true });
    const partial = new Promise<void>((resolve) => (server.onPartial = resolve));
    const run = startCli(['--cache-dir', cache, 'db', 'update', '--mirror', server.url, '--ecosystem', 'PyPI']);
    await partial;
    await new Promise((r) => setTimeout(r, 100));
    run.child.kill('SIGKILL');
    const res = await run.done;
    server.onPartial = undefined;
    assert.equal(res.signal, 'SIGKILL');
    assert.equal(snapshot(cache), before);
    const leftovers = readdirSync(join(cache, 'db')).filter((n) => n !== 'osv.sqlite' && n !== 'osv.checked.json');
    assert.ok(leftovers.length > 0, 'the killed process left its partial download (and lock)');
    const r = await updateOsvDb(opts(cache, { ecosystems: ['PyPI'] }));
    assert.equal(r.outcomes[0]?.status, 'updated');
    assert.deepEqual(readdirSync(join(cache, 'db')).sort(), ['osv.checked.json', 'osv.sqlite'], 'stale download and lock of the dead process removed');
  });

  it('NVD feeds over HTTP (--nvd), conditional on the second run', async () => {
    const cache = join(tmp.path, 'nvd');
    const feed = { format: 'NVD_CVE', version: '2.0', vulnerabilities: [{ cve: { id: 'CVE-2022-40897', lastModified: '2024-06-01T00:00:00.000', metrics: { cvssMetricV31: [{ type: 'Primary', cvssData: { vectorString: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H', baseScore: 5.9, baseSeverity: 'MEDIUM' } }] } } }] };
    server.set('/nvd/nvdcve-2.0-2022.json.gz', gzipSync(JSON.stringify(feed)));
    const url = `${server.url}/nvd/nvdcve-2.0-2022.json.gz`;
    const r = await updateOsvDb(opts(cache, { ecosystems: ['PyPI'], nvd: [url] }));
    assert.deepEqual(r.outcomes.map((o) => [o.sourceId, o.status]), [['osv:PyPI', 'updated'], [`nvd:${url}`, 'updated']]);
    const s = openOsvStore(cache)!;
    assert.equal(s.cveSeverity('CVE-2022-40897')?.severity, 'MEDIUM');
    s.close();
    const r2 = await updateOsvDb(opts(cache, { ecosystems: ['PyPI'], nvd: [url] }));
    assert.deepEqual(r2.outcomes.map((o) => o.status), ['unchanged', 'unchanged']);
  });

  it('the default ecosystem list: an ecosystem the mirror does not publish is skipped, not an error', async () => {
    const cache = join(tmp.path, 'defaults');
    const r = await updateOsvDb({ cacheDir: cache, logger: log, mirror: server.url, ...FAST });
    assert.equal(r.failed, 0);
    assert.deepEqual(r.outcomes.filter((o) => o.status === 'updated').map((o) => o.name).sort(), ['PyPI', 'npm']);
    assert.ok(r.outcomes.filter((o) => o.status === 'skipped').length >= 10);
    assert.ok(r.outcomes.some((o) => o.name === 'Debian' && o.status === 'skipped'));
  });

  it('a second update while one runs is refused at once (one writer at a time)', async () => {
    const cache = join(tmp.path, 'twice');
    server.plan('/PyPI/all.zip', { kind: 'hang' });
    const first = updateOsvDb(opts(cache, { ecosystems: ['PyPI'], timeoutMs: 800, retries: 0 }));
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(updateOsvDb(opts(cache, { ecosystems: ['npm'] })), (e: unknown) => e instanceof UserError && e.code === 'VULNDB_LOCKED');
    const r = await first;
    assert.equal(r.outcomes[0]?.status, 'failed');
    const again = await updateOsvDb(opts(cache, { ecosystems: ['npm'] }));
    assert.equal(again.outcomes[0]?.status, 'updated', 'the lock was released');
  });

  it('refuses a download larger than the size cap', async () => {
    const cache = join(tmp.path, 'cap');
    const r = await updateOsvDb(opts(cache, { ecosystems: ['PyPI'], maxDownloadBytes: 1000 }));
    assert.match(r.outcomes[0]?.error ?? '', /bytes \(limit 1000\)/);
    assert.equal(existsSync(osvDbPath(cache)), false);
  });
});

describe('db update from a file:// or directory mirror (air-gapped sites)', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  it('reads <base>/<Ecosystem>/all.zip and skips an unchanged file the next time', async () => {
    const mirror = join(tmp.path, 'mirror');
    for (const e of ['Go', 'Rocky Linux']) mkdirSync(join(mirror, e), { recursive: true });
    await writeZip(join(mirror, 'Go', 'all.zip'), osvFiles('Go'));
    await writeZip(join(mirror, 'Rocky Linux', 'all.zip'), []);
    assert.equal(ecosystemZipUrl('https://m.example/osv/', 'Rocky Linux'), 'https://m.example/osv/Rocky%20Linux/all.zip');
    const cache = join(tmp.path, 'c');
    const r = await updateOsvDb({ cacheDir: cache, logger: log, mirror, ecosystems: ['go', 'rocky'] });
    assert.deepEqual(r.outcomes.map((o) => [o.name, o.status]), [['Go', 'updated'], ['Rocky Linux', 'updated']]);
    assert.equal(r.outcomes[0]?.change?.added, 96);
    const byUrl = await updateOsvDb({ cacheDir: cache, logger: log, mirror: `file://${mirror}`, ecosystems: ['Go'] });
    assert.equal(byUrl.outcomes[0]?.status, 'unchanged');
    writeFileSync(join(mirror, 'Go', 'all.zip'), await zipBuffer(osvFiles('Go').slice(0, 50)));
    const r2 = await updateOsvDb({ cacheDir: cache, logger: log, mirror, ecosystems: ['Go'] });
    assert.equal(r2.outcomes[0]?.change?.removed, 46);
    const missing = await updateOsvDb({ cacheDir: cache, logger: log, mirror, ecosystems: ['Debian'] });
    assert.match(missing.outcomes[0]?.error ?? '', /no such file/);
  });

  it('an unknown ecosystem or mirror scheme is a UserError before anything is fetched', async () => {
    const cache = join(tmp.path, 'u');
    await assert.rejects(updateOsvDb({ cacheDir: cache, logger: log, ecosystems: ['Debian', 'Nopeix'] }), (e: unknown) => e instanceof UserError && /unknown OSV ecosystem "Nopeix"/.test(e.message));
    await assert.rejects(updateOsvDb({ cacheDir: cache, logger: log, ecosystems: ['Debian:12'] }), (e: unknown) => e instanceof UserError && /use "Debian"/.test(e.message));
    await assert.rejects(updateOsvDb({ cacheDir: cache, logger: log, ecosystems: ['npm'], mirror: 'ftp://x/y' }), UserError);
  });
});
