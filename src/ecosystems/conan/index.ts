/**
 * C/C++ Conan: conan.lock (`conan`), the Conan 1 lock format, as Trivy 0.44 reads it: every node
 * of `graph_lock.nodes` with a `ref` of the form name/version (a `@user/channel` and `#revision`
 * suffix dropped; other refs skipped). A node that node "0" (the root) requires is direct, every
 * other one — the root itself included, as Trivy prints it — indirect. Conan 2 locks (a flat
 * `requires` list, no `graph_lock`) give nothing, as in Trivy 0.44. Project directories only
 * (see ../lockfile.ts).
 */
import { makePurl } from '../os/purl.ts';
import { lockFileCataloger, type LockEntry } from '../lockfile.ts';

export const CONAN_LOCK = 'conan.lock';

export function conanPurl(name: string, version: string): string {
  return makePurl('conan', undefined, name, version, {});
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function strings(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${what} is not a list of strings`);
  return v as string[];
}

export function parseConanLock(text: string): LockEntry[] {
  const doc: unknown = JSON.parse(text);
  if (!isMap(doc)) throw new Error('not a JSON object');
  const graph = doc['graph_lock'];
  if (graph === undefined || graph === null) return [];
  if (!isMap(graph)) throw new Error('graph_lock is not an object');
  const nodes = graph['nodes'];
  if (nodes === undefined || nodes === null) return [];
  if (!isMap(nodes)) throw new Error('graph_lock.nodes is not an object');
  const root = nodes['0'];
  const direct = new Set(isMap(root) ? strings(root['requires'], 'graph_lock.nodes.0.requires') : []);
  const out: LockEntry[] = [];
  for (const [key, node] of Object.entries(nodes)) {
    if (!isMap(node)) throw new Error(`graph_lock.nodes.${key} is not an object`);
    const ref = node['ref'];
    if (ref === undefined || ref === null || ref === '') continue;
    if (typeof ref !== 'string') throw new Error(`graph_lock.nodes.${key}.ref is not a string`);
    // name/version@user/channel#rrev:package_id#prev
    const parts = (ref.split('@')[0] as string).split('#')[0]!.split('/');
    if (parts.length !== 2) continue;
    out.push({ name: parts[0] as string, version: parts[1] as string, relationship: direct.has(key) ? 'direct' : 'indirect' });
  }
  return out;
}

export const conanCataloger = lockFileCataloger({
  id: 'conan',
  version: 1,
  type: 'conan',
  basename: CONAN_LOCK,
  maxFileSize: 16 * 1024 * 1024,
  parse: parseConanLock,
  purl: conanPurl,
});
