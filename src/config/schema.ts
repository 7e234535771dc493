/**
 * Every setting of portcullis.yaml, declared once (STYLE principle 7). The top level holds the scan
 * and sbom settings under the same names as their flags (kebab-case); `server:` and `policy:` are the
 * admission server's sections (config/server-schema.ts, config/policy-schema.ts), validated by the
 * server command. Trivy's config layout (`vulnerability.ignore-unfixed`, `scan.skip-dirs`,
 * `db.source`) is accepted too, so an existing trivy.yaml mostly carries over.
 */
import { z } from 'zod';
import { SEVERITIES } from '../domain/index.ts';

const severityList = z
  .union([z.string(), z.array(z.string())])
  .transform((v, ctx) => {
    const list = (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim().toUpperCase()).filter(Boolean);
    for (const s of list) {
      if (!(SEVERITIES as readonly string[]).includes(s)) {
        ctx.addIssue({ code: 'custom', message: `unknown severity "${s}" (use ${SEVERITIES.join(', ')})` });
        return z.NEVER;
      }
    }
    return list;
  });

const stringList = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

export const SCAN_FORMATS = ['table', 'json', 'sarif', 'cyclonedx', 'spdx-json'] as const;
export const DB_SOURCES = ['auto', 'osv', 'trivy', 'merge'] as const;

const scanKeys = {
  severity: severityList.optional(),
  'ignore-unfixed': z.boolean().optional(),
  'exit-code': z.number().int().min(0).max(255).optional(),
  format: z.enum(SCAN_FORMATS).optional(),
  output: z.string().optional(),
  ignorefile: z.string().optional(),
  'db-source': z.enum(DB_SOURCES).optional(),
  'cache-dir': z.string().optional(),
  platform: z.string().optional(),
  insecure: z.union([z.boolean(), z.array(z.string())]).optional(),
  'registry-config': z.string().optional(),
  'skip-dirs': stringList.optional(),
  'skip-files': stringList.optional(),
  'list-all-pkgs': z.boolean().optional(),
  'include-dev-deps': z.boolean().optional(),
  'sbom-compat': z.enum(['trivy']).optional(),
  timeout: z.string().optional(),
  'no-cache': z.boolean().optional(),
  'verify-diff-ids': z.boolean().optional(),
  'cyclonedx-version': z.enum(['1.4', '1.5', '1.6']).optional(),
};

/** The whole file. Unknown top-level keys are refused (a typo must not silently do nothing). */
export const configFileSchema = z
  .object({
    ...scanKeys,
    // Trivy-style sections.
    vulnerability: z.object({ 'ignore-unfixed': z.boolean().optional(), severity: severityList.optional() }).strict().optional(),
    scan: z.object({ 'skip-dirs': stringList.optional(), 'skip-files': stringList.optional() }).strict().optional(),
    // source: which DB decides a scan; the rest are `db update` defaults (flags and env win).
    db: z
      .object({
        source: z.enum(DB_SOURCES).optional(),
        mirror: z.string().min(1).optional(),
        ecosystems: stringList.optional(),
        nvd: stringList.optional(),
        repository: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    // Validated by the server command with their own schemas.
    server: z.record(z.string(), z.unknown()).optional(),
    policy: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type ConfigFileData = z.infer<typeof configFileSchema>;

/** The scan settings a config file gives, Trivy-style sections folded into the flat names. */
export interface ScanSettings {
  severity?: string[];
  ignoreUnfixed?: boolean;
  exitCode?: number;
  format?: (typeof SCAN_FORMATS)[number];
  output?: string;
  ignorefile?: string;
  dbSource?: (typeof DB_SOURCES)[number];
  cacheDir?: string;
  platform?: string;
  insecure?: boolean | string[];
  registryConfig?: string;
  skipDirs?: string[];
  skipFiles?: string[];
  listAllPkgs?: boolean;
  includeDevDeps?: boolean;
  sbomCompat?: 'trivy';
  timeout?: string;
  noCache?: boolean;
  verifyDiffIds?: boolean;
  cyclonedxVersion?: '1.4' | '1.5' | '1.6';
}

export function scanSettings(c: ConfigFileData): ScanSettings {
  const s: ScanSettings = {};
  const set = <K extends keyof ScanSettings>(k: K, v: ScanSettings[K] | undefined): void => {
    if (v !== undefined) s[k] = v;
  };
  set('severity', c.severity ?? c.vulnerability?.severity);
  set('ignoreUnfixed', c['ignore-unfixed'] ?? c.vulnerability?.['ignore-unfixed']);
  set('exitCode', c['exit-code']);
  set('format', c.format);
  set('output', c.output);
  set('ignorefile', c.ignorefile);
  set('dbSource', c['db-source'] ?? c.db?.source);
  set('cacheDir', c['cache-dir']);
  set('platform', c.platform);
  set('insecure', c.insecure);
  set('registryConfig', c['registry-config']);
  set('skipDirs', c['skip-dirs'] ?? c.scan?.['skip-dirs']);
  set('skipFiles', c['skip-files'] ?? c.scan?.['skip-files']);
  set('listAllPkgs', c['list-all-pkgs']);
  set('includeDevDeps', c['include-dev-deps']);
  set('sbomCompat', c['sbom-compat']);
  set('timeout', c.timeout);
  set('noCache', c['no-cache']);
  set('verifyDiffIds', c['verify-diff-ids']);
  set('cyclonedxVersion', c['cyclonedx-version']);
  return s;
}
