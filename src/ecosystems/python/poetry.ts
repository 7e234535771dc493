/**
 * poetry.lock (`[[package]]` name/version, `category = "dev"` or a dev-only group) and the
 * pyproject.toml beside it for direct dependencies (`[tool.poetry.dependencies]`,
 * `[tool.poetry.group.*.dependencies]`, PEP 621 `[project] dependencies`).
 */
import { parseToml, tomlArray, tomlString, tomlTable, type TomlTable } from './toml.ts';

export interface PoetryPackage {
  name: string;
  version: string;
  dev: boolean;
  /** Names (PEP 503 normalised) it depends on. */
  dependsOn: string[];
}

export const pep503 = (name: string): string => name.replace(/[-_.]+/g, '-').toLowerCase();

export function parsePoetryLock(text: string): PoetryPackage[] {
  const doc = parseToml(text);
  const out: PoetryPackage[] = [];
  for (const v of tomlArray(doc['package'])) {
    const t = tomlTable(v);
    if (!t) continue;
    const name = tomlString(t['name']);
    const version = tomlString(t['version']);
    if (!name || !version) continue;
    const category = tomlString(t['category']);
    const groups = tomlArray(t['groups']).map((g) => tomlString(g)).filter((g): g is string => g !== undefined);
    const dev = category === 'dev' || (groups.length > 0 && !groups.includes('main'));
    out.push({ name, version, dev, dependsOn: Object.keys(tomlTable(t['dependencies']) ?? {}).map(pep503) });
  }
  return out;
}

function depNames(t: TomlTable | undefined): string[] {
  return Object.keys(t ?? {}).filter((k) => k.toLowerCase() !== 'python').map(pep503);
}

/** Direct dependency names of a pyproject.toml (normalised); undefined when it declares none. */
export function pyprojectDirectDeps(text: string): Set<string> | undefined {
  const doc = parseToml(text);
  const names: string[] = [];
  const poetry = tomlTable(tomlTable(doc['tool'])?.['poetry']);
  names.push(...depNames(tomlTable(poetry?.['dependencies'])));
  names.push(...depNames(tomlTable(poetry?.['dev-dependencies'])));
  for (const g of Object.values(tomlTable(poetry?.['group']) ?? {})) names.push(...depNames(tomlTable(tomlTable(g)?.['dependencies'])));
  for (const spec of tomlArray(tomlTable(doc['project'])?.['dependencies'])) {
    const m = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(tomlString(spec) ?? '');
    if (m?.[1]) names.push(pep503(m[1]));
  }
  return names.length ? new Set(names) : undefined;
}
