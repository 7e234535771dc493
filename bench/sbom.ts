/**
 * npm run bench:sbom — `portcullis sbom` side by side with Trivy, in one run, on the benchmark images that
 * ../shared/bench/make-images.sh builds (OCI layout, docker-archive, oci-archive, rootfs, local registry).
 * Prints wall time, CPU time (user + system, all threads) and peak RSS, the ours/Trivy ratio (the
 * median of the per-run ratios: each run pairs our cold run with Trivy's, seconds apart, so a load
 * change on a shared machine hits both), and whether both list the same packages. The load average is
 * printed before and after.
 *
 * Env: BENCH_IMAGES (/tmp/bench/images), REGISTRY (127.0.0.1:5055), TRIVY (/tmp/bench/bin/trivy-unupx),
 *      RUNS (3), IMAGES ("minbase python large node distroless"), SOURCES ("registry docker oci oci-archive rootfs").
 */
import { closeSync, existsSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, NODE, measure, median, table } from './lib.ts';

const IMAGES_DIR = process.env['BENCH_IMAGES'] ?? '/tmp/bench/images';
const REGISTRY = process.env['REGISTRY'] ?? '127.0.0.1:5055';
const TRIVY = process.env['TRIVY'] ?? '/tmp/bench/bin/trivy-unupx';
const RUNS = Number(process.env['RUNS'] ?? 3);
const IMAGES = (process.env['IMAGES'] ?? 'minbase python large node distroless').split(/\s+/).filter(Boolean);
const SOURCES = (process.env['SOURCES'] ?? 'registry docker oci oci-archive rootfs').split(/\s+/).filter(Boolean);

if (!existsSync(join(IMAGES_DIR, 'oci'))) {
  process.stderr.write(`no benchmark images in ${IMAGES_DIR}: run (as root) REGISTRY=${REGISTRY} ../shared/bench/start-registry.sh && ../shared/bench/make-images.sh ${IMAGES_DIR}\n`);
  process.exit(1);
}
const haveTrivy = existsSync(TRIVY);
if (!haveTrivy) process.stderr.write(`warning: no Trivy at ${TRIVY} (../shared/bench/get-trivy.sh + unupx-go.sh): Trivy columns will be empty\n`);

function ourTarget(src: string, img: string): string[] {
  switch (src) {
    case 'registry':
      return [`${REGISTRY}/bench/${img}:latest`, '--insecure'];
    case 'docker':
      return [`docker-archive:${IMAGES_DIR}/docker/${img}.tar`];
    case 'oci':
      return [`oci:${IMAGES_DIR}/oci/${img}:latest`];
    case 'oci-archive':
      return [`oci-archive:${IMAGES_DIR}/oci-archive/${img}.tar`];
    default:
      return [`rootfs:${IMAGES_DIR}/rootfs/${img}/rootfs`];
  }
}
function trivyTarget(src: string, img: string): string[] | undefined {
  switch (src) {
    case 'registry':
      return ['image', '--image-src', 'remote', '--insecure', `${REGISTRY}/bench/${img}:latest`];
    case 'docker':
      return ['image', '--input', `${IMAGES_DIR}/docker/${img}.tar`];
    case 'oci':
      return ['image', '--input', `${IMAGES_DIR}/oci/${img}`];
    case 'rootfs':
      return ['rootfs', `${IMAGES_DIR}/rootfs/${img}/rootfs`];
    default:
      return undefined; // Trivy 0.44 cannot read oci-archive
  }
}

/** name@version per purl type from a CycloneDX document. */
function packages(file: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  if (!existsSync(file)) return out;
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { components?: { purl?: string; name: string; version?: string; components?: unknown[] }[] };
  const walk = (cs: { purl?: string; name: string; version?: string; components?: unknown[] }[] | undefined): void => {
    for (const c of cs ?? []) {
      const type = /^pkg:([^/]+)\//.exec(c.purl ?? '')?.[1];
      if (type) {
        const key = type === 'deb' || type === 'npm' || type === 'pypi' ? type : type;
        if (!out.has(key)) out.set(key, new Set());
        out.get(key)!.add(`${type === 'pypi' ? c.name.toLowerCase() : c.name}@${c.version ?? ''}`);
      }
      walk(c.components as typeof cs);
    }
  };
  walk(doc.components);
  return out;
}

/** Trivy's CycloneDX puts a deb epoch in the purl (epoch=1), not in `version`: compare without it, count it apart. */
const noEpoch = (set: Set<string>): Set<string> => new Set([...set].map((k) => k.replace(/@\d+:/, '@')));

function diff(a: Map<string, Set<string>>, b: Map<string, Set<string>>): string {
  const parts: string[] = [];
  for (const t of ['deb', 'npm', 'pypi']) {
    const rawX = a.get(t) ?? new Set<string>();
    const rawY = b.get(t) ?? new Set<string>();
    const x = t === 'deb' ? noEpoch(rawX) : rawX;
    const y = t === 'deb' ? noEpoch(rawY) : rawY;
    const epochs = t === 'deb' ? [...rawX].filter((k) => /@\d+:/.test(k) && !rawY.has(k)).length : 0;
    const onlyA = [...x].filter((k) => !y.has(k));
    const onlyB = [...y].filter((k) => !x.has(k));
    const note = epochs ? ` (${epochs} with the epoch in version)` : '';
    parts.push(onlyA.length || onlyB.length ? `${t} ${x.size}/${y.size} (+${onlyA.slice(0, 3).join(',')} -${onlyB.slice(0, 3).join(',')})${note}` : `${t} ${x.size}=${note}`);
  }
  return parts.join('; ');
}

/**
 * Reads every file under `path` once, untimed, so that whichever tool runs first does not pay for
 * the disk while the other reads the page cache (rootfs trees and archives are hundreds of MB).
 */
const REGISTRY_DIR = process.env['REGISTRY_DIR'] ?? '/tmp/bench-registry';
const block = Buffer.allocUnsafe(4 << 20);
function warmPageCache(path: string): void {
  if (!existsSync(path)) return;
  const st = lstatSync(path);
  if (st.isDirectory()) {
    for (const e of readdirSync(path)) warmPageCache(join(path, e));
  } else if (st.isFile()) {
    const fd = openSync(path, 'r');
    try {
      while (readSync(fd, block, 0, block.length, null) > 0);
    } finally {
      closeSync(fd);
    }
  }
}
function inputOf(src: string, img: string): string {
  switch (src) {
    case 'registry':
      return join(REGISTRY_DIR, 'data');
    case 'docker':
      return join(IMAGES_DIR, 'docker', `${img}.tar`);
    case 'oci':
      return join(IMAGES_DIR, 'oci', img);
    case 'oci-archive':
      return join(IMAGES_DIR, 'oci-archive', `${img}.tar`);
    default:
      return join(IMAGES_DIR, 'rootfs', img, 'rootfs');
  }
}

const rows: (string | number)[][] = [];
const out = mkdtempSync(join(tmpdir(), 'bench-sbom-'));
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
const loadBefore = load();
for (const img of IMAGES) {
  for (const src of SOURCES) {
    const ours: number[] = [];
    const oursCpu: number[] = [];
    const theirsCpu: number[] = [];
    const ratios: number[] = [];
    const coldRss: number[] = [];
    const oursRss: number[] = [];
    const warm: number[] = [];
    const theirs: number[] = [];
    const theirsRss: number[] = [];
    const ourFile = join(out, `${img}-${src}.ours.cdx.json`);
    const trivyFile = join(out, `${img}-${src}.trivy.cdx.json`);
    warmPageCache(inputOf(src, img));
    for (let r = 0; r < RUNS; r++) {
      const cache = mkdtempSync(join(tmpdir(), 'bench-pc-'));
      const args = [MAIN, '--cache-dir', cache, 'sbom', ...ourTarget(src, img), '--format', 'cyclonedx', '--output', ourFile];
      const cold = measure(NODE, args);
      if (!cold.ok) process.stderr.write(`portcullis failed on ${img} ${src}: ${cold.stderr}\n`);
      ours.push(cold.wallS);
      oursCpu.push(cold.cpuS);
      coldRss.push(cold.rssMb);
      oursRss.push(cold.rssMb);
      const w = measure(NODE, args);
      warm.push(w.wallS);
      oursRss.push(w.rssMb);
      rmSync(cache, { recursive: true, force: true });
      const tt = trivyTarget(src, img);
      if (haveTrivy && tt) {
        const tc = mkdtempSync(join(tmpdir(), 'bench-trivy-'));
        const t = measure(TRIVY, ['--cache-dir', tc, '-q', ...tt, '--format', 'cyclonedx', '-o', trivyFile]);
        if (!t.ok) process.stderr.write(`trivy failed on ${img} ${src}\n`);
        theirs.push(t.wallS);
        theirsCpu.push(t.cpuS);
        theirsRss.push(t.rssMb);
        ratios.push(cold.wallS / t.wallS);
        rmSync(tc, { recursive: true, force: true });
      }
    }
    const oc = median(ours);
    const tc = median(theirs);
    const ratio = median(ratios);
    rows.push([
      img,
      src,
      oc,
      median(oursCpu),
      median(warm) * 1000,
      Math.max(...oursRss),
      median(coldRss),
      tc,
      median(theirsCpu),
      median(theirsRss),
      Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : 'n/a',
      existsSync(trivyFile) ? diff(packages(ourFile), packages(trivyFile)) : '',
    ]);
    process.stderr.write(`${img} ${src}: ours ${oc.toFixed(2)} s, trivy ${Number.isFinite(tc) ? tc.toFixed(2) : 'n/a'} s\n`);
  }
}
process.stdout.write(
  `${table(['image', 'source', 'ours cold s', 'ours cold CPU s', 'ours warm ms', 'ours peak RSS MB (max)', 'ours cold RSS MB (median)', 'trivy cold s', 'trivy CPU s', 'trivy RSS MB', 'ours/trivy (wall)', 'packages ours/trivy (deb, npm, pypi)'], rows)}\n`,
);
process.stdout.write(
  `\n(${RUNS} runs each, medians; ours/trivy = median of the per-run ratios; peak RSS = the largest of all our runs, cold and warm; cold = empty cache dir, inputs read once beforehand so both tools start with them in the page cache; Trivy ${TRIVY}; load average before ${loadBefore}, after ${load()}; reports in ${out})\n`,
);
