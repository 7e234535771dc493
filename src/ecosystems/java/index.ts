/**
 * Java archives (`jar`): `.jar`, `.war`, `.ear`, `.par`, read as Trivy reads them offline:
 *  - every `META-INF/maven/<g>/<a>/pom.properties` is a package `groupId:artifactId` @ version;
 *  - nested archives (Spring Boot `BOOT-INF/lib/*.jar`, `WEB-INF/lib/*.jar`, EAR modules) are read
 *    recursively, their packages under the outer archive's path joined with the entry name;
 *  - archives without pom.properties give no package. Trivy would also try MANIFEST.MF coordinates
 *    and the archive's SHA-1, but keeps them only when its Java index DB (or Maven Central) confirms
 *    them; manifests name titles ('Apache Commons Lang'), not artifacts, and Portcullis asks nobody.
 * Archives are condensed to their package list right when the layer walker reads them. Limits:
 * 256 MiB per archive, 1 MiB per metadata file, 128 MiB per nested archive, 1 GiB inflated per
 * top-level archive, 8 levels of nesting; what goes over is refused with a note (zip bombs).
 */
import type { FsFile, Package, ReadonlyFs } from '../../domain/index.ts';
import type { Cataloger, CatalogContext } from '../types.ts';
import { makePurl } from '../os/purl.ts';
import { withoutAliases } from '../python/aliases.ts';
import { readZipEntry, zipEntries, ZipError } from './zip.ts';

export const ARCHIVE_MAX = 256 * 1024 * 1024;
const META_MAX = 1024 * 1024;
const NESTED_MAX = 128 * 1024 * 1024;
const BUDGET = 1024 * 1024 * 1024;
const MAX_DEPTH = 8;
const EXTENSIONS = ['.jar', '.war', '.ear', '.par'];

export function isJavaArchive(path: string): boolean {
  const dot = path.lastIndexOf('.');
  if (dot < 0 || path.lastIndexOf('/') > dot) return false;
  const ext = path.slice(dot).toLowerCase();
  return EXTENSIONS.includes(ext);
}

export interface JarLibrary {
  /** groupId:artifactId */
  name: string;
  version: string;
  /** The archive it was found in ('app.war', nested: 'app.war/WEB-INF/lib/x.jar'). */
  path: string;
}

interface Props {
  groupId: string;
  artifactId: string;
  version: string;
}

const valid = (p: Props): boolean => p.groupId !== '' && p.artifactId !== '' && p.version !== '';

function parsePomProperties(text: string): Props {
  const p: Props = { groupId: '', artifactId: '', version: '' };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('groupId=')) p.groupId = line.slice(8).trim();
    else if (line.startsWith('artifactId=')) p.artifactId = line.slice(11).trim();
    else if (line.startsWith('version=')) p.version = line.slice(8).trim();
  }
  return p;
}

interface Budget {
  left: number;
}

function parseArchive(buf: Buffer, path: string, depth: number, budget: Budget, problems: string[]): JarLibrary[] {
  const entries = zipEntries(buf);
  const libs: JarLibrary[] = [];
  const read = (name: string, e: (typeof entries)[number], max: number): Buffer | undefined => {
    try {
      const data = readZipEntry(buf, e, Math.min(max, budget.left));
      budget.left -= data.length;
      return data;
    } catch (err) {
      problems.push(`${path}: ${err instanceof ZipError ? err.message : `${name}: ${(err as Error).message}`}`);
      return undefined;
    }
  };
  for (const e of entries) {
    const base = e.name.slice(e.name.lastIndexOf('/') + 1);
    if (base === 'pom.properties') {
      const data = read(e.name, e, META_MAX);
      if (!data) continue;
      const p = parsePomProperties(data.toString('utf8'));
      if (!valid(p)) continue;
      libs.push({ name: `${p.groupId}:${p.artifactId}`, version: p.version, path });
    } else if (isJavaArchive(e.name)) {
      if (depth >= MAX_DEPTH) {
        problems.push(`${path}/${e.name}: archives nested more than ${MAX_DEPTH} deep, not read`);
        continue;
      }
      const data = read(e.name, e, NESTED_MAX);
      if (!data) continue;
      try {
        libs.push(...parseArchive(data, `${path}/${e.name}`, depth + 1, budget, problems));
      } catch (err) {
        problems.push(`${path}/${e.name}: ${(err as Error).message}`);
      }
    }
  }
  return libs;
}

export interface JarResult {
  libraries: JarLibrary[];
  /** Refused or unreadable parts ('app.war/WEB-INF/lib/x.jar: corrupt deflate data'). */
  problems: string[];
}

/** Packages of one archive (never throws: an unreadable archive is a problem, not a crash). */
export function readJavaArchive(buf: Buffer, path: string): JarResult {
  const problems: string[] = [];
  try {
    return { libraries: parseArchive(buf, path, 0, { left: BUDGET }, problems), problems };
  } catch (err) {
    problems.push(`${path}: ${(err as Error).message}`);
    return { libraries: [], problems };
  }
}

const CONDENSED = '\0portcullis-jar/1\n';

/** Keep only the package list (paths relative to the archive, '' = the archive itself). */
export function condenseJavaArchive(path: string, content: Buffer): Buffer {
  if (content.subarray(0, CONDENSED.length).toString('latin1') === CONDENSED) return content;
  const r = readJavaArchive(content, path);
  const rel = (p: string): string => (p === path ? '' : p.slice(path.length + 1));
  return Buffer.from(CONDENSED + JSON.stringify({ l: r.libraries.map((l) => [l.name, l.version, rel(l.path)]), p: r.problems.map((p) => (p.startsWith(path) ? p.slice(path.length) : p)) }));
}

function resultOf(f: FsFile): JarResult {
  if (f.content.subarray(0, CONDENSED.length).toString('latin1') !== CONDENSED) return readJavaArchive(f.content, f.path);
  try {
    const doc = JSON.parse(f.content.toString('utf8', CONDENSED.length)) as { l?: unknown; p?: unknown };
    const libs = Array.isArray(doc.l) ? doc.l : [];
    return {
      libraries: libs
        .filter((x): x is [string, string, string] => Array.isArray(x) && x.length === 3 && x.every((s) => typeof s === 'string'))
        .map(([name, version, rel]) => ({ name, version, path: rel ? `${f.path}/${rel}` : f.path })),
      problems: (Array.isArray(doc.p) ? doc.p : []).filter((p): p is string => typeof p === 'string').map((p) => `${f.path}${p}`),
    };
  } catch {
    return { libraries: [], problems: [`${f.path}: unreadable cached analysis`] };
  }
}

export function mavenPurl(name: string, version: string): string {
  const colon = name.indexOf(':');
  return colon > 0 ? makePurl('maven', name.slice(0, colon), name.slice(colon + 1), version, {}) : makePurl('maven', undefined, name, version, {});
}

export function catalogJava(fs: ReadonlyFs, ctx: CatalogContext): Package[] {
  const out: Package[] = [];
  for (const f of withoutAliases(fs.files())) {
    if (!isJavaArchive(f.path)) continue;
    const r = resultOf(f);
    for (const p of r.problems) ctx.notes.push(`jar: /${p}; packages in that part are missing`);
    for (const l of r.libraries) {
      out.push({
        type: 'jar',
        name: l.name,
        version: l.version,
        purl: mavenPurl(l.name, l.version),
        locations: [f.layer ? { path: f.path, layer: f.layer } : { path: f.path }],
        filePath: l.path,
      });
    }
  }
  return out;
}

export const javaCataloger: Cataloger = {
  id: 'jar',
  version: 1,
  kind: 'lang',
  types: ['jar'],
  wants: (f) => isJavaArchive(f.path),
  condense: (path, content) => condenseJavaArchive(path, content),
  maxFileSize: ARCHIVE_MAX,
  catalog: catalogJava,
};
