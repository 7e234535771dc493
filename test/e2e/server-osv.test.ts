/**
 * The builtin backend on the OSV path: a real SQLite advisory DB made by `portcullis db import` from
 * the USN-3863-1 fixture, an Ubuntu 18.04 image (Trivy's dpkg test status: apt 1.6.3ubuntu0.1) in a
 * real registry. USN records carry no severity, so the policy counts UNKNOWN too.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { buildImage, vulnerableImageSpec } from '../helpers/image-builder.ts';
import { REPO_ROOT, TESTDATA } from '../helpers/paths.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { admissionReviewFixture, imageReview, post, rmTemp, startTestServer, tempCacheDir, trapUnhandledRejections, type TestServer } from './helpers.ts';

const run = promisify(execFile);
const rejections = trapUnhandledRejections();

describe('admission server with the OSV SQLite DB', { skip: registryAvailable() }, () => {
  let reg: TestRegistry;
  let srv: TestServer;
  let image: string;

  before(async () => {
    reg = await startRegistry();
    await reg.pushImage(buildImage(vulnerableImageSpec()), 'acme/bionic:1');
    image = `${reg.host}/acme/bionic:1`;
    const cacheDir = tempCacheDir();
    await run(process.execPath, [join(REPO_ROOT, 'src', 'main.ts'), 'db', 'import', join(TESTDATA, 'osv', 'Ubuntu', 'USN-3863-1.json')], { env: { ...process.env, PORTCULLIS_CACHE_DIR: cacheDir } });
    srv = await startTestServer({ cacheDir, server: { dbSource: 'osv', insecureRegistries: [reg.host] }, policy: { severities: ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] } });
  });

  after(async () => {
    await srv?.close();
    if (srv) rmTemp(srv.cacheDir);
    await reg?.stop();
    rejections.stop();
    assert.deepEqual(rejections.list, []);
  });

  it('is ready on the OSV DB and denies apt 1.6.3ubuntu0.1 with USN-3863-1, for an ImageReview and a Deployment', async () => {
    const ready = (await (await fetch(`${srv.url}/readyz`)).json()) as { db: { source: string } };
    assert.equal(ready.db.source, 'osv');
    const a = (await post(`${srv.url}/scan`, imageReview([image]))).json as { status: { allowed: boolean; reason?: string } };
    assert.equal(a.status.allowed, false);
    assert.match(a.status.reason ?? '', /USN-3863-1/);
    const d = (await post(`${srv.url}/validate`, admissionReviewFixture('deployment_creation.json', [image]))).json as { response: { uid: string; allowed: boolean; status?: { message: string } } };
    assert.equal(d.response.allowed, false);
    assert.match(d.response.status?.message ?? '', /USN-3863-1/);
    assert.equal(await srv.metric('portcullis_scans_total'), 1, 'the Deployment was answered from the digest cache');
  });
});
