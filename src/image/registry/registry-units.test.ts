import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { ScannerError } from '../../shared/errors.ts';
import { parseChallenges, parseTokenResponse } from './auth.ts';
import { retryAfterMs } from './client.ts';
import { loadDockerConfig, parseDockerConfig } from './credentials.ts';
import { classifyAddress } from './ssrf.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('WWW-Authenticate parsing', () => {
  it('reads Bearer and Basic challenges with quoted and bare params', () => {
    assert.deepEqual(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'), [
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' } },
    ]);
    assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
    assert.deepEqual(parseChallenges('Basic realm=x, Bearer realm="y", service=z'), [
      { scheme: 'basic', params: { realm: 'x' } },
      { scheme: 'bearer', params: { realm: 'y', service: 'z' } },
    ]);
    assert.deepEqual(parseChallenges('Bearer realm="a\\"b"'), [{ scheme: 'bearer', params: { realm: 'a"b' } }]);
    assert.deepEqual(parseChallenges(''), []);
  });

  it('accepts token and access_token, refuses header-injection tokens', () => {
    assert.deepEqual(parseTokenResponse(Buffer.from('{"token":"t1","expires_in":300}')), { token: 't1', expiresIn: 300 });
    assert.deepEqual(parseTokenResponse(Buffer.from('{"access_token":"t2"}')), { token: 't2', expiresIn: 60 });
    assert.equal(parseTokenResponse(Buffer.from('{"token":"a\\r\\nX-Evil: 1"}')), undefined);
    assert.equal(parseTokenResponse(Buffer.from('not json')), undefined);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(' 0 '), 0);
    const now = Date.parse('2024-01-01T00:00:00Z');
    assert.equal(retryAfterMs('Mon, 01 Jan 2024 00:00:05 GMT', now), 5000);
    assert.equal(retryAfterMs('Sun, 31 Dec 2023 00:00:00 GMT', now), 0);
    assert.equal(retryAfterMs('soon'), undefined);
    assert.equal(retryAfterMs(undefined), undefined);
  });
});

describe('docker config credentials', () => {
  it('reads base64 auth, username/password, identity tokens; keys normalised', () => {
    const store = parseDockerConfig(JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:hubpass') },
        'registry.example:5000': { auth: b64('u:p:with:colons') },
        'https://ghcr.io': { username: 'gh', password: 'ghp' },
        'quay.io/': { identitytoken: 'refresh-me' },
      },
      credsStore: 'desktop',
    }));
    assert.deepEqual({ ...store('docker.io') }, { username: 'hub', password: 'hubpass' });
    assert.deepEqual({ ...store('registry.example:5000') }, { username: 'u', password: 'p:with:colons' });
    assert.deepEqual({ ...store('GHCR.io') }, { username: 'gh', password: 'ghp' });
    assert.deepEqual({ ...store('quay.io') }, { identityToken: 'refresh-me' });
    assert.equal(store('other.example'), undefined);
  });

  it('reads a legacy .dockercfg (auths at the top level)', () => {
    const store = parseDockerConfig(JSON.stringify({ 'old.example': { auth: b64('a:b') } }));
    assert.equal(store('old.example')?.username, 'a');
  });

  it('never prints credentials', () => {
    const c = parseDockerConfig(JSON.stringify({ auths: { h: { auth: b64('user:hunter2') } } }))('h');
    assert.ok(c);
    assert.ok(!JSON.stringify({ c }).includes('hunter2'));
    assert.ok(!inspect(c).includes('hunter2'));
  });

  it('bad files are one clear error', async () => {
    assert.throws(() => parseDockerConfig('{', 'cfg.json'), (e: unknown) => e instanceof ScannerError && e.code === 'REGISTRY_CONFIG_INVALID' && /cfg\.json: not valid JSON/.test(e.message));
    assert.throws(() => parseDockerConfig(JSON.stringify({ auths: { h: { auth: b64('nocolon') } } }), 'cfg.json'), /not base64 of user:password/);
    await assert.rejects(loadDockerConfig('/nonexistent/config.json'), /cannot read registry config \/nonexistent\/config\.json: ENOENT/);
    const optional = await loadDockerConfig('/nonexistent/config.json', true);
    assert.equal(optional('x'), undefined);
    const dir = mkdtempSync(join(tmpdir(), 'pc-cfg-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { 'h:1': { auth: b64('x:y') } } }));
    assert.equal((await loadDockerConfig(join(dir, 'config.json')))('h:1')?.password, 'y');
  });
});

describe('SSRF address classes', () => {
  it('classifies non-public IPv4 and IPv6 addresses, including mapped forms', () => {
    const blocked: [string, RegExp][] = [
      ['127.0.0.1', /loopback/],
      ['127.255.0.9', /loopback/],
      ['10.1.2.3', /private/],
      ['172.16.0.1', /private/],
      ['172.31.255.255', /private/],
      ['192.168.1.1', /private/],
      ['169.254.169.254', /link-local/],
      ['100.64.0.1', /CGNAT/],
      ['0.0.0.0', /unspecified/],
      ['224.0.0.1', /multicast/],
      ['::1', /loopback/],
      ['::', /unspecified/],
      ['::ffff:127.0.0.1', /loopback/],
      ['::ffff:7f00:1', /loopback/],
      ['::ffff:169.254.169.254', /link-local/],
      ['64:ff9b::a9fe:a9fe', /link-local/],
      ['fd00::1', /unique-local/],
      ['fe80::1%eth0', /link-local/],
      ['not-an-ip', /not an IP/],
    ];
    for (const [ip, why] of blocked) assert.match(classifyAddress(ip) ?? 'public', why, ip);
    for (const ip of ['8.8.8.8', '172.32.0.1', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8']) assert.equal(classifyAddress(ip), undefined, ip);
  });
});
