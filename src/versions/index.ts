/**
 * Version comparators by OSV ecosystem (https://ossf.github.io/osv-schema/#affectedpackage-field).
 * The ':release' suffix is ignored: 'Debian:12' → dpkg, 'Alpine:v3.19' → apk, 'Rocky Linux:9' → rpm.
 * Packagist uses the SemVer-ish comparator (see docs/matching.md).
 */
import { apk } from './apk.ts';
import { dpkg } from './dpkg.ts';
import { maven } from './maven.ts';
import { pep440 } from './pep440.ts';
import { rpm } from './rpm.ts';
import { rubygems } from './rubygems.ts';
import { crates, go, nuget, semver } from './semver.ts';
import type { Comparator } from './types.ts';
import { ScannerError } from '../shared/errors.ts';

export type { Comparator } from './types.ts';

/** Base ecosystem name (before the first ':') → comparator. One line per ecosystem. */
const BY_ECOSYSTEM: ReadonlyMap<string, Comparator> = new Map<string, Comparator>([
  ['Debian', dpkg],
  ['Ubuntu', dpkg],
  ['Alpine', apk],
  ['Wolfi', apk],
  ['Chainguard', apk],
  ['MinimOS', apk],
  ['Alpaquita', apk],
  ['BellSoft Hardened Containers', apk],
  ['Rocky Linux', rpm],
  ['AlmaLinux', rpm],
  ['Red Hat', rpm],
  ['SUSE', rpm],
  ['openSUSE', rpm],
  ['Mageia', rpm],
  ['Photon OS', rpm],
  ['Azure Linux', rpm],
  ['CBL-Mariner', rpm],
  ['openEuler', rpm],
  ['npm', semver],
  ['Go', go],
  ['PyPI', pep440],
  ['Maven', maven],
  ['RubyGems', rubygems],
  ['NuGet', nuget],
  ['crates.io', crates],
  ['Packagist', { ...semver, id: 'packagist' }],
  ['Hex', semver],
  ['Pub', semver],
  ['SwiftURL', semver],
  ['Bitnami', semver],
]);

/** The ecosystem name without its release suffix: 'Ubuntu:22.04:LTS' → 'Ubuntu'. */
export function baseEcosystem(ecosystem: string): string {
  const i = ecosystem.indexOf(':');
  return i < 0 ? ecosystem : ecosystem.slice(0, i);
}

export function comparatorFor(ecosystem: string): Comparator | undefined {
  return BY_ECOSYSTEM.get(baseEcosystem(ecosystem));
}

/** Compare two versions of an ecosystem (-1, 0, 1). Throws only for an ecosystem with no comparator. */
export function compareVersions(ecosystem: string, a: string, b: string): number {
  const c = comparatorFor(ecosystem);
  if (!c) throw new ScannerError('VERSION_UNKNOWN_ECOSYSTEM', `no version comparator for ecosystem '${ecosystem}'`);
  return c.compare(a, b);
}

/** The comparator ids this module knows (for docs and `db status`). */
export function knownEcosystems(): string[] {
  return [...BY_ECOSYSTEM.keys()];
}
