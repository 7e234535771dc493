/**
 * Trivy's vulnerability DB (trivy-db schema v2) read natively, on top of the bbolt reader.
 *
 * Buckets (aquasecurity/trivy-db):
 *   '<os release>' / <package> / <vuln id> → Advisory JSON  ('alpine 3.19', 'debian 12', 'ubuntu 22.04', 'rocky 8' …)
 *   'Red Hat' / <package> / <CVE or RHSA id> → {Entries:[{FixedVersion, Affected:[cpe idx], Arches, Status, Cves:[{ID, Severity}]}]}
 *   'Red Hat CPE' / 'repository'|'nvr' / <name> → [cpe idx];  'Red Hat CPE' / 'cpe' / <idx> → "cpe:/…"
 *   '<ecosystem>::<source>' / <package> / <vuln id> → {PatchedVersions, VulnerableVersions, UnaffectedVersions}
 *   'vulnerability' / <vuln id> → {Title, Description, Severity, VendorSeverity, CVSS, CweIDs, References, dates}
 *   'data-source' / <root bucket> → {ID, Name, URL}
 * metadata.json beside trivy.db: {Version, NextUpdate, UpdatedAt, DownloadedAt}.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScannerError } from '../../shared/errors.ts';
import { BoltDb, type BoltBucket, type BoltHit } from './bolt.ts';

export const TRIVY_SCHEMA_VERSION = 2;

export interface TrivyMetadata {
  Version: number;
  NextUpdate?: string;
  UpdatedAt?: string;
  DownloadedAt?: string;
}

export interface TrivyDataSource {
  ID: string;
  Name: string;
  URL: string;
}

/** An OS advisory as stored (fields Trivy reads). */
export interface TrivyOsAdvisory {
  FixedVersion?: string;
  AffectedVersion?: string;
  Status?: number;
  Severity?: number;
  VendorIDs?: string[];
  Arches?: string[];
  State?: string;
  Entries?: TrivyAdvisoryEntry[];
}

export interface TrivyAdvisoryEntry {
  FixedVersion?: string;
  Affected?: number[];
  Arches?: string[];
  Status?: number;
  Cves?: { ID?: string; Severity?: number }[];
  VendorIds?: string[];
  VendorIDs?: string[];
}

export interface TrivyLangAdvisory {
  PatchedVersions?: string[];
  VulnerableVersions?: string[];
  UnaffectedVersions?: string[];
  Severity?: number;
}

export interface TrivyCvss {
  V2Vector?: string;
  V3Vector?: string;
  V40Vector?: string;
  V2Score?: number;
  V3Score?: number;
  V40Score?: number;
}

export interface TrivyVulnerability {
  Title?: string;
  Description?: string;
  Severity?: string;
  CweIDs?: string[];
  VendorSeverity?: Record<string, number>;
  CVSS?: Record<string, TrivyCvss>;
  References?: string[];
  PublishedDate?: string;
  LastModifiedDate?: string;
}

/** trivy-db's Status enum, by index. */
export const TRIVY_STATUSES = ['unknown', 'not_affected', 'affected', 'fixed', 'under_investigation', 'will_not_fix', 'fix_deferred', 'end_of_life'] as const;
/** trivy-db's Severity enum, by index. */
export const TRIVY_SEVERITIES = ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

function parseJson<T>(buf: Buffer | undefined, what: string, path: string): T | undefined {
  return buf ? parseText<T>(buf.toString('utf8'), what, path) : undefined;
}

function parseText<T>(text: string, what: string, path: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ScannerError('TRIVYDB_CORRUPT', `${path}: ${what} is not valid JSON`);
  }
}

/** A language advisory and the `<ecosystem>::<source>` bucket it came from. */
export interface LangAdvisory {
  bucket: string;
  id: string;
  adv: TrivyLangAdvisory;
}

export class TrivyDb {
  readonly dir: string;
  readonly metadata: TrivyMetadata;
  readonly #bolt: BoltDb;
  readonly #vulnCache = new Map<string, TrivyVulnerability | null>();
  /** Advisories already read, per root bucket and package (several binary packages share a source). */
  readonly #osCache = new Map<string, Map<string, [string, TrivyOsAdvisory][]>>();
  readonly #langCache = new Map<string, Map<string, LangAdvisory[]>>();
  readonly #dataSources = new Map<string, TrivyDataSource | null>();
  #rootNames: string[] | undefined;
  readonly #buckets = new Map<string, BoltBucket | null>();

  private constructor(dir: string, bolt: BoltDb, metadata: TrivyMetadata) {
    this.dir = dir;
    this.#bolt = bolt;
    this.metadata = metadata;
  }

  /**
   * Open `<dir>/trivy.db` (+ `metadata.json`). Refuses an unknown schema version with a clear error.
   * `dir` may also be the path of a trivy.db file.
   */
  static open(dirOrFile: string): TrivyDb {
    const file = dirOrFile.endsWith('.db') ? dirOrFile : join(dirOrFile, 'trivy.db');
    const dir = file.slice(0, file.length - 'trivy.db'.length) || '.';
    const metaPath = join(dir, 'metadata.json');
    let metadata: TrivyMetadata = { Version: TRIVY_SCHEMA_VERSION };
    if (existsSync(metaPath)) {
      try {
        metadata = JSON.parse(readFileSync(metaPath, 'utf8')) as TrivyMetadata;
      } catch {
        throw new ScannerError('TRIVYDB_CORRUPT', `${metaPath} is not valid JSON`);
      }
      if (metadata.Version !== TRIVY_SCHEMA_VERSION) {
        throw new ScannerError('TRIVYDB_SCHEMA', `${metaPath}: Trivy DB schema version ${String(metadata.Version)} is not supported (this build reads version ${TRIVY_SCHEMA_VERSION})`);
      }
    }
    const bolt = BoltDb.open(file);
    const db = new TrivyDb(dir, bolt, metadata);
    if (!db.#bucket('vulnerability')) {
      bolt.close();
      throw new ScannerError('TRIVYDB_SCHEMA', `${file} is a BoltDB file but not a Trivy DB (no 'vulnerability' bucket)`);
    }
    return db;
  }

  close(): void {
    this.#bolt.close();
  }

  #bucket(name: string): BoltBucket | undefined {
    let b = this.#buckets.get(name);
    if (b === undefined) {
      b = this.#bolt.root().bucket(name) ?? null;
      this.#buckets.set(name, b);
    }
    return b ?? undefined;
  }

  /** Root bucket names (cached). */
  rootBuckets(): string[] {
    this.#rootNames ??= [...this.#bolt.root().keys()];
    return this.#rootNames;
  }

  /** Advisories of `pkg` in an OS bucket such as 'debian 12': [vulnId, advisory] in key order. */
  osAdvisories(bucket: string, pkg: string): [string, TrivyOsAdvisory][] {
    const memo = this.#osCache.get(bucket)?.get(pkg);
    if (memo) return memo;
    const b = this.#bucket(bucket)?.bucket(pkg);
    const out = b ? this.#osAdvisoriesOf(b, bucket, pkg) : [];
    this.#osMemo(bucket).set(pkg, out);
    return out;
  }

  /**
   * Read the advisories of many packages of one OS bucket at once (page reads in file order, see
   * BoltBucket.lookupMany); later `osAdvisories` calls for them are answered from memory.
   */
  prefetchOsAdvisories(bucket: string, pkgs: Iterable<string>): void {
    const memo = this.#osMemo(bucket);
    const todo = [...new Set(pkgs)].filter((p) => !memo.has(p));
    const b = this.#bucket(bucket);
    if (!b) {
      for (const p of todo) memo.set(p, []);
      return;
    }
    b.lookupMany(todo, (i, hit) => {
      const sub = hit.bucket();
      if (sub) memo.set(todo[i]!, this.#osAdvisoriesOf(sub, bucket, todo[i]!));
    });
    for (const p of todo) if (!memo.has(p)) memo.set(p, []);
  }

  #osMemo(bucket: string): Map<string, [string, TrivyOsAdvisory][]> {
    let m = this.#osCache.get(bucket);
    if (!m) this.#osCache.set(bucket, (m = new Map()));
    return m;
  }

  #osAdvisoriesOf(b: BoltBucket, bucket: string, pkg: string): [string, TrivyOsAdvisory][] {
    const out: [string, TrivyOsAdvisory][] = [];
    for (const e of b.entries()) {
      if (e.isBucket || !e.value) continue;
      const id = e.key.toString('utf8');
      const adv = parseJson<unknown>(e.value, `advisory ${bucket}/${pkg}/${id}`, this.#bolt.path);
      // A null value (an advisory with no fields) reads as an empty advisory, as Go's json.Unmarshal leaves it.
      out.push([id, adv !== null && typeof adv === 'object' && !Array.isArray(adv) ? (adv as TrivyOsAdvisory) : {}]);
    }
    return out;
  }

  /** Language advisories for `pkg` across every root bucket starting with `<ecosystem>::`. */
  langAdvisories(ecosystem: string, pkg: string): LangAdvisory[] {
    const memo = this.#langMemo(ecosystem);
    let out = memo.get(pkg);
    if (!out) {
      this.prefetchLangAdvisories(ecosystem, [pkg]);
      out = memo.get(pkg) ?? [];
    }
    return out;
  }

  /** Read the advisories of many packages of one ecosystem at once; `langAdvisories` then answers from memory. */
  prefetchLangAdvisories(ecosystem: string, pkgs: Iterable<string>): void {
    const memo = this.#langMemo(ecosystem);
    const todo = [...new Set(pkgs)].filter((p) => !memo.has(p));
    if (todo.length === 0) return;
    const found: LangAdvisory[][] = todo.map(() => []);
    const prefix = `${ecosystem}::`;
    // every `<ecosystem>::` bucket in key order: the results keep that order
    for (const name of this.rootBuckets()) {
      if (!name.startsWith(prefix)) continue;
      this.#bucket(name)?.lookupMany(todo, (i, hit) => {
        const sub = hit.bucket();
        if (!sub) return;
        for (const e of sub.entries()) {
          if (e.isBucket || !e.value) continue;
          const id = e.key.toString('utf8');
          const adv = parseJson<unknown>(e.value, `advisory ${name}/${todo[i]!}/${id}`, this.#bolt.path);
          found[i]!.push({ bucket: name, id, adv: adv !== null && typeof adv === 'object' && !Array.isArray(adv) ? (adv as TrivyLangAdvisory) : {} });
        }
      });
    }
    todo.forEach((p, i) => memo.set(p, found[i]!));
  }

  #langMemo(ecosystem: string): Map<string, LangAdvisory[]> {
    let m = this.#langCache.get(ecosystem);
    if (!m) this.#langCache.set(ecosystem, (m = new Map()));
    return m;
  }

  vulnerability(id: string): TrivyVulnerability | undefined {
    let v = this.#vulnCache.get(id);
    if (v === undefined) {
      v = parseJson<TrivyVulnerability>(this.#bucket('vulnerability')?.get(id), `vulnerability/${id}`, this.#bolt.path) ?? null;
      this.#vulnCache.set(id, v);
    }
    return v ?? undefined;
  }

  /** Read many `vulnerability` records at once (page reads in file order); `vulnerability` then answers from memory. */
  prefetchVulnerabilities(ids: Iterable<string>): void {
    const todo = [...new Set(ids)].filter((id) => !this.#vulnCache.has(id));
    const b = this.#bucket('vulnerability');
    b?.lookupMany(todo, (i, hit: BoltHit) => {
      if (hit.isBucket) return;
      const id = todo[i]!;
      this.#vulnCache.set(id, parseText<TrivyVulnerability>(hit.text(), `vulnerability/${id}`, this.#bolt.path) ?? null);
    });
    for (const id of todo) if (!this.#vulnCache.has(id)) this.#vulnCache.set(id, null);
  }

  dataSource(bucket: string): TrivyDataSource | undefined {
    let d = this.#dataSources.get(bucket);
    if (d === undefined) {
      d = parseJson<TrivyDataSource>(this.#bucket('data-source')?.get(bucket), `data-source/${bucket}`, this.#bolt.path) ?? null;
      this.#dataSources.set(bucket, d);
    }
    return d ?? undefined;
  }

  /** Red Hat CPE indices for content sets (repositories) and build NVRs. */
  redHatCpeIndices(repositories: readonly string[], nvrs: readonly string[]): Set<number> {
    const out = new Set<number>();
    const cpe = this.#bucket('Red Hat CPE');
    for (const [kind, keys] of [['repository', repositories], ['nvr', nvrs]] as const) {
      const b = cpe?.bucket(kind);
      if (!b) continue;
      for (const k of keys) {
        if (!k) continue;
        const idx = parseJson<unknown>(b.get(k), `Red Hat CPE/${kind}/${k}`, this.#bolt.path);
        if (Array.isArray(idx)) for (const i of idx) if (typeof i === 'number') out.add(i);
      }
    }
    return out;
  }

  /**
   * Walk every bucket and every page of the B+tree (values are not parsed): a damaged file fails here,
   * at install time, rather than in a later scan. Returns the number of keys seen.
   */
  verify(): number {
    let keys = 0;
    const walk = (b: BoltBucket, depth: number): void => {
      if (depth > 8) throw new ScannerError('TRIVYDB_CORRUPT', `${this.#bolt.path}: buckets nested deeper than a Trivy DB has them`);
      for (const e of b.entries()) {
        keys++;
        if (!e.isBucket) continue;
        const sub = b.bucket(e.key);
        if (sub) walk(sub, depth + 1);
      }
    };
    walk(this.#bolt.root(), 0);
    return keys;
  }

  /** Count of keys per root bucket: for `db status`. */
  summary(): { buckets: number; osBuckets: string[]; langBuckets: string[]; vulnerabilities: number } {
    const roots = this.rootBuckets();
    const special = new Set(['vulnerability', 'data-source', 'Red Hat CPE', 'vulnerability-id']);
    const vulns = this.#bucket('vulnerability');
    let count = 0;
    if (vulns) for (const _ of vulns.entries()) count++;
    return {
      buckets: roots.length,
      osBuckets: roots.filter((r) => !r.includes('::') && !special.has(r)),
      langBuckets: roots.filter((r) => r.includes('::')),
      vulnerabilities: count,
    };
  }
}
