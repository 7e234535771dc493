import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UserError } from '../shared/errors.ts';
import { writeOutput } from './output.ts';

const dir = mkdtempSync(join(tmpdir(), 'pc-out-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const put = (out: NodeJS.WritableStream, chunk: string | Buffer): Promise<void> => new Promise((resolve, reject) => out.write(chunk, (err) => (err ? reject(err) : resolve())));

describe('writeOutput to a file', () => {
  it('writes every chunk, strings and bytes, and replaces an older file only when done', async () => {
    const file = join(dir, 'report.json');
    writeFileSync(file, 'old');
    const big = 'x'.repeat(3 << 20);
    await writeOutput(file, process.stdout, async (out) => {
      await put(out, '{"a":"é",');
      assert.equal(readFileSync(file, 'utf8'), 'old', 'the old file stays until the writer is done');
      await put(out, Buffer.from('"b":"'));
      out.write(big);
      out.write('"}');
    });
    assert.equal(readFileSync(file, 'utf8'), `{"a":"é","b":"${big}"}`);
    assert.deepEqual(readdirSync(dir), ['report.json'], 'no temp file left');
  });

  it('leaves no file and no temp file when the writer fails', async () => {
    const file = join(dir, 'failed.json');
    await assert.rejects(
      writeOutput(file, process.stdout, async (out) => {
        await put(out, 'half a report');
        throw new Error('scan failed');
      }),
      /scan failed/,
    );
    assert.ok(!readdirSync(dir).some((n) => n.includes('failed.json')));
  });

  it('says which file it cannot write, as a UserError', async () => {
    const file = join(dir, 'no-such-dir', 'x.json');
    await assert.rejects(writeOutput(file, process.stdout, async () => {}), (err: unknown) => err instanceof UserError && /cannot write .*x\.json: ENOENT/.test(err.message));
  });
});
