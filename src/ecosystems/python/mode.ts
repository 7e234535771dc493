/**
 * Image or project semantics for language catalogers, as Trivy's `image`/`rootfs` and `fs`/`repo`
 * commands differ (and syft's installed vs declared catalogers):
 *  - an image lists what is installed: node_modules/…/package.json, dist-info, Go binaries, jars.
 *    Lock files describe intent, not content (a later layer may delete or replace a package), so
 *    an npm/yarn/pnpm lock is read only where no node_modules sits beside it; pip, poetry and
 *    pipenv locks are not read (Trivy does not either); go.mod is (Trivy 0.44 does).
 *  - a project directory lists its lock files; node_modules under a directory with a lock file is
 *    represented by that lock (its package.json files only give licenses).
 * Container images are images; a rootfs is an image when it has an OS release file, else a project.
 */
import type { CatalogContext } from '../types.ts';

export type LangMode = 'image' | 'project';

export function langMode(ctx: Pick<CatalogContext, 'os' | 'artifactType'>): LangMode {
  switch (ctx.artifactType) {
    case 'container_image':
      return 'image';
    case 'filesystem':
    case 'repository':
      return 'project';
    default:
      return ctx.os ? 'image' : 'project';
  }
}
