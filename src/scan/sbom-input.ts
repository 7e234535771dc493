/**
 * `portcullis scan sbom:FILE`: a CycloneDX (1.2–1.6) or SPDX (2.2, 2.3) JSON document → Inventory,
 * from Portcullis, Trivy or Syft (or anything that writes package URLs).
 *
 * What is recovered, in order of preference:
 *   OS        the operating-system component / OPERATING-SYSTEM package; else the purls' `distro`
 *   packages  every component/package with a purl: type (our PkgType property, Trivy's, Syft's, the
 *             file it came from, the purl type), name and version (purl, epoch qualifier folded in as
 *             `epoch:`, Go's leading v dropped), source package (portcullis:/aquasecurity:trivy: Src*
 *             properties, SPDX sourceInfo, Syft's `upstream` qualifier), arch, licenses, file path
 *             and layer, the lock file it belongs to (dependency graph / CONTAINS relationships)
 *
 * Bad input is one UserError line naming the file: missing, too large, not JSON, neither format.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Artifact, Inventory, OsFamily, OsInfo, Package, PackageLocation, PackageType } from '../domain/index.ts';
import { UserError } from '../shared/errors.ts';

/** Largest SBOM read (a 10,000-package CycloneDX with vulnerabilities is ~30 MB). */
export const SBOM_MAX_BYTES = 256 * 1024 * 1024;

type J = Record<string, unknown>;
const isObj = (v: unknown): v is J => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function readSbomFile(path: string, target: string): Inventory {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new UserError(`${path} is not a file`, { code: 'SBOM_NOT_FOUND' });
    size = st.size;
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as { code?: string }).code;
    throw new UserError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read it (${code ?? 'error'})`, { code: 'SBOM_NOT_FOUND', cause: err });
  }
  if (size > SBOM_MAX_BYTES) throw new UserError(`${path} is ${size} bytes, over the ${SBOM_MAX_BYTES}-byte limit for SBOMs`, { code: 'SBOM_TOO_LARGE' });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`${path}: cannot read it (${(err as { code?: string }).code ?? 'error'})`, { code: 'SBOM_NOT_FOUND', cause: err });
  }
  return parseSbom(text, path, target);
}

/** Parse SBOM text (already read) into an Inventory; `path` names the document in errors. */
export function parseSbom(text: string, path: string, target: string): Inventory {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    const what = err instanceof SyntaxError ? err.message.replace(/^JSON\.parse: /, '') : 'invalid JSON';
    throw new UserError(`${path} is not valid JSON (${what}); expected a CycloneDX or SPDX JSON document`, { code: 'SBOM_INVALID_JSON', cause: err });
  }
  if (isObj(doc) && doc['bomFormat'] === 'CycloneDX') return fromCycloneDx(doc, path, target);
  if (isObj(doc) && typeof doc['spdxVersion'] === 'string' && doc['spdxVersion'].startsWith('SPDX-')) return fromSpdx(doc, path, target);
  throw new UserError(`${path} is neither a CycloneDX nor an SPDX JSON document`, { code: 'SBOM_UNKNOWN_FORMAT' });
}

// ---------------------------------------------------------------- shared: purls → packages

const OS_FAMILY_ALIASES: Record<string, OsFamily> = {
  alpine: 'alpine',
  wolfi: 'wolfi',
  chainguard: 'chainguard',
  debian: 'debian',
  ubuntu: 'ubuntu',
  redhat: 'redhat',
  rhel: 'redhat',
  'red hat': 'redhat',
  centos: 'centos',
  rocky: 'rocky',
  rockylinux: 'rocky',
  alma: 'alma',
  almalinux: 'alma',
  fedora: 'fedora',
  amazon: 'amazon',
  amzn: 'amazon',
  amazonlinux: 'amazon',
  oracle: 'oracle',
  ol: 'oracle',
  'cbl-mariner': 'cbl-mariner',
  mariner: 'cbl-mariner',
  azurelinux: 'azurelinux',
  photon: 'photon',
  'opensuse.leap': 'opensuse.leap',
  'opensuse-leap': 'opensuse.leap',
  opensuse: 'opensuse.leap',
  'opensuse.tumbleweed': 'opensuse.tumbleweed',
  'opensuse-tumbleweed': 'opensuse.tumbleweed',
  sles: 'suse linux enterprise server',
  'suse linux enterprise server': 'suse linux enterprise server',
  'sle-micro': 'suse linux enterprise micro',
  'suse linux enterprise micro': 'suse linux enterprise micro',
};

export function osFamilyOf(name: string): OsFamily | undefined {
  return OS_FAMILY_ALIASES[name.trim().toLowerCase()];
}

/** The purl's distro qualifier → OS ('debian-12.5', 'centos-7.6.1810', apk: '3.19.1' with the namespace). */
function osFromPurl(p: Purl): OsInfo | undefined {
  const distro = p.qualifiers?.['distro'];
  if (!distro) return undefined;
  if (p.type === 'apk') {
    const fam = osFamilyOf(p.namespace ?? 'alpine');
    return fam ? { family: fam, version: distro.replace(/^alpine-/, '') } : undefined;
  }
  const m = /^(.*?)-(\d[^-]*)$/.exec(distro);
  const fam = m ? osFamilyOf(m[1] ?? '') : undefined;
  return fam && m ? { family: fam, version: m[2] ?? '' } : undefined;
}

/** File names that tell which lock file / metadata kind a language package came from. */
const TYPE_BY_FILE: [RegExp, PackageType][] = [
  [/(^|\/)package-lock\.json$|(^|\/)npm-shrinkwrap\.json$/, 'npm'],
  [/(^|\/)yarn\.lock$/, 'yarn'],
  [/(^|\/)pnpm-lock\.yaml$/, 'pnpm'],
  [/(^|\/)package\.json$/, 'node-pkg'],
  [/(^|\/)poetry\.lock$/, 'poetry'],
  [/(^|\/)Pipfile\.lock$/, 'pipenv'],
  [/requirements[^/]*\.txt$/, 'pip'],
  [/(\.dist-info\/METADATA|\.egg-info(\/PKG-INFO)?|PKG-INFO)$/, 'python-pkg'],
  [/(^|\/)go\.mod$/, 'gomod'],
  [/(^|\/)pom\.xml$/, 'pom'],
  [/\.(jar|war|ear|par)$/, 'jar'],
  [/(^|\/)Gemfile\.lock$/, 'bundler'],
  [/\.gemspec$/, 'gemspec'],
  [/(^|\/)Cargo\.lock$/, 'cargo'],
  [/(^|\/)composer\.lock$/, 'composer'],
  [/(packages\.lock\.json|packages\.config|\.deps\.json)$/, 'nuget'],
];

const KNOWN_TYPES: ReadonlySet<string> = new Set<PackageType>(['apk', 'deb', 'rpm', 'node-pkg', 'npm', 'yarn', 'pnpm', 'python-pkg', 'pip', 'poetry', 'pipenv', 'gobinary', 'gomod', 'jar', 'pom', 'gemspec', 'bundler', 'cargo', 'composer', 'nuget']);

/** Syft's package types → ours. */
const SYFT_TYPES: Record<string, PackageType> = { apk: 'apk', deb: 'deb', rpm: 'rpm', 'go-module': 'gobinary', 'java-archive': 'jar', python: 'python-pkg', gem: 'gemspec', 'rust-crate': 'cargo', 'php-composer': 'composer', dotnet: 'nuget' };

function packageType(p: Purl, hints: { declared: string | undefined; syft: string | undefined; file: string | undefined; parentType: string | undefined }): PackageType | undefined {
  for (const t of [hints.declared, hints.parentType]) if (t && KNOWN_TYPES.has(t)) return t as PackageType;
  switch (p.type) {
    case 'deb':
    case 'apk':
    case 'rpm':
      return p.type;
  }
  if (hints.file) for (const [re, t] of TYPE_BY_FILE) if (re.test(hints.file)) return t;
  if (hints.syft && SYFT_TYPES[hints.syft]) return SYFT_TYPES[hints.syft];
  switch (p.type) {
    case 'npm':
      return 'node-pkg';
    case 'pypi':
      return 'python-pkg';
    case 'golang':
      return 'gobinary';
    case 'maven':
      return 'jar';
    case 'gem':
      return 'gemspec';
    case 'cargo':
      return 'cargo';
    case 'composer':
      return 'composer';
    case 'nuget':
      return 'nuget';
  }
  return undefined;
}

/** The package name as its ecosystem writes it, from the purl (maven group:artifact, npm @scope/name, Go module path). */
function nameFromPurl(p: Purl, componentName: string | undefined): string {
  let n = p.name;
  if (p.namespace) {
    if (p.type === 'maven') n = `${p.namespace}:${p.name}`;
    else if (p.type === 'npm' || p.type === 'golang' || p.type === 'composer') n = `${p.namespace}/${p.name}`;
  }
  // the component's own name keeps case a purl may have normalised away (pypi Werkzeug → werkzeug)
  if (componentName && componentName.toLowerCase().replace(/[-_.]+/g, '-') === n.toLowerCase().replace(/[-_.]+/g, '-')) return componentName;
  return n;
}

/**
 * `epoch:version` for dpkg/rpm (the purl keeps the epoch in a qualifier); Go as Trivy 0.44 prints
 * it (see Package.version): go.mod modules without the leading v, binaries' modules with it.
 */
function versionFromPurl(p: Purl, type: PackageType, fallback: string | undefined): string {
  let v = p.version ?? fallback ?? '';
  const epoch = p.qualifiers?.['epoch'];
  if ((p.type === 'deb' || p.type === 'rpm') && epoch && epoch !== '0' && !/^\d+:/.test(v)) v = `${epoch}:${v}`;
  if (type === 'gomod' && /^v\d/.test(v)) v = v.slice(1);
  if (type === 'gobinary' && /^\d/.test(v)) v = `v${v}`;
  return v;
}

/** A parsed package URL: the fields of packageurl-js's PackageURL this reader uses. */
export interface Purl {
  readonly type: string;
  readonly namespace?: string | undefined;
  readonly name: string;
  readonly version?: string | undefined;
  /** Keys lower-cased, values decoded (null prototype, as packageurl-js makes it). */
  readonly qualifiers?: Readonly<Record<string, string>> | undefined;
  readonly subpath?: string | undefined;
}

type PackageUrlClass = { fromString(s: string): Purl };
let packageUrlClass: PackageUrlClass | undefined;
/** packageurl-js, loaded the first time a purl is not one `simplePurl` reads. */
function packageUrl(): PackageUrlClass {
  packageUrlClass ??= (createRequire(import.meta.url)('packageurl-js') as { PackageURL: PackageUrlClass }).PackageURL;
  return packageUrlClass;
}

/**
 * `pkg:type/namespace/name@version?key=value&…` made only of characters that packageurl-js's URL
 * parsing leaves as they are (no whitespace, '+' or '%' in the qualifiers, no '#subpath'), of a type
 * whose normalisation and checks are copied below. Anything else goes to packageurl-js.
 */
const SIMPLE_PURL = /^pkg:([a-z]+)\/([A-Za-z0-9._~+:@%!*'()-]+(?:\/[A-Za-z0-9._~+:@%!*'()-]+)*)(?:\?([A-Za-z0-9._~:/@=&,-]*))?$/;
/** packageurl-js's per-type normalisation: lower-case namespace and name (pypi: '_' → '-'); rpm: the namespace only. */
const SIMPLE_TYPES: ReadonlyMap<string, 'lower' | 'pypi' | 'rpm' | 'keep'> = new Map([
  ['deb', 'lower'],
  ['apk', 'lower'],
  ['npm', 'lower'],
  ['composer', 'lower'],
  ['pypi', 'pypi'],
  ['rpm', 'rpm'],
  ['gem', 'keep'],
  ['cargo', 'keep'],
  ['nuget', 'keep'],
  ['maven', 'keep'],
  ['golang', 'keep'],
]);
const QUALIFIER_KEY = /^[a-z.\-_][a-z0-9.\-_]*$/;

/**
 * The same fields `PackageURL.fromString` gives (tested against it), without the URL object and the
 * checks packageurl-js runs for every component: undefined = not a purl this fast path reads (call
 * packageurl-js), null = not a valid purl.
 */
export function simplePurl(s: string): Purl | null | undefined {
  const m = SIMPLE_PURL.exec(s);
  if (!m) return undefined;
  const type = m[1]!;
  const norm = SIMPLE_TYPES.get(type);
  if (!norm) return undefined;
  const path = m[2]!;
  // Split the path once from the right on '@' (not an '@' that starts a segment: npm's '@scope'), then on '/'.
  let at = path.lastIndexOf('@');
  if (at !== -1 && (at === 0 || path.charCodeAt(at - 1) === 47)) at = -1;
  const beforeVersion = at === -1 ? path : path.slice(0, at);
  const slash = beforeVersion.lastIndexOf('/');
  let name: string;
  let namespace: string | undefined;
  let version: string | undefined;
  try {
    name = decodeURIComponent(slash === -1 ? beforeVersion : beforeVersion.slice(slash + 1));
    if (slash !== -1) namespace = decodeURIComponent(beforeVersion.slice(0, slash));
    if (at !== -1) version = decodeURIComponent(path.slice(at + 1));
  } catch {
    return null;
  }
  // decoded text packageurl-js would trim, or a namespace it would re-segment: its own path
  if (name.trim() !== name || name === '' || (namespace !== undefined && (namespace.trim() !== namespace || namespace === '' || namespace.includes('//') || namespace.startsWith('/') || namespace.endsWith('/')))) return undefined;
  if (version !== undefined && (version.trim() !== version || version === '')) return undefined;
  if (type === 'maven' && !namespace) return undefined;
  if (type === 'golang' && version?.startsWith('v')) return undefined;
  let qualifiers: Record<string, string> | undefined;
  if (m[3]) {
    for (const pair of m[3].split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = (eq === -1 ? pair : pair.slice(0, eq)).toLowerCase();
      const value = eq === -1 ? '' : pair.slice(eq + 1);
      if (value === '') continue;
      if (!QUALIFIER_KEY.test(key)) return undefined;
      qualifiers ??= Object.create(null) as Record<string, string>;
      qualifiers[key] = value;
    }
  }
  if (norm === 'lower' || norm === 'pypi') {
    name = name.toLowerCase();
    if (namespace !== undefined) namespace = namespace.toLowerCase();
    if (norm === 'pypi') name = name.replaceAll('_', '-');
  } else if (norm === 'rpm' && namespace !== undefined) namespace = namespace.toLowerCase();
  return { type, namespace, name, version, qualifiers, subpath: undefined };
}

function parsePurl(s: string | undefined): Purl | undefined {
  if (!s) return undefined;
  const fast = simplePurl(s);
  if (fast !== undefined) return fast ?? undefined;
  try {
    return packageUrl().fromString(s);
  } catch {
    return undefined;
  }
}

/** The facts a document gives about one package, format-neutral. */
interface Facts {
  purl: string;
  name?: string;
  version?: string;
  props: Map<string, string>;
  licenses: string[];
  supplier?: string;
  sourceInfo?: string;
  parent?: { file: string; type?: string };
  bomRef?: string;
}

const propOf = (f: Facts, key: string): string | undefined => f.props.get(`portcullis:${key}`) ?? f.props.get(`aquasecurity:trivy:${key}`) ?? f.props.get(key);

/** Trivy splits deb/rpm source versions: SrcEpoch:SrcVersion-SrcRelease. */
function trivySource(f: Facts): { version?: string; epoch?: number; release?: string } {
  const v = f.props.get('aquasecurity:trivy:SrcVersion');
  if (!v) return {};
  const rel = f.props.get('aquasecurity:trivy:SrcRelease');
  const ep = Number(f.props.get('aquasecurity:trivy:SrcEpoch') ?? '0');
  const out: { version?: string; epoch?: number; release?: string } = { version: `${ep > 0 ? `${ep}:` : ''}${v}${rel ? `-${rel}` : ''}` };
  if (ep > 0) out.epoch = ep;
  if (rel) out.release = rel;
  return out;
}

function toPackage(f: Facts, notes: Set<string>): Package | undefined {
  const p = parsePurl(f.purl);
  if (!p) {
    notes.add('components with an unparsable package URL were skipped');
    return undefined;
  }
  const file = propOf(f, 'FilePath') ?? f.props.get('syft:location:0:path');
  const type = packageType(p, {
    declared: f.props.get('portcullis:PkgType') ?? f.props.get('aquasecurity:trivy:PkgType'),
    syft: f.props.get('syft:package:type'),
    file: file || f.parent?.file,
    parentType: f.parent?.type,
  });
  if (!type) {
    notes.add(`packages of purl type "${p.type}" are not supported and were skipped`);
    return undefined;
  }
  const version = versionFromPurl(p, type, f.version);
  const pkg: Package = { type, name: nameFromPurl(p, f.name), version, purl: f.purl, locations: [] };
  // source package: ours (full version), Trivy's (split), SPDX sourceInfo, Syft's upstream qualifier
  const srcName = propOf(f, 'SrcName');
  const ourSrcVersion = f.props.get('portcullis:SrcVersion');
  const t = trivySource(f);
  const fromInfo = /^built package from:\s*(\S+)\s+(\S+)\s*$/.exec(f.sourceInfo ?? '');
  const upstream = p.qualifiers?.['upstream'];
  if (srcName) {
    pkg.source = { name: srcName, version: ourSrcVersion ?? t.version ?? version };
    const ep = Number(f.props.get('portcullis:SrcEpoch') ?? '0');
    if (ep > 0) pkg.source.epoch = ep;
  } else if (fromInfo) pkg.source = { name: fromInfo[1] ?? '', version: fromInfo[2] ?? version };
  else if (upstream) {
    const [n, v] = upstream.split('@');
    if (n) pkg.source = { name: n, version: v ?? version };
  }
  if (type === 'rpm') {
    const m = /^(?:(\d+):)?[^-]*-(.*)$/.exec(version);
    if (m?.[1]) pkg.epoch = Number(m[1]);
    if (m?.[2]) pkg.release = m[2];
    if (pkg.source) {
      // rpm sources keep the epoch apart from the version, as the rpm cataloger does
      const sm = /^(?:(\d+):)?([^-]*-(.*))$/.exec(pkg.source.version);
      if (sm?.[1]) {
        pkg.source.epoch = Number(sm[1]);
        pkg.source.version = sm[2] ?? pkg.source.version;
      }
      if (sm?.[3]) pkg.source.release = sm[3];
    }
  }
  const arch = f.props.get('portcullis:Arch') ?? p.qualifiers?.['arch'];
  if (arch) pkg.arch = arch;
  if (f.licenses.length) pkg.licenses = f.licenses;
  const loc: PackageLocation | undefined = file ? { path: file } : undefined;
  const layer = propOf(f, 'LayerDiffID') ?? propOf(f, 'LayerDigest');
  if (loc && layer) loc.layer = layer;
  if (loc) pkg.locations.push(loc);
  else if (layer) pkg.locations.push({ path: '', layer });
  const target = f.props.get('portcullis:Target') ?? f.parent?.file;
  if (target && !['apk', 'deb', 'rpm'].includes(type)) pkg.filePath = target;
  const dev = propOf(f, 'Dev');
  if (dev === 'true' || dev === 'false') pkg.dev = dev === 'true';
  const rel = propOf(f, 'Relationship');
  if (rel === 'direct' || rel === 'indirect' || rel === 'workspace' || rel === 'root' || rel === 'unknown') pkg.relationship = rel;
  const extra: Record<string, string> = {};
  if (f.supplier) extra[type === 'rpm' ? 'vendor' : 'maintainer'] = f.supplier;
  const ml = propOf(f, 'Modularitylabel');
  if (ml) extra['modularityLabel'] = ml;
  for (const [k, v] of f.props) if (k.startsWith('portcullis:extra:')) extra[k.slice('portcullis:extra:'.length)] = v;
  if (f.bomRef) extra['bomRef'] = f.bomRef;
  if (Object.keys(extra).length) pkg.extra = extra;
  return pkg;
}

function finish(artifact: Artifact, os: OsInfo | undefined, facts: Facts[], notes: Set<string>, path: string): Inventory {
  const packages: Package[] = [];
  for (const f of facts) {
    const p = toPackage(f, notes);
    if (p) packages.push(p);
  }
  let osInfo = os;
  if (!osInfo) {
    for (const f of facts) {
      const p = parsePurl(f.purl);
      const o = p && ['deb', 'apk', 'rpm'].includes(p.type) ? osFromPurl(p) : undefined;
      if (o) {
        osInfo = o;
        break;
      }
    }
  }
  const inv: Inventory = { artifact, packages, notes: [...notes].map((n) => `${path}: ${n}`) };
  if (osInfo) inv.os = osInfo;
  else if (packages.some((p) => ['apk', 'deb', 'rpm'].includes(p.type))) inv.notes.push(`${path}: the SBOM names no operating system (no operating-system component, no distro qualifier); OS packages cannot be matched`);
  return inv;
}

// ---------------------------------------------------------------- CycloneDX

function cdxLicenses(c: J): string[] {
  const out: string[] = [];
  for (const l of arr(c['licenses'])) {
    if (!isObj(l)) continue;
    const e = str(l['expression']);
    if (e) out.push(e);
    const lic = isObj(l['license']) ? l['license'] : undefined;
    const v = lic ? (str(lic['id']) ?? str(lic['name'])) : undefined;
    if (v) out.push(v);
  }
  return out;
}

function cdxProps(c: J): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of arr(c['properties'])) {
    if (!isObj(p)) continue;
    const n = str(p['name']);
    const v = typeof p['value'] === 'string' ? p['value'] : undefined;
    if (n && v !== undefined && !m.has(n)) m.set(n, v);
  }
  return m;
}

function cdxComponents(list: unknown, out: J[] = []): J[] {
  for (const c of arr(list)) {
    if (!isObj(c)) continue;
    out.push(c);
    if (c['components']) cdxComponents(c['components'], out);
  }
  return out;
}

function fromCycloneDx(doc: J, path: string, target: string): Inventory {
  const spec = str(doc['specVersion']) ?? '';
  const m = /^1\.(\d+)$/.exec(spec);
  const minor = m ? Number(m[1]) : NaN;
  if (!(minor >= 2)) throw new UserError(`${path}: CycloneDX ${spec || '(no specVersion)'} is not supported (CycloneDX JSON 1.2 to 1.6 is)`, { code: 'SBOM_UNSUPPORTED_VERSION' });
  const notes = new Set<string>();
  if (minor > 6) notes.add(`CycloneDX ${spec} is newer than this reader (1.6); read as 1.6`);
  if (doc['components'] !== undefined && !Array.isArray(doc['components'])) throw new UserError(`${path}: "components" is not a list; not a valid CycloneDX document`, { code: 'SBOM_INVALID' });

  const metadata = isObj(doc['metadata']) ? doc['metadata'] : {};
  const root = isObj(metadata['component']) ? metadata['component'] : undefined;
  const artifact: Artifact = { name: target, type: 'sbom', sbomFormat: 'cyclonedx', layers: [] };
  if (root) {
    const rp = cdxProps(root);
    const get = (k: string): string | undefined => rp.get(`portcullis:${k}`) ?? rp.get(`aquasecurity:trivy:${k}`);
    const all = (k: string): string[] => arr(root['properties']).filter(isObj).filter((p) => p['name'] === `portcullis:${k}` || p['name'] === `aquasecurity:trivy:${k}`).map((p) => str(p['value'])).filter((x): x is string => Boolean(x));
    const imageId = get('ImageID');
    if (imageId) artifact.imageId = imageId;
    const uniq = (xs: string[]): string[] => [...new Set(xs)];
    if (all('DiffID').length) artifact.diffIds = uniq(all('DiffID'));
    if (all('RepoTag').length) artifact.repoTags = uniq(all('RepoTag'));
    if (all('RepoDigest').length) artifact.repoDigests = uniq(all('RepoDigest'));
    const platform = get('Platform');
    if (platform) artifact.platform = platform;
    const v = str(root['version']);
    if (v && /^sha256:[0-9a-f]{64}$/.test(v)) artifact.digest = v;
  }
  for (const p of arr(metadata['properties'])) if (isObj(p) && (p['name'] === 'portcullis:Note') && str(p['value'])) notes.add(`the SBOM says: ${str(p['value']) ?? ''}`);

  const comps = cdxComponents(doc['components']);
  if (root && root['components']) comps.push(...cdxComponents(root['components']));
  // lock-file applications (ours, Trivy's) and what depends on them
  const byRef = new Map<string, J>();
  for (const c of comps) {
    const r = str(c['bom-ref']);
    if (r) byRef.set(r, c);
  }
  const parentOf = new Map<string, { file: string; type?: string }>();
  for (const d of arr(doc['dependencies'])) {
    if (!isObj(d)) continue;
    const owner = byRef.get(str(d['ref']) ?? '');
    if (!owner || owner['type'] !== 'application') continue;
    const props = cdxProps(owner);
    const cls = props.get('portcullis:Class') ?? props.get('aquasecurity:trivy:Class');
    if (cls !== 'lang-pkgs') continue;
    const type = props.get('portcullis:Type') ?? props.get('aquasecurity:trivy:Type');
    const file = str(owner['name']);
    if (!file) continue;
    for (const r of arr(d['dependsOn'])) if (typeof r === 'string') parentOf.set(r, type ? { file, type } : { file });
  }

  let os: OsInfo | undefined;
  const facts: Facts[] = [];
  for (const c of comps) {
    if (c['type'] === 'operating-system') {
      const fam = osFamilyOf(str(c['name']) ?? '');
      const ver = str(c['version']);
      if (fam && ver && !os) {
        os = { family: fam, version: ver };
        const d = str(c['description']);
        if (d) os.prettyName = d;
      } else if (!fam) notes.add(`operating system "${str(c['name']) ?? '?'}" is not one this scanner knows`);
      continue;
    }
    const purl = str(c['purl']);
    if (!purl) continue;
    const ref = str(c['bom-ref']);
    const supplier = isObj(c['supplier']) ? str(c['supplier']['name']) : undefined;
    const f: Facts = { purl, props: cdxProps(c), licenses: cdxLicenses(c) };
    const name = str(c['name']);
    if (name) f.name = name;
    const version = str(c['version']);
    if (version) f.version = version;
    if (supplier) f.supplier = supplier;
    if (ref) f.bomRef = ref;
    const parent = ref ? parentOf.get(ref) : undefined;
    if (parent) f.parent = parent;
    facts.push(f);
  }
  return finish(artifact, os, facts, notes, path);
}

// ---------------------------------------------------------------- SPDX

/** "Organization: Name (mail)" → "Name <mail>". */
function fromAgent(s: string | undefined): string | undefined {
  if (!s || s === 'NOASSERTION' || s === 'NONE') return undefined;
  const body = s.replace(/^(Organization|Person|Tool):\s*/, '');
  const m = /^(.*?)\s*\(([^()]*@[^()]*)\)\s*$/.exec(body);
  return m ? `${m[1]} <${m[2]}>` : body;
}

/** Split a top-level AND (how a package's license list is written) back into entries. */
function splitAnd(expr: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  const toks = expr.split(/(\(|\)|\s+AND\s+)/);
  for (const t of toks) {
    if (t === '(') depth++;
    if (t === ')') depth--;
    if (/^\s+AND\s+$/.test(t) && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += t;
  }
  if (cur.trim()) out.push(cur.trim());
  return out.map((x) => (x.startsWith('(') && x.endsWith(')') && !x.slice(1, -1).includes('(') ? x.slice(1, -1) : x));
}

function fromSpdx(doc: J, path: string, target: string): Inventory {
  const version = str(doc['spdxVersion']) ?? '';
  if (!/^SPDX-2\.[0-9]$/.test(version) || version < 'SPDX-2.2') {
    throw new UserError(`${path}: ${version} is not supported (SPDX JSON 2.2 and 2.3 are)`, { code: 'SBOM_UNSUPPORTED_VERSION' });
  }
  if (doc['packages'] !== undefined && !Array.isArray(doc['packages'])) throw new UserError(`${path}: "packages" is not a list; not a valid SPDX document`, { code: 'SBOM_INVALID' });
  const notes = new Set<string>();
  if (str(doc['comment'])?.startsWith('Incomplete: ')) notes.add(`the SBOM says: ${(str(doc['comment']) ?? '').slice('Incomplete: '.length)}`);
  const artifact: Artifact = { name: target, type: 'sbom', sbomFormat: 'spdx', layers: [] };
  const extracted = new Map<string, string>();
  for (const e of arr(doc['hasExtractedLicensingInfos'])) {
    if (!isObj(e)) continue;
    const id = str(e['licenseId']);
    const text = str(e['name']) ?? str(e['extractedText']);
    if (id && text) extracted.set(id, text);
  }
  const pkgs = arr(doc['packages']).filter(isObj);
  const byId = new Map<string, J>();
  for (const p of pkgs) {
    const id = str(p['SPDXID']);
    if (id) byId.set(id, p);
  }
  const annotationsOf = (p: J): Map<string, string> => {
    const m = new Map<string, string>();
    const texts = [...arr(p['annotations']).filter(isObj).map((a) => str(a['comment'])), ...arr(p['attributionTexts']).map(str)];
    for (const t of texts) {
      const mm = /^((?:extra:)?[A-Za-z][A-Za-z0-9]*): ?(.*)$/.exec(t ?? '');
      if (mm?.[1] && mm[2] !== undefined && !m.has(mm[1])) m.set(mm[1], mm[2]);
    }
    return m;
  };
  // CONTAINS from an application (lock file) → its packages
  const parentOf = new Map<string, { file: string; type?: string }>();
  for (const r of arr(doc['relationships'])) {
    if (!isObj(r) || r['relationshipType'] !== 'CONTAINS') continue;
    const owner = byId.get(str(r['spdxElementId']) ?? '');
    if (!owner || owner['primaryPackagePurpose'] !== 'APPLICATION') continue;
    const file = str(owner['name']);
    const type = annotationsOf(owner).get('Type');
    if (file) parentOf.set(str(r['relatedSpdxElement']) ?? '', type ? { file, type } : { file });
  }
  let os: OsInfo | undefined;
  const facts: Facts[] = [];
  for (const p of pkgs) {
    const purpose = str(p['primaryPackagePurpose']);
    const name = str(p['name']);
    if (purpose === 'OPERATING-SYSTEM') {
      const fam = osFamilyOf(name ?? '');
      const ver = str(p['versionInfo']);
      if (fam && ver && !os) {
        os = { family: fam, version: ver };
        const d = str(p['description']);
        if (d) os.prettyName = d;
      }
      continue;
    }
    if (purpose === 'CONTAINER' || purpose === 'SOURCE') {
      const ann = annotationsOf(p);
      const imageId = ann.get('ImageID');
      if (imageId) artifact.imageId = imageId;
      continue;
    }
    const purl = arr(p['externalRefs'])
      .filter(isObj)
      .find((r) => (r['referenceCategory'] === 'PACKAGE-MANAGER' || r['referenceCategory'] === 'PACKAGE_MANAGER') && r['referenceType'] === 'purl');
    const locator = purl ? str(purl['referenceLocator']) : undefined;
    if (!locator) continue;
    const ann = annotationsOf(p);
    const props = new Map<string, string>();
    for (const [k, v] of ann) props.set(`portcullis:${k}`, v);
    // Trivy 0.44's SPDX: "PkgID: …", "LayerDiffID: …" attribution texts (same keys, no source version)
    if (props.has('portcullis:SrcName') && !ann.has('SrcVersion')) props.delete('portcullis:SrcName');
    const declared = str(p['licenseDeclared']) ?? str(p['licenseConcluded']);
    const licenses = declared && declared !== 'NOASSERTION' && declared !== 'NONE' ? splitAnd(declared).map((l) => extracted.get(l) ?? l) : [];
    const f: Facts = { purl: locator, props, licenses };
    if (name) f.name = name;
    const v = str(p['versionInfo']);
    if (v) f.version = v;
    const supplier = fromAgent(str(p['supplier'])) ?? fromAgent(str(p['originator']));
    if (supplier) f.supplier = supplier;
    const si = str(p['sourceInfo']);
    if (si) f.sourceInfo = si;
    const parent = parentOf.get(str(p['SPDXID']) ?? '');
    if (parent) f.parent = parent;
    facts.push(f);
  }
  return finish(artifact, os, facts, notes, path);
}
