import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { silentLogger } from '../../shared/log.ts';
import type { CliContext } from '../context.ts';
import { updateEvery } from './db.ts';

function ctx(): { ctx: CliContext; err: () => string } {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (c: Buffer) => (text += c.toString()));
  const c: CliContext = { cacheDir: '/nonexistent', cacheDirFromDefault: false, debug: false, quiet: false, logger: silentLogger, stdout: new PassThrough(), stderr, isTty: false, env: {} };
  return { ctx: c, err: () => text };
}

describe('db update --every (updateEvery)', () => {
  it('runs a round, waits, runs again; a failed round is one error line and the loop goes on; abort stops it while waiting', async () => {
    const { ctx: c, err } = ctx();
    const ctl = new AbortController();
    const rounds: number[] = [];
    const once = async (): Promise<void> => {
      rounds.push(Date.now());
      if (rounds.length === 2) throw new Error('db update: 1 of 1 feeds failed (npm: HTTP 500)');
      if (rounds.length === 3) setTimeout(() => ctl.abort(new Error('interrupted')), 5);
    };
    const t0 = Date.now();
    await updateEvery(c, once, 40, ctl.signal);
    assert.equal(rounds.length, 3);
    assert.ok((rounds[1] as number) - (rounds[0] as number) >= 35, 'the second round waits for the interval');
    assert.ok(Date.now() - t0 < 2000, 'abort ends the wait at once');
    const lines = err().trim().split('\n');
    assert.equal(lines.filter((l) => l.startsWith('error: ')).length, 1);
    assert.match(err(), /error: db update: 1 of 1 feeds failed \(npm: HTTP 500\)/);
    assert.equal(lines.filter((l) => l.startsWith('next update at ')).length, 3);
  });

  it('an abort during a round ends the loop without an error line', async () => {
    const { ctx: c, err } = ctx();
    const ctl = new AbortController();
    let n = 0;
    await updateEvery(
      c,
      async () => {
        n++;
        ctl.abort(new Error('interrupted'));
        throw new Error('interrupted');
      },
      60_000,
      ctl.signal,
    );
    assert.equal(n, 1);
    assert.equal(err(), '');
  });
});
