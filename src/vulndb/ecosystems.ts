/**
 * OSV ecosystem names as the OSV bucket lays them out (`<base>/<Ecosystem>/all.zip`; the bucket
 * publishes the base ecosystems, records inside name releases: `Debian:12`). From OSV schema 1.6's
 * ecosystem list; a name not here is refused with the list, so a typo never silently does nothing.
 */
import { UserError } from '../shared/errors.ts';

export const OSV_ECOSYSTEMS: readonly string[] = [
  'AlmaLinux', 'Alpaquita', 'Alpine', 'Android', 'Azure Linux', 'BellSoft Hardened Containers', 'Bioconductor', 'Bitnami',
  'CRAN', 'Chainguard', 'CleanStart', 'ConanCenter', 'Debian', 'Docker Hardened Images', 'Echo', 'FreeBSD', 'GHC',
  'GitHub Actions', 'Go', 'Hackage', 'Hex', 'Julia', 'Kubernetes', 'Linux', 'Mageia', 'Maven', 'MinimOS', 'NuGet',
  'OSS-Fuzz', 'Packagist', 'Photon OS', 'Pub', 'PyPI', 'Red Hat', 'Rocky Linux', 'Root', 'RubyGems', 'SUSE', 'SwiftURL',
  'TuxCare', 'Ubuntu', 'VSCode', 'Wolfi', 'crates.io', 'npm', 'opam', 'openEuler', 'openSUSE',
];

/**
 * `db update` without --ecosystem: the OS distributions Portcullis detects and matches through OSV
 * (ecosystems/osv-ecosystem.ts), and the language registries it catalogues.
 */
export const DEFAULT_ECOSYSTEMS: readonly string[] = [
  'Debian', 'Ubuntu', 'Alpine', 'Rocky Linux', 'AlmaLinux', 'SUSE', 'openSUSE', 'Wolfi', 'Chainguard', 'Photon OS', 'Azure Linux',
  'npm', 'PyPI', 'Go', 'Maven', 'crates.io', 'RubyGems', 'NuGet', 'Packagist',
];

const BY_LOWER = new Map(OSV_ECOSYSTEMS.map((e) => [e.toLowerCase(), e]));
const SHORT: Readonly<Record<string, string>> = { rocky: 'Rocky Linux', alma: 'AlmaLinux', photon: 'Photon OS', azurelinux: 'Azure Linux', 'azure-linux': 'Azure Linux', crates: 'crates.io', cargo: 'crates.io', pypi: 'PyPI', golang: 'Go', gem: 'RubyGems', composer: 'Packagist' };

/** 'debian' → 'Debian', 'rocky' → 'Rocky Linux'; an unknown name is a UserError listing the known ones. */
export function canonicalEcosystem(name: string): string {
  const n = name.trim();
  const base = n.split(':', 1)[0] ?? n;
  const hit = BY_LOWER.get(base.toLowerCase()) ?? SHORT[base.toLowerCase()];
  if (!hit) throw new UserError(`unknown OSV ecosystem "${name}" (known: ${OSV_ECOSYSTEMS.join(', ')})`, { code: 'UNKNOWN_ECOSYSTEM' });
  if (base !== n) throw new UserError(`"${name}": the OSV bucket publishes whole ecosystems; use "${hit}" (records for every release are inside)`, { code: 'UNKNOWN_ECOSYSTEM' });
  return hit;
}

/** Parse a --ecosystem list ('Debian,Alpine,Rocky Linux'); empty → the defaults. Duplicates folded. */
export function parseEcosystemList(list: readonly string[] | undefined): string[] {
  const names = (list ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) return [...DEFAULT_ECOSYSTEMS];
  return [...new Set(names.map(canonicalEcosystem))];
}

/** The `db status` / DB source id of an ecosystem fetched from a bucket or mirror. */
export function ecosystemSourceId(ecosystem: string): string {
  return `osv:${ecosystem}`;
}
