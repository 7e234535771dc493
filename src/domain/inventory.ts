/**
 * What the scanning engine found in an artifact. Produced by image/ + ecosystems/, consumed by
 * report/ (SBOM writers), scan/ (matching) and admission/.
 */

/** Trivy's OS family names, so Trivy-compatible reports need no mapping. */
export type OsFamily =
  | 'alpine'
  | 'wolfi'
  | 'chainguard'
  | 'debian'
  | 'ubuntu'
  | 'redhat'
  | 'centos'
  | 'rocky'
  | 'alma'
  | 'fedora'
  | 'amazon'
  | 'oracle'
  | 'cbl-mariner'
  | 'azurelinux'
  | 'photon'
  | 'opensuse.leap'
  | 'opensuse.tumbleweed'
  | 'suse linux enterprise server'
  | 'suse linux enterprise micro';

export interface OsInfo {
  family: OsFamily;
  /** As Trivy reports it: '3.19.1' (alpine), '12.5' or '12' (debian), '22.04' (ubuntu), '8.9' (rocky), '2' (amazon). */
  version: string;
  codename?: string;
  prettyName?: string;
  /** True when the release file says distroless (e.g. Debian-based gcr.io/distroless). */
  distroless?: boolean;
  /** True when Trivy would consider it end-of-life (filled by the matcher when it knows). */
  eosl?: boolean;
  /**
   * Extended maintenance is on: Ubuntu Pro / ESM (`var/lib/ubuntu-advantage/status.json` has
   * esm-infra enabled), as Trivy's OS.Extended; Trivy then matches Ubuntu as '<version>-ESM'.
   */
  extended?: boolean;
  /**
   * The package repository release when it differs from the release file's view (Alpine:
   * etc/apk/repositories → 'edge', '3.19'), as Trivy's Metadata.OS / Repository; Trivy's Alpine
   * matching prefers it.
   */
  repository?: { family: string; release: string };
}

/**
 * Package kinds. OS: apk, deb, rpm. Language kinds use Trivy's result `Type` names so reports and
 * Trivy JSON agree: node-pkg (node_modules/…/package.json), npm (package-lock.json), python-pkg
 * (dist-info/egg-info), pip/poetry/pipenv (lock files), gobinary, gomod, jar, …
 */
export type PackageType =
  | 'apk'
  | 'deb'
  | 'rpm'
  | 'node-pkg'
  | 'npm'
  | 'yarn'
  | 'pnpm'
  | 'python-pkg'
  | 'pip'
  | 'poetry'
  | 'pipenv'
  | 'gobinary'
  | 'gomod'
  | 'jar'
  | 'pom'
  | 'gemspec'
  | 'bundler'
  | 'cargo'
  | 'composer'
  | 'nuget'
  | 'gradle'
  | 'rust-binary'
  | 'dotnet-core'
  | 'conan'
  | 'pub'
  | 'hex'
  | 'cocoapods'
  | 'swift';

export interface PackageLocation {
  /** Path inside the artifact, no leading slash: 'var/lib/dpkg/status', 'app/node_modules/ms/package.json'. */
  path: string;
  /** Digest of the layer the file came from (diff ID or blob digest), when the source has layers. */
  layer?: string;
}

export interface Package {
  type: PackageType;
  name: string;
  /**
   * The version as the ecosystem prints it and as Trivy shows InstalledVersion:
   * deb '1:2.36.1-8+deb11u1' (epoch kept), apk '1.2.3-r0', rpm '1:1.0.2k-19.el7' (epoch:version-release),
   * npm/pypi as in the metadata; Go modules exactly as Trivy 0.44 prints InstalledVersion: go.mod
   * (gomod) WITHOUT the leading 'v' ('0.3.6', '2.7.1+incompatible'), Go binaries (gobinary) WITH it
   * ('v0.3.6'). The purl always has the 'v'; matchers accept both forms.
   */
  version: string;
  /** RPM only: the parts of `version`. */
  epoch?: number;
  release?: string;
  /** Source package (deb Source:, apk origin, rpm SOURCERPM name). version is the full source version. */
  source?: { name: string; version: string; epoch?: number; release?: string };
  arch?: string;
  licenses?: string[];
  /** package-url, built by the cataloger with packageurl-js. */
  purl: string;
  locations: PackageLocation[];
  /** Language packages: the file or directory whose result group it belongs to (Trivy `Target`), e.g. 'app/package-lock.json' or 'usr/local/bin/app'. */
  filePath?: string;
  /** npm: dev dependency; lock-file packages: relationship as Trivy reports it. */
  dev?: boolean;
  relationship?: 'direct' | 'indirect' | 'workspace' | 'root' | 'unknown';
  /** Ecosystem-specific extra data that writers may print (e.g. rpm vendor, apk maintainer). */
  extra?: Record<string, string>;
}

export interface LayerInfo {
  /** Blob digest as stored (compressed) when known. */
  digest?: string;
  /** Uncompressed diff ID when known. */
  diffId?: string;
  size?: number;
  mediaType?: string;
  /** The history entry (created_by) when the config has one. */
  createdBy?: string;
}

export type ArtifactType = 'container_image' | 'filesystem' | 'rootfs' | 'sbom' | 'repository';

export interface Artifact {
  /** As the user wrote it (Trivy ArtifactName). */
  name: string;
  type: ArtifactType;
  /** Manifest digest (registry / OCI sources). */
  digest?: string;
  /** Image config digest (Trivy ImageID). */
  imageId?: string;
  repoTags?: string[];
  repoDigests?: string[];
  diffIds?: string[];
  layers: LayerInfo[];
  /** The image config JSON (env, entrypoint, labels, history), when there is one. */
  imageConfig?: unknown;
  /** Platform of the chosen manifest, e.g. 'linux/amd64'. */
  platform?: string;
  /** type 'sbom': the document format read (Trivy reports ArtifactType 'cyclonedx' or 'spdx'). */
  sbomFormat?: 'cyclonedx' | 'spdx';
}

export interface Inventory {
  artifact: Artifact;
  os?: OsInfo;
  packages: Package[];
  /** Things a reader must know about completeness: skipped oversize files, unreadable DBs, unsupported OS … */
  notes: string[];
}
