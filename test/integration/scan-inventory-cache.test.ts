/**
 * The whole-image inventory cache (src/scan/inventory-cache.ts) on real OCI layouts and docker-archives:
 * a warm scan reads no layer (proved by deleting the layer blobs), gives the same inventory, and never
 * serves an image another's entry; code changes and broken cache files are handled.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { buildImage, blobPath, vulnerableImageSpec, writeDockerArchive, writeOciLayout } from '../helpers/image-builder.ts';
import { buildInventory } from '../../src/scan/index.ts';
import { inventoryCodeId } from '../../src/scan/inventory-cache.ts';
import { silentLogger } from '../../src/shared/log.ts';
import type { Inventory } from '../../src/domain/index.ts';

const work = mkdtempSync(join(tmpdir(), 'pc-invcache-'));
after(() => rmSync(work, { recursive: true, force: true }));

const strip = (inv: Inventory): unknown => ({ packages: inv.packages, notes: inv.notes, os: inv.os });

describe('inventory cache', () => {
  it('a warm scan of an OCI layout reads no layer: same inventory with the layer blobs gone; --no-cache then fails', async () => {
    const image = buildImage(vulnerableImageSpec());
    const dir = join(work, 'oci');
    await writeOciLayout(dir, [{ tag: 'v1', image }]);
    const cacheDir = join(work, 'c1');
    const cold = await buildInventory(`oci:${dir}:v1`, { cacheDir, logger: silentLogger });
    assert.ok(cold.packages.length > 10);
    for (const l of image.layers) rmSync(blobPath(dir, l.digest));
    const warm = await buildInventory(`oci:${dir}:v1`, { cacheDir, logger: silentLogger });
    assert.deepEqual(strip(warm), strip(cold));
    assert.deepEqual(warm.artifact, cold.artifact);
    await assert.rejects(buildInventory(`oci:${dir}:v1`, { cacheDir, logger: silentLogger, noCache: true }), /layer|blob|no such file|ENOENT/i);
  });

  it('images with the same layers but another config get their own entry (the key holds the config digest)', async () => {
    const spec = vulnerableImageSpec();
    const a = buildImage(spec);
    const b = buildImage({ ...spec, config: { Env: ['X=1'] } });
    assert.notEqual(a.configDigest, b.configDigest);
    const dirA = join(work, 'a');
    const dirB = join(work, 'b');
    await writeOciLayout(dirA, [{ tag: 'v1', image: a }]);
    await writeOciLayout(dirB, [{ tag: 'v1', image: b }]);
    const cacheDir = join(work, 'c2');
    const rows = (): number => {
      const db = new DatabaseSync(join(cacheDir, 'inventories.sqlite'));
      try {
        return Number((db.prepare('SELECT count(*) AS n FROM inventories').get() as { n: number }).n);
      } finally {
        db.close();
      }
    };
    const ia = await buildInventory(`oci:${dirA}:v1`, { cacheDir, logger: silentLogger });
    assert.equal(rows(), 1);
    const ib = await buildInventory(`oci:${dirB}:v1`, { cacheDir, logger: silentLogger });
    assert.equal(rows(), 2, 'b was not answered from a\'s entry');
    assert.deepEqual(strip(ib), strip(ia), 'same layers, same packages');
    await buildInventory(`oci:${dirA}:v1`, { cacheDir, logger: silentLogger });
    assert.equal(rows(), 2);
    await buildInventory(`rootfs:${work}`, { cacheDir, logger: silentLogger }).catch(() => undefined);
    assert.equal(rows(), 2, 'rootfs targets are never cached');
  });

  it('a docker-archive is cached too; a damaged cache file is discarded and the scan still right', async () => {
    const image = buildImage(vulnerableImageSpec('docker'));
    const file = join(work, 'img.tar');
    writeDockerArchive(file, image, ['acme/app:1']);
    const cacheDir = join(work, 'c3');
    const cold = await buildInventory(`docker-archive:${file}`, { cacheDir, logger: silentLogger });
    const warm = await buildInventory(`docker-archive:${file}`, { cacheDir, logger: silentLogger });
    assert.deepEqual(strip(warm), strip(cold));
    writeFileSync(join(cacheDir, 'inventories.sqlite'), 'not a database at all, 40 bytes of junk!!');
    for (const f of readdirSync(cacheDir).filter((n) => n.startsWith('inventories.sqlite-'))) rmSync(join(cacheDir, f));
    const again = await buildInventory(`docker-archive:${file}`, { cacheDir, logger: silentLogger });
    assert.deepEqual(strip(again), strip(cold));
  });

  it('the code identity changes when a source file changes size or mtime, not for tests or test data', () => {
    const src = join(work, 'src');
    for (const d of ['image', 'ecosystems/dpkg', 'ecosystems/dpkg/testdata', 'domain', 'shared']) mkdirSync(join(src, d), { recursive: true });
    for (const f of ['image/a.ts', 'ecosystems/dpkg/index.ts', 'domain/x.ts', 'shared/y.ts']) writeFileSync(join(src, f), 'export {};\n');
    const id0 = inventoryCodeId(src);
    assert.match(id0 ?? '', /^[0-9a-f]{64}$/);
    writeFileSync(join(src, 'ecosystems/dpkg/index.test.ts'), 'test');
    writeFileSync(join(src, 'ecosystems/dpkg/testdata/make.ts'), 'x');
    assert.equal(inventoryCodeId(src), id0);
    utimesSync(join(src, 'ecosystems/dpkg/index.ts'), new Date(0), new Date(1_000_000));
    const id1 = inventoryCodeId(src);
    assert.notEqual(id1, id0);
    writeFileSync(join(src, 'domain/x.ts'), 'export {}; // changed\n');
    assert.notEqual(inventoryCodeId(src), id1);
    assert.equal(inventoryCodeId(join(work, 'nope')), undefined);
    assert.equal(inventoryCodeId(src), inventoryCodeId(src), 'stable while nothing changes');
  });
});
