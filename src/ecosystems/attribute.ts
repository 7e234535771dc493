/**
 * Layer attribution as Trivy's applier does it (pkg/fanal/applier): a package's layer is the FIRST
 * layer whose own copy of the file it was read from lists it with the same name and version (Trivy
 * compares Name, Version and Release, not the epoch) — for an OS package the layer that installed it
 * at that version, not the last one that rewrote the dpkg/apk/rpm database; for a language package
 * the first layer whose copy of its package.json, METADATA, jar or binary names it.
 *
 * Cheap: only files more than one layer wrote have copies (ReadonlyFs.layerCopies), and only the
 * earlier copies are cataloged again, each alone, by the cataloger that read the file.
 * Knowingly narrower than Trivy for OS packages: a package is looked up in the copies of its own
 * database file, not in every database file of every layer (the same answer unless one image
 * lists a package in two different database files, e.g. `status` and `status.d/`).
 */
import { MemoryFs, type FsFile, type Package, type ReadonlyFs } from '../domain/index.ts';
import type { Cataloger, CatalogContext } from './types.ts';

const key = (name: string, version: string): string => `${name}\0${version.replace(/^\d+:/, '')}`;

/** Sets `locations[].layer` of `found` (what `c` cataloged from `fs`) to the layer that first had each package. */
export async function attributeLayers(fs: ReadonlyFs, c: Cataloger, found: Package[], ctx: CatalogContext): Promise<void> {
  if (!fs.layerCopies || found.length === 0) return;
  const copiesOf = new Map<string, readonly FsFile[]>();
  for (const p of found) {
    for (const l of p.locations) {
      if (!l.layer || copiesOf.has(l.path)) continue;
      const copies = fs.layerCopies(l.path);
      if (copies && copies.length > 1) copiesOf.set(l.path, copies);
    }
  }
  if (copiesOf.size === 0) return;
  for (const [path, copies] of copiesOf) {
    // what each earlier layer's copy lists (the last copy is the file `found` came from)
    const listed: { layer: string; keys: Set<string> }[] = [];
    for (const copy of copies.slice(0, -1)) {
      if (!copy.layer) continue;
      const sub: CatalogContext = { notes: [] };
      if (ctx.os) sub.os = ctx.os;
      if (ctx.artifactType) sub.artifactType = ctx.artifactType;
      let pkgs: Package[];
      try {
        pkgs = await c.catalog(new MemoryFs([copy]), sub);
      } catch {
        continue; // an unreadable older copy lists nothing
      }
      listed.push({ layer: copy.layer, keys: new Set(pkgs.map((p) => key(p.name, p.version))) });
    }
    for (const p of found) {
      const k = key(p.name, p.version);
      for (const l of p.locations) {
        if (l.path !== path || !l.layer) continue;
        const first = listed.find((x) => x.keys.has(k));
        if (first) l.layer = first.layer;
      }
    }
  }
}
