import { lstatSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { join, relative } from 'node:path';
import { MemoryFs, type FsFile } from '../../src/domain/index.ts';

/** Load a directory tree as a MemoryFs, keeping only files `wants` accepts (as the layer walker does). */
export function loadTree(root: string, wants: (f: { path: string; size: number; mode: number }) => boolean): MemoryFs {
  const files: FsFile[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      let st: Stats = lstatSync(abs);
      if (st.isSymbolicLink()) {
        // follow links to files (etc/os-release → ../usr/lib/os-release), never into directories
        try {
          st = statSync(abs);
        } catch {
          continue; // dangling link
        }
        if (!st.isFile()) continue;
      }
      if (st.isDirectory()) walk(abs);
      else if (st.isFile()) {
        const path = relative(root, abs).split('\\').join('/');
        const h = { path, size: st.size, mode: st.mode };
        if (wants(h)) files.push({ path, content: readFileSync(abs), mode: st.mode, size: st.size });
      }
    }
  };
  walk(root);
  return new MemoryFs(files);
}
