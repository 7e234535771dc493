/**
 * The writer registry (src/report/index.ts) as the CLI and the server use it: every format renders a
 * real report to a stream, a report that went through JSON (a stored report, whose findings hold
 * copies of its packages) renders byte for byte the same, unknown formats are a UserError, and a
 * failing stream rejects instead of hanging.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { ScanReport } from '../../src/domain/index.ts';
import { formatIds, isFormatId, renderReport, writers } from '../../src/report/index.ts';
import type { RenderOptions } from '../../src/report/types.ts';
import { UserError } from '../../src/shared/errors.ts';
import { cleanup, scanTree } from './report-fixtures.ts';

after(cleanup);
const OPTS: RenderOptions = { color: false, toolVersion: '0.1.0', now: new Date('2024-05-06T07:08:09Z') };

async function render(report: ScanReport, format: string, opts: RenderOptions = OPTS): Promise<string> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c);
      cb();
    },
  });
  await renderReport(report, format, opts, out);
  return Buffer.concat(chunks).toString('utf8');
}

describe('renderReport', () => {
  it('lists exactly the five formats, each with a writer', () => {
    assert.deepEqual([...formatIds], ['table', 'json', 'sarif', 'cyclonedx', 'spdx-json']);
    for (const f of formatIds) assert.equal(typeof writers[f], 'function');
    assert.ok(isFormatId('json') && !isFormatId('xml'));
  });

  for (const name of ['debian-9-extra', 'repo-gomod']) {
    it(`${name}: every format renders; a stored (JSON round-tripped) report renders the same bytes`, async () => {
      const report = await scanTree(name);
      const stored = JSON.parse(JSON.stringify(report)) as ScanReport;
      for (const f of formatIds) {
        const a = await render(report, f);
        assert.ok(a.length > 100, f);
        assert.ok(a.endsWith('\n'), `${f} ends with a newline`);
        if (f !== 'table') JSON.parse(a);
        assert.equal(await render(stored, f), a, `${f}: stored report`);
      }
    });
  }

  it('an unknown format is a UserError naming the valid ones', async () => {
    const report = await scanTree('alpine-310', { findings: false });
    await assert.rejects(render(report, 'xml'), (err: unknown) => err instanceof UserError && err.code === 'FLAG_INVALID' && /use table, json, sarif, cyclonedx, spdx-json/.test(err.message));
  });

  it('a stream that fails makes the promise reject (no half-written success)', async () => {
    const report = await scanTree('alpine-310');
    for (const f of formatIds) {
      const out = new Writable({
        write(_c, _e, cb) {
          cb(new Error('EPIPE: broken pipe'));
        },
      });
      out.on('error', () => {});
      await assert.rejects(renderReport(report, f, OPTS, out), /EPIPE/, f);
    }
  });
});
