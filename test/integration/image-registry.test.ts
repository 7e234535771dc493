/**
 * The registry client against Debian's real docker-registry (no auth, htpasswd basic auth, token auth
 * with our JWT issuer), with a fault-injecting proxy in front of it for 5xx, 429, hangs and stalls.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { catalogFs, fileSelector } from '../../src/ecosystems/index.ts';
import { analyzeTarget, defaultDockerConfigPath, resolveDigest, type AnalyzeOptions } from '../../src/image/index.ts';
import { ScannerError } from '../../src/shared/errors.ts';
import {
  buildImage,
  buildIndex,
  osReleaseEntries,
  pkgdbEntries,
  pkgdbExpected,
  UBUNTU_1804,
  vulnerableImageSpec,
  writeOciLayout,
  type BuiltImage,
} from '../helpers/image-builder.ts';
import { digestOf, nonLoopbackIPv4, registryAvailable, startFaultProxy, startRegistry, type FaultAction, type ProxyRequest, type TestRegistry } from '../helpers/registry.ts';

const skip = registryAvailable();
const work = mkdtempSync(join(tmpdir(), 'pc-img-reg-'));
let cacheN = 0;
const freshCache = (): string => join(work, `cache-${cacheN++}`);

const selector = fileSelector();
const base = (extra: Partial<AnalyzeOptions> = {}): AnalyzeOptions => ({
  cacheDir: freshCache(),
  allowPrivateRegistries: true,
  registry: { retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 3000 }, readTimeoutMs: 5000, connectTimeoutMs: 2000 },
  ...extra,
});

async function packages(target: string, opts: AnalyzeOptions): Promise<{ names: string[]; os?: string; digest?: string; r: Awaited<ReturnType<typeof analyzeTarget>> }> {
  const r = await analyzeTarget(target, selector, opts);
  const cat = await catalogFs(r.fs);
  const out: { names: string[]; os?: string; digest?: string; r: typeof r } = { names: cat.packages.map((p) => `${p.name}@${p.version}`).sort(), r };
  if (cat.os) out.os = `${cat.os.family} ${cat.os.version}`;
  if (r.artifact.digest) out.digest = r.artifact.digest;
  return out;
}

async function rejectsWith(p: Promise<unknown>, code: string, re: RegExp): Promise<ScannerError> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof ScannerError, `a ScannerError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, re);
  assert.ok(!caught.message.includes('\n'), 'one line');
  return caught;
}

const expectedDpkg = pkgdbExpected('dpkg-trivy-ubuntu-18.04-valid').packages.map((p) => `${p.name}@${p.version}`).sort();

/** An image only one test uses (its blobs are not shared with any other image in the registry). */
function uniqueImage(tag: string, format: 'oci' | 'docker' = 'oci'): BuiltImage {
  return buildImage({
    format,
    layers: [
      [...osReleaseEntries(UBUNTU_1804), ...pkgdbEntries('dpkg-trivy-ubuntu-18.04-valid')],
      [{ path: `etc/unique-${tag}`, content: `${tag}\n` }],
    ],
  });
}

describe('registry client against docker-registry', { skip }, () => {
  let reg: TestRegistry;
  let ociDigest = '';
  let dockerDigest = '';
  const amd = buildImage({ layers: [[...osReleaseEntries(UBUNTU_1804), ...pkgdbEntries('dpkg-trivy-only-apt')]], architecture: 'amd64' });
  const arm = buildImage({ layers: [[...osReleaseEntries(UBUNTU_1804), ...pkgdbEntries('dpkg-trivy-third-party')]], architecture: 'arm64', variant: 'v8' });
  const armv7 = buildImage({ layers: [[...osReleaseEntries(UBUNTU_1804)]], architecture: 'arm', variant: 'v7' });

  before(async () => {
    reg = await startRegistry();
    const layout = writeOciLayout(join(work, 'layout'), [{ tag: 'v1', image: buildImage(vulnerableImageSpec()) }]);
    ociDigest = await reg.push(layout, 'app/vuln:v1');
    dockerDigest = await reg.push(layout, 'app/vuln:docker', { layoutTag: 'v1', format: 'v2s2' });
    await reg.pushImage(buildIndex([amd, arm, armv7]), 'multi/app:1');
  });
  after(async () => {
    await reg?.stop();
  });

  it('reads an OCI manifest pushed by skopeo: every package of the fixture, digests recorded', async () => {
    const p = await packages(`${reg.host}/app/vuln:v1`, base());
    assert.deepEqual(p.names.filter((n) => expectedDpkg.includes(n)), expectedDpkg);
    assert.equal(p.os, 'ubuntu 18.04');
    assert.equal(p.digest, ociDigest);
    assert.deepEqual(p.r.artifact.repoDigests, [`${reg.host}/app/vuln@${ociDigest}`]);
    assert.deepEqual(p.r.artifact.repoTags, [`${reg.host}/app/vuln:v1`]);
    assert.equal(p.r.artifact.platform, 'linux/amd64');
    assert.equal(p.r.artifact.layers.length, 2);
    assert.ok(p.r.artifact.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip' && l.diffId?.startsWith('sha256:')));
  });

  it('reads a Docker schema-2 manifest (skopeo --format v2s2) with the same content', async () => {
    const p = await packages(`${reg.host}/app/vuln:docker`, base());
    assert.deepEqual(p.names.filter((n) => expectedDpkg.includes(n)), expectedDpkg);
    assert.equal(p.digest, dockerDigest);
    assert.notEqual(dockerDigest, ociDigest);
    assert.ok(p.r.artifact.layers.every((l) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip'));
  });

  it('the decode worker reads registry streams to the same result', async () => {
    const main = await analyzeTarget(`${reg.host}/app/vuln:v1`, selector, base({ workers: false }));
    const worker = await analyzeTarget(`${reg.host}/app/vuln:v1`, selector, base({ workers: true }));
    const view = (r: typeof main): [string, string][] => [...r.fs.files()].map((f) => [f.path, f.content.toString('base64')]);
    assert.deepEqual(view(worker), view(main));
    assert.equal(worker.stats.bytesRead, main.stats.bytesRead);
    assert.deepEqual(worker.artifact, main.artifact);
  });

  it('reads by digest, and refuses a digest the registry does not have', async () => {
    const p = await packages(`${reg.host}/app/vuln@${ociDigest}`, base());
    assert.equal(p.digest, ociDigest);
    await rejectsWith(analyzeTarget(`${reg.host}/app/vuln@sha256:${'0'.repeat(64)}`, selector, base()), 'REGISTRY_NOT_FOUND', /404 Not Found \(MANIFEST_UNKNOWN/);
  });

  it('picks linux/amd64 from an index by default, another platform when asked, and names the available ones otherwise', async () => {
    const def = await packages(`${reg.host}/multi/app:1`, base());
    assert.deepEqual(def.names, ['apt@1.6.3ubuntu0.1']);
    assert.equal(def.digest, amd.manifestDigest);
    const a = await packages(`${reg.host}/multi/app:1`, base({ platform: 'linux/arm64' }));
    assert.equal(a.digest, arm.manifestDigest);
    assert.equal(a.r.artifact.platform, 'linux/arm64/v8');
    assert.deepEqual(a.names, ['apt@1.6.3ubuntu0.1', 'docker-ce@5:20.10.7~3-0~debian-buster']);
    await rejectsWith(
      analyzeTarget(`${reg.host}/multi/app:1`, selector, base({ platform: 'linux/s390x' })),
      'PLATFORM_NOT_FOUND',
      new RegExp(`^${reg.host}/multi/app:1: no image for platform linux/s390x \\(available: linux/amd64, linux/arm64/v8, linux/arm/v7\\)$`),
    );
  });

  it('resolves tag → digest with one HEAD request', async () => {
    const proxy = await startFaultProxy(reg.url, () => undefined);
    try {
      const r = await resolveDigest(`${proxy.host}/app/vuln:v1`, { allowPrivateRegistries: true });
      assert.equal(r.digest, ociDigest);
      assert.equal(r.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.deepEqual(proxy.requests.filter((q) => q.path.includes('/manifests/')).map((q) => q.method), ['HEAD']);
      const pinned = await resolveDigest(`${proxy.host}/app/vuln@${ociDigest}`, { allowPrivateRegistries: true });
      assert.equal(pinned.digest, ociDigest);
    } finally {
      await proxy.stop();
    }
  });

  it('404 for an unknown repository or tag names the image', async () => {
    await rejectsWith(analyzeTarget(`${reg.host}/no/such:repo`, selector, base()), 'REGISTRY_NOT_FOUND', new RegExp(`^manifest ${reg.host}/no/such:repo: 404 Not Found`));
    await rejectsWith(analyzeTarget(`${reg.host}/app/vuln:nope`, selector, base()), 'REGISTRY_NOT_FOUND', /app\/vuln:nope: 404 Not Found \(MANIFEST_UNKNOWN/);
    await rejectsWith(resolveDigest(`${reg.host}/app/vuln:nope`, { allowPrivateRegistries: true }), 'REGISTRY_NOT_FOUND', /app\/vuln:nope: 404 Not Found/);
  });

  it('a blob corrupted in the registry storage is DIGEST_MISMATCH, and nothing of it is cached', async () => {
    const img = uniqueImage('corrupt');
    await reg.pushImage(img, 'app/corrupt:1');
    const layer = img.layers[0];
    assert.ok(layer);
    const file = reg.blobFile(layer.digest);
    const good = readFileSync(file);
    const bad = Buffer.from(good);
    bad[Math.floor(bad.length / 2)] = (bad[Math.floor(bad.length / 2)] ?? 0) ^ 0xff; // same size, different bytes
    writeFileSync(file, bad);
    const cacheDir = freshCache();
    try {
      for (const workers of [false, true]) {
        const err = await rejectsWith(analyzeTarget(`${reg.host}/app/corrupt:1`, selector, base({ cacheDir, workers })), 'DIGEST_MISMATCH', new RegExp(`layer ${layer.digest}: digest mismatch \\(expected ${layer.digest}, got sha256:`));
        assert.match(err.message, new RegExp(`^${reg.host}/app/corrupt:1`));
      }
    } finally {
      writeFileSync(file, good);
    }
    const again = await analyzeTarget(`${reg.host}/app/corrupt:1`, selector, base({ cacheDir }));
    assert.equal(again.stats.cacheHits < again.stats.layers, true, 'the corrupt layer was not cached');
    assert.ok(again.fs.get('var/lib/dpkg/status'));
  });

  it('refuses a loopback registry unless private registries are allowed (SSRF guard)', async () => {
    await rejectsWith(
      analyzeTarget(`${reg.host}/app/vuln:v1`, selector, { cacheDir: freshCache() }),
      'REGISTRY_ADDRESS_BLOCKED',
      /registry host 127\.0\.0\.1 resolves to 127\.0\.0\.1 \(loopback\); contacting non-public addresses is disabled/,
    );
    await rejectsWith(
      resolveDigest(`localhost:${reg.host.split(':')[1]}/app/vuln:v1`, {}),
      'REGISTRY_ADDRESS_BLOCKED',
      /resolves to (127\.0\.0\.1|::1) \(loopback\)/,
    );
  });

  it('uses plain HTTP only for loopback or insecure-listed registries', async (t) => {
    // The proxy listens on every interface: reach it by a non-loopback address of this machine.
    const { networkInterfaces } = await import('node:os');
    const ip = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (!ip) {
      t.skip('no non-loopback IPv4 address on this machine');
      return;
    }
    const proxy = await startFaultProxy(reg.url, () => undefined, { listen: '0.0.0.0' });
    const host = `${ip}:${proxy.host.split(':')[1]}`;
    try {
      await rejectsWith(resolveDigest(`${host}/app/vuln:v1`, { allowPrivateRegistries: true }), 'REGISTRY_UNREACHABLE', /if .* serves plain HTTP, mark it insecure \(--insecure\)/);
      assert.equal(proxy.requests.length, 0, 'no plain HTTP request was sent');
      const r = await resolveDigest(`${host}/app/vuln:v1`, { allowPrivateRegistries: true, insecure: [host] });
      assert.equal(r.digest, ociDigest);
    } finally {
      await proxy.stop();
    }
  });

  describe('faults injected by a proxy in front of the registry', () => {
    async function through(rule: (req: ProxyRequest, n: number) => FaultAction, run: (host: string) => Promise<void>): Promise<ProxyRequest[]> {
      const proxy = await startFaultProxy(reg.url, rule);
      try {
        await run(proxy.host);
        return proxy.requests;
      } finally {
        await proxy.stop();
      }
    }
    const isManifestGet = (q: ProxyRequest): boolean => q.method === 'GET' && q.path.includes('/manifests/');
    const isBlob = (q: ProxyRequest): boolean => q.path.includes('/blobs/sha256:');

    it('retries 5xx with backoff, then succeeds', async () => {
      const reqs = await through(
        (q, n) => (isManifestGet(q) && n <= 2 ? { status: n === 1 ? 503 : 502, body: 'busy' } : undefined),
        async (host) => {
          const p = await packages(`${host}/app/vuln:v1`, base());
          assert.equal(p.digest, ociDigest);
        },
      );
      assert.equal(reqs.filter(isManifestGet).length, 3, '2 failures, then the manifest');
    });

    it('honours Retry-After on 429', async () => {
      const proxy = await startFaultProxy(reg.url, (q, n) => (isManifestGet(q) && n === 1 ? { status: 429, headers: { 'retry-after': '1' }, body: '' } : undefined));
      try {
        const p = await packages(`${proxy.host}/app/vuln:v1`, base({ registry: { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5000 } } }));
        assert.equal(p.digest, ociDigest);
        const [first, second] = proxy.requests.filter(isManifestGet);
        assert.ok(first && second);
        assert.ok(second.at - first.at >= 950, `waited ${second.at - first.at} ms, Retry-After said 1 s`);
      } finally {
        await proxy.stop();
      }
    });

    it('gives up after the retries with one clear line', async () => {
      await through(
        (q) => (isManifestGet(q) ? { status: 500, body: JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'storage down' }] }) } : undefined),
        async (host) => {
          await rejectsWith(analyzeTarget(`${host}/app/vuln:v1`, selector, base()), 'REGISTRY_SERVER_ERROR', /app\/vuln:v1: 500 server error \(retries exhausted\) \(UNKNOWN: storage down\)/);
        },
      );
      await through(
        (q) => (isManifestGet(q) ? { status: 429, headers: { 'retry-after': '0' } } : undefined),
        async (host) => {
          await rejectsWith(analyzeTarget(`${host}/app/vuln:v1`, selector, base()), 'REGISTRY_RATE_LIMITED', /429 Too Many Requests/);
        },
      );
    });

    it('a registry that hangs before answering: the read timeout fires, one error', async () => {
      await through(
        (q) => (isBlob(q) ? 'hang' : undefined),
        async (host) => {
          const t0 = Date.now();
          await rejectsWith(
            analyzeTarget(`${host}/app/vuln:v1`, selector, base({ registry: { readTimeoutMs: 400, connectTimeoutMs: 400, retry: { attempts: 1 } } })),
            'REGISTRY_TIMEOUT',
            /timed out after 400 ms waiting for the response/,
          );
          assert.ok(Date.now() - t0 < 10_000);
        },
      );
    });

    it('a registry that stalls in the middle of a blob: the read timeout fires', async () => {
      await through(
        (q) => (isBlob(q) && q.method === 'GET' ? { stallAfter: 100 } : undefined),
        async (host) => {
          for (const workers of [false, true]) {
            await rejectsWith(
              analyzeTarget(`${host}/app/vuln:v1`, selector, base({ workers, registry: { readTimeoutMs: 400, retry: { attempts: 1 } } })),
              'REGISTRY_TIMEOUT',
              /timed out after 400 ms waiting for data/,
            );
          }
        },
      );
    });

    it('a connection reset is retried', async () => {
      const reqs = await through(
        (q, n) => (isManifestGet(q) && n === 1 ? 'reset' : undefined),
        async (host) => {
          assert.equal((await packages(`${host}/app/vuln:v1`, base())).digest, ociDigest);
        },
      );
      assert.ok(reqs.filter(isManifestGet).length >= 2);
    });

    it('an unknown manifest media type is refused by name', async () => {
      await through(
        (q) =>
          isManifestGet(q)
            ? {
                rewrite: (res) => {
                  const body = res.body.toString().replace('application/vnd.oci.image.manifest.v1+json', 'application/vnd.example.weird+json');
                  return { headers: { 'content-type': 'application/vnd.example.weird+json', 'docker-content-digest': digestOf(Buffer.from(body)) }, body };
                },
              }
            : undefined,
        async (host) => {
          await rejectsWith(analyzeTarget(`${host}/app/vuln:v1`, selector, base()), 'MEDIA_TYPE_UNKNOWN', /unknown manifest media type "application\/vnd\.example\.weird\+json"/);
        },
      );
    });

    it('a manifest that does not match the digest the registry announced is DIGEST_MISMATCH', async () => {
      await through(
        (q) => (isManifestGet(q) ? { rewrite: (res) => ({ body: `${res.body.toString()} ` }) } : undefined),
        async (host) => {
          await rejectsWith(analyzeTarget(`${host}/app/vuln:v1`, selector, base()), 'DIGEST_MISMATCH', /manifest .*app\/vuln:v1: digest mismatch/);
        },
      );
    });
  });
});

describe('a TLS registry with a self-signed certificate', { skip }, () => {
  it('is refused with one clear line unless insecure; loopback is insecure by default', async (t) => {
    const tls = await startRegistry({ tls: true, listenAll: true });
    try {
      const img = buildImage(vulnerableImageSpec());
      await tls.pushImage(img, 'sec/app:1');
      assert.equal((await packages(`${tls.host}/sec/app:1`, base())).digest, img.manifestDigest, 'loopback: TLS without verification');
      const ip = nonLoopbackIPv4();
      if (!ip) {
        t.skip('no non-loopback IPv4 address on this machine');
        return;
      }
      const host = `${ip}:${tls.host.split(':')[1]}`;
      await rejectsWith(
        analyzeTarget(`${host}/sec/app:1`, selector, base()),
        'REGISTRY_TLS',
        new RegExp(`the TLS certificate of ${host.replace(/\./g, '\\.')} is not trusted \\(DEPTH_ZERO_SELF_SIGNED_CERT\\); add its CA with NODE_EXTRA_CA_CERTS, or mark the registry insecure`),
      );
      assert.equal((await packages(`${host}/sec/app:1`, base({ insecure: [host] }))).digest, img.manifestDigest);
    } finally {
      await tls.stop();
    }
  });
});

describe('registry auth against docker-registry', { skip }, () => {
  let basic: TestRegistry;
  let token: TestRegistry;
  const img = buildImage(vulnerableImageSpec());

  before(async () => {
    [basic, token] = await Promise.all([startRegistry({ auth: 'basic' }), startRegistry({ auth: 'token', identityTokens: { 'refresh-abc': 'tester' } })]);
    await basic.pushImage(img, 'team/app:1');
    await token.pushImage(img, 'team/app:1');
  });
  after(async () => {
    await Promise.all([basic?.stop(), token?.stop()]);
  });

  it('basic auth with credentials from an explicit docker config.json (base64 auth)', async () => {
    const p = await packages(`${basic.host}/team/app:1`, base({ registryConfig: basic.dockerConfig() }));
    assert.equal(p.digest, img.manifestDigest);
  });

  it('basic auth with credentials found through DOCKER_CONFIG', async () => {
    const dir = join(work, 'docker-config-env');
    basic.dockerConfig(dir);
    const path = defaultDockerConfigPath({ DOCKER_CONFIG: dir }, '/nonexistent-home');
    assert.equal(path, join(dir, 'config.json'));
    assert.equal(defaultDockerConfigPath({}, '/nonexistent-home'), undefined);
    const p = await packages(`${basic.host}/team/app:1`, base({ registryConfig: path ?? '' }));
    assert.equal(p.digest, img.manifestDigest);
  });

  it('401: no credentials, and a wrong password, each say so', async () => {
    await rejectsWith(analyzeTarget(`${basic.host}/team/app:1`, selector, base()), 'REGISTRY_UNAUTHORIZED', /401 Unauthorized: authentication required; log in \(docker login\) or pass --registry-config/);
    const wrong = basic.dockerConfig(join(work, 'wrong-basic'), { password: 'not-the-password' });
    const e = await rejectsWith(analyzeTarget(`${basic.host}/team/app:1`, selector, base({ registryConfig: wrong })), 'REGISTRY_UNAUTHORIZED', /401 Unauthorized: the registry rejected the credentials/);
    assert.ok(!e.message.includes('not-the-password'));
  });

  it('token auth: WWW-Authenticate challenge → token from the realm (with Basic credentials) → retry', async () => {
    token.tokenRequests.length = 0;
    const p = await packages(`${token.host}/team/app:1`, base({ registryConfig: token.dockerConfig() }));
    assert.equal(p.digest, img.manifestDigest);
    assert.ok(token.tokenRequests.length >= 1);
    assert.ok(token.tokenRequests.length <= 2, `a token is reused across requests (${token.tokenRequests.length} token requests)`);
    assert.deepEqual(token.tokenRequests[0], { method: 'GET', scopes: ['repository:team/app:pull'], status: 200, user: 'tester', service: 'portcullis-test-registry' });
  });

  it('token auth with an identity token (OAuth2 refresh_token grant)', async () => {
    token.tokenRequests.length = 0;
    const dir = join(work, 'identity');
    const file = token.dockerConfig(dir);
    writeFileSync(file, JSON.stringify({ auths: { [token.host]: { identitytoken: 'refresh-abc' } } }));
    const p = await packages(`${token.host}/team/app:1`, base({ registryConfig: file }));
    assert.equal(p.digest, img.manifestDigest);
    assert.equal(token.tokenRequests[0]?.method, 'POST');
    assert.equal(token.tokenRequests[0]?.user, 'tester');
  });

  it('token auth: anonymous and wrong-password token requests are refused with one clear line', async () => {
    await rejectsWith(analyzeTarget(`${token.host}/team/app:1`, selector, base()), 'REGISTRY_UNAUTHORIZED', /token request: 401 Unauthorized: authentication required/);
    const wrong = token.dockerConfig(join(work, 'wrong-token'), { password: 'bad' });
    await rejectsWith(analyzeTarget(`${token.host}/team/app:1`, selector, base({ registryConfig: wrong })), 'REGISTRY_UNAUTHORIZED', /token request: 401 Unauthorized: the registry rejected the credentials/);
  });

  it('a token for another repository does not open this one (the registry checks the scope)', async () => {
    await token.pushImage(img, 'other/app:1');
    const p = await packages(`${token.host}/other/app:1`, base({ registryConfig: token.dockerConfig() }));
    assert.equal(p.digest, img.manifestDigest);
  });
});

after(() => rmSync(work, { recursive: true, force: true }));
