/**
 * Which paths the Python cataloger reads. Leaf module (imports nothing): the OS-owned-file filter in
 * system-files.ts uses these predicates too. Rules as Trivy's python-pkg, pip, poetry and pipenv analyzers.
 */

const base = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** Installed-package metadata: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, `EGG-INFO/PKG-INFO`, an `*.egg-info` file. */
export function isPythonMetadata(path: string): boolean {
  if (path.endsWith('/METADATA') || path === 'METADATA') return path.includes('.dist-info');
  if (path.endsWith('/PKG-INFO')) return path.endsWith('.egg-info/PKG-INFO') || path.endsWith('EGG-INFO/PKG-INFO');
  return path.endsWith('.egg-info');
}

/** A zipped egg (setuptools' binary distribution): a file named `*.egg`. */
export function isEggFile(path: string): boolean {
  return path.endsWith('.egg') && !path.endsWith('/.egg') && path !== '.egg';
}

export const REQUIREMENTS = 'requirements.txt';
export const POETRY_LOCK = 'poetry.lock';
export const PYPROJECT = 'pyproject.toml';
export const PIPFILE_LOCK = 'Pipfile.lock';

export type PythonLockKind = 'pip' | 'poetry' | 'pipenv' | 'pyproject';

export function pythonLockKind(path: string): PythonLockKind | undefined {
  switch (base(path)) {
    case REQUIREMENTS:
      return 'pip';
    case POETRY_LOCK:
      return 'poetry';
    case PIPFILE_LOCK:
      return 'pipenv';
    case PYPROJECT:
      return 'pyproject';
    default:
      return undefined;
  }
}
