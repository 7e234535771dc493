/**
 * The dependency arrows of STYLE.md (b), enforced: every relative import in src/ (static, dynamic,
 * type-only) may only point at a folder its stage is allowed to use. A new arrow needs a line here,
 * with its reason, or the code belongs elsewhere.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from './helpers/paths.ts';

const SRC = join(REPO_ROOT, 'src');

/** stage → the stages it may import (shared and domain are implied for everyone but shared). */
const ALLOWED: Record<string, readonly string[]> = {
  shared: [],
  domain: [],
  versions: [],
  config: [],
  ecosystems: ['versions'],
  image: [],
  vulndb: ['versions'],
  scan: ['versions', 'ecosystems', 'image', 'vulndb'],
  policy: [],
  report: ['versions', 'ecosystems'],
  store: [],
  metrics: [],
  admission: ['policy'],
  backends: ['scan', 'image', 'vulndb', 'ecosystems', 'config', 'versions'],
  server: ['admission', 'policy', 'backends', 'metrics', 'store', 'config', 'scan', 'image', 'vulndb'],
  cli: ['*'],
  main: ['cli'],
};

/** Single files that lower stages may use: leaf modules with no dependencies of their own stage. */
const LEAF_EXCEPTIONS: Record<string, readonly string[]> = {
  // The OCI/Docker reference grammar: policy matches registries and admission pins digests with it.
  'image/reference.ts': ['policy', 'admission', 'vulndb'],
  // Pulling trivy-db:2 is an OCI artifact download: the project's one registry client does it.
  'image/registry/client.ts': ['vulndb'],
  'image/manifest.ts': ['vulndb'],
};

interface Edge {
  file: string;
  from: string;
  to: string;
  target: string;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) {
      if (n !== 'testdata') out.push(...tsFiles(p));
    } else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const stageOf = (rel: string): string => rel.split('/')[0]?.replace(/\.ts$/, '') ?? '';

function edges(): Edge[] {
  const out: Edge[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"](\.[^'"]+)['"]/g;
  for (const file of tsFiles(SRC)) {
    const rel = relative(SRC, file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(re)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec) continue;
      const target = relative(SRC, resolve(dirname(file), spec));
      const from = stageOf(rel);
      const to = stageOf(target);
      if (from !== to) out.push({ file: rel, from, to, target });
    }
  }
  return out;
}

function allowed(e: Edge): boolean {
  if (e.to === 'shared') return true;
  if (e.to === 'domain') return e.from !== 'shared';
  const list = ALLOWED[e.from];
  if (!list) return false;
  if (list.includes('*') || list.includes(e.to)) return true;
  return (LEAF_EXCEPTIONS[e.target] ?? []).includes(e.from);
}

describe('architecture: dependencies point down the pipeline', () => {
  const all = edges();
  it('finds the imports it checks', () => {
    assert.ok(all.length > 100, `only ${all.length} cross-stage imports found: is the parser broken?`);
    assert.ok(all.some((e) => e.from === 'scan' && e.to === 'image'));
  });
  it('every src/ folder is a known stage', () => {
    const stages = new Set(readdirSync(SRC).map((n) => n.replace(/\.ts$/, '')));
    for (const s of stages) assert.ok(s in ALLOWED, `src/${s} is not in the ALLOWED table`);
  });
  it('no import goes up or sideways', () => {
    const bad = all.filter((e) => !allowed(e)).map((e) => `${e.file} → ${e.target}`);
    assert.deepEqual(bad, []);
  });
  it('the table itself has no cycle', () => {
    const seen = new Set<string>();
    const visit = (s: string, path: string[]): void => {
      assert.ok(!path.includes(s), `cycle: ${[...path, s].join(' → ')}`);
      if (seen.has(`${s}:${path.length}`)) return;
      seen.add(`${s}:${path.length}`);
      for (const t of ALLOWED[s] ?? []) if (t !== '*') visit(t, [...path, s]);
    };
    for (const s of Object.keys(ALLOWED)) visit(s, []);
  });
});
