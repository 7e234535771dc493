/**
 * `portcullis db …` as a user runs it (the real CLI in a child process): exit codes, one clear error
 * line, JSON output, the air-gap round trip, and the Trivy DB beside the OSV one.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TESTDATA } from '../helpers/paths.ts';
import { osvDbPath } from '../../src/vulndb/index.ts';
import { MirrorServer, OSV_DIR, osvFiles, runCli, snapshot, startCli, tempDir, writeZip, zipBuffer, type CliRun } from './vulndb-helpers.ts';

/** Exit 1 and exactly one stderr line, `error: …`, no stack trace. */
function oneErrorLine(r: CliRun, re: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

describe('portcullis db (CLI)', () => {
  const tmp = tempDir();
  const server = new MirrorServer();
  before(async () => {
    await server.start();
  });
  after(async () => {
    await server.stop();
    tmp.cleanup();
  });

  it('db status without any DB: exit 1, one line telling what to run', async () => {
    const r = await runCli(['--cache-dir', join(tmp.path, 'empty'), 'db', 'status']);
    oneErrorLine(r, /no advisory database in .*: run `portcullis db update` \(or `portcullis db import PATH` on an air-gapped host\)/);
    assert.equal(r.stdout, '');
  });

  it('db import a directory, then status (table and JSON) shows counts, sources and the malformed records by name', async () => {
    const cache = join(tmp.path, 'c1');
    const imp = await runCli(['--cache-dir', cache, 'db', 'import', OSV_DIR]);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stderr, /\+379 added/);
    const t = await runCli(['--cache-dir', cache, 'db', 'status']);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /advisories {3}379 \(0 withdrawn/);
    assert.match(t.stdout, /malformed records skipped: 2/);
    assert.match(t.stdout, /_schema\/osv-schema\.json: id: missing or not a string/);
    assert.match(t.stdout, /last update {2}#1 .*\+379 added, 0 modified, 0 withdrawn, 0 removed/);
    assert.match(t.stdout, /Trivy DB +not installed/);
    const j = await runCli(['--cache-dir', cache, 'db', 'status', '--format', 'json']);
    assert.equal(j.code, 0, j.stderr);
    const s = JSON.parse(j.stdout) as { osv: { advisories: number; malformed: number; ecosystems: Record<string, number>; sources: { id: string }[]; lastUpdate: { totals: { added: number } } }; trivy?: unknown };
    assert.equal(s.osv.advisories, 379);
    assert.equal(s.osv.malformed, 2);
    assert.equal(s.osv.ecosystems['PyPI'], 53);
    assert.equal(s.osv.lastUpdate.totals.added, 379);
    assert.equal(s.trivy, undefined);
    const ch = await runCli(['--cache-dir', cache, 'db', 'changes']);
    assert.equal(ch.code, 0);
    assert.equal(ch.stdout.trim().split('\n').length, 379);
    const show = await runCli(['--cache-dir', cache, 'db', 'show', 'CVE-2022-40897']);
    assert.equal(show.code, 0);
    assert.equal((JSON.parse(show.stdout) as { id: string }).id, 'PYSEC-2022-43012');
    oneErrorLine(await runCli(['--cache-dir', cache, 'db', 'show', 'CVE-1999-0000']), /no advisory CVE-1999-0000/);
  });

  it('db import of a corrupt zip: exit 1, one line, the DB untouched', async () => {
    const cache = join(tmp.path, 'c2');
    assert.equal((await runCli(['--cache-dir', cache, '-q', 'db', 'import', join(OSV_DIR, 'npm')])).code, 0);
    const before = snapshot(cache);
    const bad = join(tmp.path, 'bad.zip');
    writeFileSync(bad, (await zipBuffer(osvFiles('Go'))).subarray(0, 2000));
    oneErrorLine(await runCli(['--cache-dir', cache, '-q', 'db', 'import', bad]), /bad\.zip is not a usable zip archive/);
    oneErrorLine(await runCli(['--cache-dir', cache, '-q', 'db', 'import', join(tmp.path, 'nope.zip')]), /no such file or directory/);
    assert.equal(snapshot(cache), before);
  });

  it('a corrupt DB: db status says so and what to run', async () => {
    const cache = join(tmp.path, 'c3');
    mkdirSync(join(cache, 'db'), { recursive: true });
    writeFileSync(osvDbPath(cache), 'garbage'.repeat(1000));
    const r = await runCli(['--cache-dir', cache, 'db', 'status']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /OSV advisory DB {2}unusable: .*portcullis db update/);
    assert.match(r.stderr.trim(), /^error: the advisory DB .* is unusable .*: run `portcullis db update`/);
  });

  it('db update: an unknown ecosystem is one line; a failed feed exits 1 naming it, the others are updated', async () => {
    const cache = join(tmp.path, 'c4');
    oneErrorLine(await runCli(['--cache-dir', cache, 'db', 'update', '--ecosystem', 'Debian,Nopeix']), /unknown OSV ecosystem "Nopeix"/);
    server.set('/PyPI/all.zip', await zipBuffer(osvFiles('PyPI')));
    server.plan('/npm/all.zip', { kind: 'status', status: 500, times: 100 });
    server.set('/npm/all.zip', await zipBuffer(osvFiles('npm')));
    const r = await runCli(['--cache-dir', cache, '-q', 'db', 'update', '--mirror', server.url, '--ecosystem', 'PyPI,npm', '--retries', '1']);
    oneErrorLine(r, /db update: 1 of 2 feeds failed \(npm: .*HTTP 500.*gave up after 2 attempts\)\); the others were updated, the failed ones kept their previous data/);
    const j = await runCli(['--cache-dir', cache, 'db', 'status', '--format', 'json']);
    const s = JSON.parse(j.stdout) as { osv: { sources: { id: string; records: number }[]; lastUpdate: { totals: { failed: number } } } };
    assert.deepEqual(s.osv.sources.map((x) => [x.id, x.records]), [['osv:PyPI', 53]]);
    assert.equal(s.osv.lastUpdate.totals.failed, 1);
    server.behaviours.clear();
    const ok = await runCli(['--cache-dir', cache, 'db', 'update', '--mirror', server.url, '--ecosystem', 'PyPI,npm', '--format', 'json']);
    assert.equal(ok.code, 0, ok.stderr);
    const res = JSON.parse(ok.stdout) as { outcomes: { name: string; status: string }[] };
    assert.deepEqual(res.outcomes.map((o) => [o.name, o.status]), [['PyPI', 'unchanged'], ['npm', 'updated']]);
    oneErrorLine(await runCli(['--cache-dir', cache, 'db', 'update', '--timeout', 'soon']), /--timeout: "soon" is not a duration/);
  });

  it('db update --every: updates, waits for the next round, stops cleanly on SIGTERM (exit 0, DB intact); a too short interval is refused', async () => {
    const cache = join(tmp.path, 'every');
    oneErrorLine(await runCli(['--cache-dir', cache, 'db', 'update', '--every', '5s']), /--every: "5s" is not a duration of at least 1m/);
    server.set('/PyPI/all.zip', await zipBuffer(osvFiles('PyPI')));
    const run = startCli(['--cache-dir', cache, 'db', 'update', '--mirror', server.url, '--ecosystem', 'PyPI', '--every', '6h']);
    let err = '';
    run.child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    const deadline = Date.now() + 60_000;
    while (!/next update at \d{4}-/.test(err) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.match(err, /advisory DB updated: .*osv\.sqlite/);
    const next = /next update at (\S+)/.exec(err)?.[1] ?? '';
    const inHours = (Date.parse(next) - Date.now()) / 3_600_000;
    assert.ok(inHours > 5.9 && inHours <= 6, `next round in 6 h, got ${next}`);
    run.child.kill('SIGTERM');
    const res = await run.done;
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stderr, /error:/);
    const j = await runCli(['--cache-dir', cache, 'db', 'status', '--format', 'json']);
    const st = JSON.parse(j.stdout) as { osv: { sources: { id: string; records: number }[] } };
    assert.deepEqual(st.osv.sources.map((x) => [x.id, x.records]), [['osv:PyPI', 53]]);
  });

  it('db update takes mirror and ecosystems from the db: section of portcullis.yaml (flags win); a bad key is one line', async () => {
    const cache = join(tmp.path, 'dbconf');
    const conf = join(tmp.path, 'dbconf.yaml');
    server.set('/PyPI/all.zip', await zipBuffer(osvFiles('PyPI')));
    server.set('/npm/all.zip', await zipBuffer(osvFiles('npm')));
    writeFileSync(conf, `db:\n  mirror: ${server.url}\n  ecosystems: [PyPI]\n`);
    const r = await runCli(['--cache-dir', cache, 'db', 'update', '--format', 'json'], { PORTCULLIS_CONFIG: conf });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { outcomes: { name: string }[] }).outcomes.map((x) => x.name), ['PyPI']);
    const flag = await runCli(['--cache-dir', cache, 'db', 'update', '--ecosystem', 'npm', '--format', 'json'], { PORTCULLIS_CONFIG: conf });
    assert.equal(flag.code, 0, flag.stderr);
    assert.deepEqual((JSON.parse(flag.stdout) as { outcomes: { name: string }[] }).outcomes.map((x) => x.name), ['npm'], 'the flag wins, the mirror still comes from the file');
    writeFileSync(conf, 'db:\n  mirrror: x\n');
    oneErrorLine(await runCli(['--cache-dir', cache, 'db', 'update'], { PORTCULLIS_CONFIG: conf }), /dbconf\.yaml: db: .*mirrror/);
  });

  it('air gap: db export FILE on one host, db import FILE --sha256 on the other', async () => {
    const a = join(tmp.path, 'connected');
    const zipDir = join(tmp.path, 'z', 'Go');
    mkdirSync(zipDir, { recursive: true });
    await writeZip(join(zipDir, 'all.zip'), osvFiles('Go'));
    assert.equal((await runCli(['--cache-dir', a, '-q', 'db', 'import', join(zipDir, 'all.zip')])).code, 0);
    const file = join(tmp.path, 'portcullis-db.sqlite.zst');
    const e = await runCli(['--cache-dir', a, 'db', 'export', file]);
    assert.equal(e.code, 0, e.stderr);
    const [sha, path] = e.stdout.trim().split(/\s+/);
    assert.equal(path, file);
    assert.match(sha ?? '', /^[0-9a-f]{64}$/);
    const b = join(tmp.path, 'airgapped');
    const i = await runCli(['--cache-dir', b, 'db', 'import', file, '--sha256', sha!]);
    assert.equal(i.code, 0, i.stderr);
    assert.match(i.stderr, /osv:Go +updated +\+96 added/);
    const sa = JSON.parse(snapshot(a)) as { findings: unknown; counts: unknown };
    const sb = JSON.parse(snapshot(b)) as { findings: unknown; counts: unknown };
    assert.deepEqual(sb.findings, sa.findings);
    assert.deepEqual(sb.counts, sa.counts);
    oneErrorLine(await runCli(['--cache-dir', b, 'db', 'import', file, '--sha256', '0'.repeat(64)]), /has sha256 [0-9a-f]{64}, expected 0{64}/);
  });

  it('killed while writing the new DB (after the download): the old DB answers as before; the next run cleans up', async () => {
    const cache = join(tmp.path, 'killwrite');
    assert.equal((await runCli(['--cache-dir', cache, '-q', 'db', 'import', join(OSV_DIR, 'PyPI')])).code, 0);
    const before = snapshot(cache);
    const big = join(tmp.path, 'big.zip');
    const details = 'x'.repeat(3000);
    await writeZip(
      big,
      Array.from({ length: 6000 }, (_, i): [string, string] => [
        `GHSA-${i}.json`,
        JSON.stringify({ id: `GHSA-kill-${i}`, modified: '2024-01-01T00:00:00Z', details, affected: [{ package: { ecosystem: 'npm', name: `p${i}` }, versions: ['1.0.0'] }] }),
      ]),
    );
    const run = startCli(['--cache-dir', cache, '-q', 'db', 'import', big]);
    const dbDir = join(cache, 'db');
    const deadline = Date.now() + 20_000;
    while (!readdirSync(dbDir).some((n) => n.endsWith('.tmp')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    run.child.kill('SIGKILL');
    const res = await run.done;
    assert.equal(res.signal, 'SIGKILL', 'killed before it finished');
    assert.ok(readdirSync(dbDir).some((n) => n.endsWith('.tmp')), 'the half-built DB is a temp file beside the live one');
    assert.equal(snapshot(cache), before);
    assert.equal((await runCli(['--cache-dir', cache, '-q', 'db', 'import', join(OSV_DIR, 'npm')])).code, 0);
    assert.deepEqual(readdirSync(dbDir), ['osv.sqlite']);
  });

  it('db import trivy:PATH installs the Trivy DB; db status shows it beside the OSV DB', async () => {
    const cache = join(tmp.path, 'trivy');
    const r = await runCli(['--cache-dir', cache, 'db', 'import', `trivy:${join(TESTDATA, 'trivy-db', 'db')}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Trivy DB imported: /);
    const t = await runCli(['--cache-dir', cache, 'db', 'status']);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /OSV advisory DB {2}not installed/);
    assert.match(t.stdout, /Trivy DB +\S+trivy\.db \(/);
    const j = JSON.parse((await runCli(['--cache-dir', cache, 'db', 'status', '--format', 'json'])).stdout) as { trivy: { vulnerabilities: number } };
    assert.ok(j.trivy.vulnerabilities > 0);
    oneErrorLine(await runCli(['--cache-dir', cache, 'db', 'import', `trivy:${join(tmp.path, 'missing')}`]), /does not exist/);
  });
});
