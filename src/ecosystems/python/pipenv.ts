/** Pipfile.lock: JSON, `default` (runtime) and `develop` sections of name → {version: "==x"}. */

export interface PipenvPackage {
  name: string;
  version: string;
  dev: boolean;
}

export class PipfileLockError extends Error {}

export function parsePipfileLock(text: string): PipenvPackage[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new PipfileLockError(`not JSON (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new PipfileLockError('not a JSON object');
  const out: PipenvPackage[] = [];
  for (const [section, dev] of [['default', false], ['develop', true]] as const) {
    const deps = (doc as Record<string, unknown>)[section];
    if (typeof deps !== 'object' || deps === null) continue;
    for (const [name, d] of Object.entries(deps as Record<string, unknown>)) {
      const v = typeof d === 'object' && d !== null ? (d as Record<string, unknown>)['version'] : undefined;
      if (typeof v !== 'string') continue; // VCS / path dependencies have no version
      const version = v.replace(/^=+/, '');
      if (version) out.push({ name, version, dev });
    }
  }
  return out;
}
