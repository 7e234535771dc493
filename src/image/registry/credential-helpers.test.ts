/**
 * Docker credential helpers: config parsing (credHelpers, credsStore, precedence) and the protocol,
 * against real helper programs written to a temp dir and found on PATH as Docker finds them.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ScannerError } from '../../shared/errors.ts';
import { parseDockerConfig, runCredentialHelper } from './credentials.ts';

const dir = mkdtempSync(join(tmpdir(), 'pc-credhelper-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env, PATH: `${dir}${delimiter}${process.env['PATH'] ?? ''}` };

/** docker-credential-NAME: a Node program that logs its argv and stdin, then runs `body`. */
function helper(name: string, body: string): string {
  const log = join(dir, `${name}.log`);
  const file = join(dir, `docker-credential-${name}`);
  writeFileSync(
    file,
    `#!${process.execPath}\nlet input = '';\nprocess.stdin.on('data', (c) => (input += c));\nprocess.stdin.on('end', () => {\n  require('fs').appendFileSync(${JSON.stringify(log)}, JSON.stringify({ argv: process.argv.slice(2), input }) + '\\n');\n  ${body}\n});\n`,
  );
  chmodSync(file, 0o755);
  return log;
}

describe('docker config credential helpers', () => {
  it('credHelpers for a registry go first, then credsStore, then auths; names are checked', () => {
    const s = parseDockerConfig(JSON.stringify({ credsStore: 'desktop', credHelpers: { 'gcr.io': 'gcloud', 'https://Registry.Example:5000': 'ecr-login' }, auths: { 'plain.example': { auth: Buffer.from('u:p').toString('base64') } } }));
    assert.equal(s.helperFor?.('gcr.io'), 'gcloud');
    assert.equal(s.helperFor?.('registry.example:5000'), 'ecr-login');
    assert.equal(s.helperFor?.('plain.example'), 'desktop');
    assert.equal(s('plain.example')?.password, 'p', 'the auths entry stays as the fallback');
    assert.equal(parseDockerConfig(JSON.stringify({ auths: {} })).helperFor, undefined);
    assert.throws(() => parseDockerConfig(JSON.stringify({ credsStore: '../../bin/sh' }), 'cfg'), (e: unknown) => e instanceof ScannerError && /cfg: credsStore is not a credential helper name/.test(e.message));
    assert.throws(() => parseDockerConfig(JSON.stringify({ credHelpers: { h: 'a b;c' } }), 'cfg'), /cfg: credHelpers\["h"\] is not a credential helper name/);
  });

  it('runs `docker-credential-NAME get` with the server address on stdin and reads Username/Secret', async () => {
    const log = helper('pcok', `process.stdout.write(JSON.stringify({ ServerURL: input, Username: 'robot', Secret: 's3cret' }));`);
    const c = await runCredentialHelper('pcok', 'registry.example:5000', env);
    assert.deepEqual([c?.username, c?.password], ['robot', 's3cret']);
    assert.equal(JSON.stringify(c), '"[credentials redacted]"');
    await runCredentialHelper('pcok', 'docker.io', env);
    const calls = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; input: string });
    assert.deepEqual(calls, [
      { argv: ['get'], input: 'registry.example:5000' },
      { argv: ['get'], input: 'https://index.docker.io/v1/' },
    ]);
  });

  it('Username "<token>" is an identity token; "credentials not found" is no credentials', async () => {
    helper('pctok', `process.stdout.write(JSON.stringify({ ServerURL: input, Username: '<token>', Secret: 'refresh-me' }));`);
    assert.deepEqual({ ...(await runCredentialHelper('pctok', 'h.example', env)) }, { identityToken: 'refresh-me' });
    helper('pcnone', `process.stdout.write('credentials not found in native keychain\\n'); process.exit(1);`);
    assert.equal(await runCredentialHelper('pcnone', 'h.example', env), undefined);
  });

  it('failures are one line naming the helper, never its output', async () => {
    helper('pcfail', `process.stderr.write('boom: token=SECRET-IN-OUTPUT'); process.exit(3);`);
    await assert.rejects(runCredentialHelper('pcfail', 'h.example', env), (e: unknown) => e instanceof ScannerError && e.code === 'REGISTRY_CREDENTIALS' && /docker-credential-pcfail failed for h\.example \(exit 3\)/.test(e.message) && !e.message.includes('SECRET'));
    helper('pcjunk', `process.stdout.write('SECRET-IN-OUTPUT not json');`);
    await assert.rejects(runCredentialHelper('pcjunk', 'h.example', env), (e: unknown) => e instanceof Error && /answered something that is not JSON/.test(e.message) && !e.message.includes('SECRET'));
    await assert.rejects(runCredentialHelper('pcmissing', 'h.example', env), /credential helper docker-credential-pcmissing, which is not on PATH/);
    helper('pcslow', `setTimeout(() => {}, 60_000);`);
    await assert.rejects(runCredentialHelper('pcslow', 'h.example', env, 300), /docker-credential-pcslow did not answer within 0\.3 s/);
  });
});
