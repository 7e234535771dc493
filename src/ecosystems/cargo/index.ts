/**
 * Rust crates from Cargo.lock (`cargo`), as Trivy 0.44.1 lists them, in images and project
 * directories alike (Trivy 0.44 reads Cargo.lock in `image`, `rootfs` and `fs`: it is not one of
 * its lock-file analyzers that the image scan turns off). Every `[[package]]` of the lock, one per
 * name@version (the root crate and path crates included), unless a Cargo.toml sits beside it:
 * then only what `[dependencies]`, `[target.*.dependencies]` and `[workspace.dependencies]` name
 * (the first locked version satisfying the requirement; path and git dependencies without a
 * `version` are not matched), and everything they depend on, once each; without one a crate
 * written twice in the lock is listed twice, as Trivy lists it. So dev-dependencies, build-only and
 * unreachable crates and the root crate itself drop out, as Trivy drops them.
 * Relationship: 'direct' / 'indirect' with a Cargo.toml, 'unknown' without.
 */
import type { FsFile, Package, ReadonlyFs } from '../../domain/index.ts';
import { describeError } from '../../shared/errors.ts';
import type { Cataloger, CatalogContext } from '../types.ts';
import { makePurl } from '../os/purl.ts';
import { withoutAliases } from '../python/aliases.ts';
import { parseToml, tomlArray, tomlString, tomlTable, type TomlTable } from '../python/toml.ts';
import { RequirementError, satisfies } from './requirement.ts';

const base = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
const dirOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const join = (dir: string, name: string): string => (dir ? `${dir}/${name}` : name);

export const CARGO_LOCK = 'Cargo.lock';
export const CARGO_TOML = 'Cargo.toml';

export function cargoPurl(name: string, version: string): string {
  return makePurl('cargo', undefined, name, version, {});
}

export interface Crate {
  name: string;
  version: string;
  /** name@version of the crates it depends on. */
  dependsOn: string[];
}

export class CargoLockError extends Error {}

const id = (name: string, version: string): string => `${name}@${version}`;

/**
 * Cargo.lock v1–v4: `[[package]]` tables in file order. A name@version written twice is kept twice
 * (Trivy 0.44 lists it twice when no Cargo.toml folds the list).
 */
export function parseCargoLock(text: string): Crate[] {
  let doc: TomlTable;
  try {
    doc = parseToml(text);
  } catch (err) {
    throw new CargoLockError(`not TOML (${describeError(err)})`);
  }
  const raw: { name: string; version: string; deps: string[] }[] = [];
  for (const v of tomlArray(doc['package'])) {
    const t = tomlTable(v);
    const name = tomlString(t?.['name']);
    if (!t || !name) continue;
    const deps = tomlArray(t['dependencies']).map((d) => tomlString(d)).filter((d): d is string => d !== undefined);
    raw.push({ name, version: tomlString(t['version']) ?? '', deps });
  }
  // a bare dependency name means the only locked version of that crate (the last, as Trivy's map)
  const byName = new Map<string, string>();
  for (const r of raw) byName.set(r.name, r.version);
  const out: Crate[] = [];
  for (const r of raw) {
    const dependsOn: string[] = [];
    for (const d of r.deps) {
      // 'name', 'name version', or (lock v1) 'name version (source)'
      const f = d.trim().split(/\s+/);
      if (f.length === 1) {
        const v = byName.get(f[0]!);
        if (v !== undefined) dependsOn.push(id(f[0]!, v));
      } else if (f.length === 2 || f.length === 3) dependsOn.push(id(f[0]!, f[1]!));
    }
    out.push({ name: r.name, version: r.version, dependsOn });
  }
  return out;
}

/** Dependency name → version requirement from a Cargo.toml (those with a `version` only). */
export function cargoTomlDependencies(text: string): Map<string, string> {
  const doc = parseToml(text);
  const tables: (TomlTable | undefined)[] = [tomlTable(doc['dependencies'])];
  for (const t of Object.values(tomlTable(doc['target']) ?? {})) tables.push(tomlTable(tomlTable(t)?.['dependencies']));
  tables.push(tomlTable(tomlTable(doc['workspace'])?.['dependencies']));
  const out = new Map<string, string>();
  for (const t of tables) {
    for (const [name, v] of Object.entries(t ?? {})) {
      const req = typeof v === 'string' ? v : tomlString(tomlTable(v)?.['version']);
      if (req !== undefined) out.set(name, req);
    }
  }
  return out;
}

/** The crates a Cargo.toml's dependencies reach: name@version → direct? */
export function reachable(crates: readonly Crate[], deps: ReadonlyMap<string, string>): Map<string, boolean> {
  const byId = new Map<string, Crate>();
  for (const c of crates) if (!byId.has(id(c.name, c.version))) byId.set(id(c.name, c.version), c);
  const out = new Map<string, boolean>();
  for (const [name, req] of deps) {
    for (const c of crates) {
      if (c.name !== name) continue;
      let ok: boolean;
      try {
        ok = satisfies(c.version, req);
      } catch (err) {
        if (err instanceof RequirementError) continue; // Trivy: warns and tries the next version
        throw err;
      }
      if (ok) {
        out.set(id(c.name, c.version), true);
        break;
      }
    }
  }
  const stack = [...out.keys()];
  while (stack.length) {
    const c = byId.get(stack.pop()!);
    for (const d of c?.dependsOn ?? []) {
      if (out.has(d) || !byId.has(d)) continue;
      out.set(d, false);
      stack.push(d);
    }
  }
  return out;
}

function lockPackages(fs: ReadonlyFs, file: FsFile, ctx: CatalogContext): Package[] {
  const crates = parseCargoLock(file.content.toString('utf8'));
  let keep: Map<string, boolean> | undefined;
  const toml = fs.get(join(dirOf(file.path), CARGO_TOML));
  if (toml) {
    try {
      keep = reachable(crates, cargoTomlDependencies(toml.content.toString('utf8')));
    } catch (err) {
      ctx.notes.push(`cargo: /${toml.path} could not be read (${describeError(err)}); every crate of /${file.path} is listed, dev-dependencies included`);
    }
  }
  const out: Package[] = [];
  const seen = new Set<string>();
  for (const c of crates) {
    const key = id(c.name, c.version);
    const direct = keep?.get(key);
    if (keep && (direct === undefined || seen.has(key))) continue; // Trivy's Cargo.toml walk keeps one per name@version
    seen.add(key);
    out.push({
      type: 'cargo',
      name: c.name,
      version: c.version,
      purl: cargoPurl(c.name, c.version),
      locations: [file.layer ? { path: file.path, layer: file.layer } : { path: file.path }],
      filePath: file.path,
      relationship: direct === undefined ? 'unknown' : direct ? 'direct' : 'indirect',
    });
  }
  return out;
}

export function catalogCargo(fs: ReadonlyFs, ctx: CatalogContext): Package[] {
  const out: Package[] = [];
  for (const f of withoutAliases(fs.files())) {
    if (base(f.path) !== CARGO_LOCK) continue;
    try {
      out.push(...lockPackages(fs, f, ctx));
    } catch (err) {
      ctx.notes.push(`cargo: /${f.path} could not be read (${describeError(err)}); its packages are missing`);
    }
  }
  return out;
}

export const cargoCataloger: Cataloger = {
  id: 'cargo',
  version: 1,
  kind: 'lang',
  types: ['cargo'],
  wants: (f) => {
    const b = base(f.path);
    return b === CARGO_LOCK || b === CARGO_TOML;
  },
  maxFileSize: 32 * 1024 * 1024,
  catalog: catalogCargo,
};
