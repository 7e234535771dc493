/**
 * Which paths the npm cataloger reads. Leaf module (imports nothing): the OS-owned-file filter uses it.
 */

const base = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** Directory part of a path ('' for a top-level file). */
export const dirOf = (path: string): string => {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
};

/** True when a path segment is exactly `node_modules`. */
export function inNodeModules(path: string): boolean {
  return path.startsWith('node_modules/') || path.includes('/node_modules/');
}

export function isPackageJson(path: string): boolean {
  return path === 'package.json' || path.endsWith('/package.json');
}

export type JsLockKind = 'npm' | 'yarn' | 'pnpm';

/** Lock files, except copies inside node_modules (packages' own locks describe nothing installed). */
export function jsLockKind(path: string): JsLockKind | undefined {
  let kind: JsLockKind | undefined;
  switch (base(path)) {
    case 'package-lock.json':
      kind = 'npm';
      break;
    case 'yarn.lock':
      kind = 'yarn';
      break;
    case 'pnpm-lock.yaml':
      kind = 'pnpm';
      break;
    default:
      return undefined;
  }
  return inNodeModules(path) ? undefined : kind;
}
