/**
 * bench:image — wall time and peak RSS of analyzeTarget (image layer only, no catalogers) on the
 * bench corpus (../shared/bench/make-images.sh): cold (empty layer cache) and warm, per source.
 *
 *   node bench/image.ts [IMAGES_DIR=/tmp/bench/images] [REGISTRY=127.0.0.1:5055] [names...]
 *
 * Each measurement runs in a fresh child process so peak RSS is per run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  const [, , , target, cacheDir] = process.argv;
  const { analyzeTarget } = await import('../src/image/index.ts');
  const sel = {
    key: 'bench-1',
    wants: (f: { path: string }) =>
      f.path.startsWith('var/lib/dpkg/status') || f.path === 'etc/os-release' || f.path === 'usr/lib/os-release' ||
      f.path.endsWith('/package.json') || f.path === 'package.json' || (f.path.endsWith('/METADATA') && f.path.includes('.dist-info/')),
    maxFileSize: () => 64 << 20,
  };
  const t0 = performance.now();
  const r = await analyzeTarget(target ?? '', sel, { cacheDir: cacheDir ?? '', insecure: true, allowPrivateRegistries: true });
  const ms = performance.now() - t0;
  let files = 0;
  for (const _ of r.fs.files()) files++;
  process.stdout.write(JSON.stringify({ ms: Math.round(ms), files, rssMB: Math.round(process.resourceUsage().maxRSS / 1024), stats: r.stats }) + '\n');
  process.exit(0);
}

const dir = process.argv[2] ?? '/tmp/bench/images';
const registry = process.argv[3] ?? '127.0.0.1:5055';
const names = process.argv.slice(4).length ? process.argv.slice(4) : ['minbase', 'python', 'large', 'node', 'distroless'];
const sources = (n: string): [string, string][] => [
  ['registry', `${registry}/bench/${n}:latest`],
  ['oci', `oci:${dir}/oci/${n}`],
  ['oci-archive', `oci-archive:${dir}/oci-archive/${n}.tar`],
  ['docker-archive', `docker-archive:${dir}/docker/${n}.tar`],
  ['rootfs', `rootfs:${dir}/rootfs/${n}/rootfs`],
];
function run(target: string, cache: string): { wall: number; ms: number; rssMB: number; files: number } {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, [self, '--child', target, cache], { encoding: 'utf8' });
  const wall = performance.now() - t0;
  return { wall: Math.round(wall), ...(JSON.parse(out) as { ms: number; rssMB: number; files: number }) };
}
console.log('| image | source | cold wall ms (in-process ms) | cold peak RSS MB | warm wall ms (in-process) | warm RSS MB | files kept |');
console.log('|---|---|---|---|---|---|---|');
for (const n of names) {
  for (const [src, target] of sources(n)) {
    const cache = mkdtempSync(join(tmpdir(), 'pc-bench-'));
    try {
      const cold = run(target, cache);
      const warm = run(target, cache);
      console.log(`| ${n} | ${src} | ${cold.wall} (${cold.ms}) | ${cold.rssMB} | ${warm.wall} (${warm.ms}) | ${warm.rssMB} | ${cold.files} |`);
    } catch (err) {
      console.log(`| ${n} | ${src} | failed: ${(err as Error).message.split('\n')[0]} | | | | |`);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }
}
