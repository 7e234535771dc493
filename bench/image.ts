/**
 * bench:image — wall time, CPU time and peak RSS of analyzeTarget (the image layer with the real file
 * selector of every cataloger, no cataloging or report) on the bench corpus (../shared/bench/make-images.sh):
 * cold (empty layer cache) and warm, per source, medians of RUNS runs, each in a fresh child process.
 *
 *   node bench/image.ts [IMAGES_DIR=/tmp/bench/images] [REGISTRY=127.0.0.1:5055] [names...]
 *   env RUNS=3, WORKERS=auto|true|false (decoder worker, see AnalyzeOptions.workers), SOURCES="registry oci …"
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './lib.ts';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  const [, , , target, cacheDir, workersArg] = process.argv;
  const { analyzeTarget } = await import('../src/image/index.ts');
  const { fileSelector } = await import('../src/ecosystems/index.ts');
  const workers = workersArg === 'true' ? true : workersArg === 'false' ? false : 'auto';
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await analyzeTarget(target ?? '', fileSelector(), { cacheDir: cacheDir ?? '', insecure: true, allowPrivateRegistries: true, workers });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  let files = 0;
  for (const _ of r.fs.files()) files++;
  process.stdout.write(`${JSON.stringify({ ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), files, rssMB: Math.round(process.resourceUsage().maxRSS / 1024), stats: r.stats })}\n`);
  process.exit(0);
}

const dir = process.argv[2] ?? '/tmp/bench/images';
const registry = process.argv[3] ?? '127.0.0.1:5055';
const names = process.argv.slice(4).length ? process.argv.slice(4) : ['minbase', 'python', 'large', 'node', 'distroless'];
const RUNS = Number(process.env['RUNS'] ?? 3);
const WORKERS = process.env['WORKERS'] ?? 'auto';
const SOURCES = (process.env['SOURCES'] ?? 'registry oci oci-archive docker-archive rootfs').split(/\s+/).filter(Boolean);
const sources = (n: string): [string, string][] =>
  (
    [
      ['registry', `${registry}/bench/${n}:latest`],
      ['oci', `oci:${dir}/oci/${n}`],
      ['oci-archive', `oci-archive:${dir}/oci-archive/${n}.tar`],
      ['docker-archive', `docker-archive:${dir}/docker/${n}.tar`],
      ['rootfs', `rootfs:${dir}/rootfs/${n}/rootfs`],
    ] as [string, string][]
  ).filter(([s]) => SOURCES.includes(s));

interface Run {
  wall: number;
  ms: number;
  cpuMs: number;
  rssMB: number;
  files: number;
}
function run(target: string, cache: string): Run {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, [self, '--child', target, cache, WORKERS], { encoding: 'utf8' });
  const wall = performance.now() - t0;
  return { wall: Math.round(wall), ...(JSON.parse(out) as Omit<Run, 'wall'>) };
}
const m = (rs: Run[], k: keyof Run): number => Math.round(median(rs.map((r) => r[k])));
console.log(`workers: ${WORKERS}, ${RUNS} runs, medians`);
console.log('| image | source | cold wall ms (in-process) | cold CPU ms | cold peak RSS MB | warm wall ms (in-process) | warm RSS MB | files kept |');
console.log('|---|---|---|---|---|---|---|---|');
for (const n of names) {
  for (const [src, target] of sources(n)) {
    const cold: Run[] = [];
    const warm: Run[] = [];
    try {
      for (let i = 0; i < RUNS; i++) {
        const cache = mkdtempSync(join(tmpdir(), 'pc-bench-'));
        try {
          cold.push(run(target, cache));
          warm.push(run(target, cache));
        } finally {
          rmSync(cache, { recursive: true, force: true });
        }
      }
      console.log(`| ${n} | ${src} | ${m(cold, 'wall')} (${m(cold, 'ms')}) | ${m(cold, 'cpuMs')} | ${Math.max(...cold.map((r) => r.rssMB))} | ${m(warm, 'wall')} (${m(warm, 'ms')}) | ${Math.max(...warm.map((r) => r.rssMB))} | ${cold[0]?.files ?? 0} |`);
    } catch (err) {
      console.log(`| ${n} | ${src} | failed: ${(err as Error).message.split('\n')[0]} | | | | | |`);
    }
  }
}
