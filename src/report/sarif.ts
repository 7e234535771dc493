/**
 * `--format sarif`: SARIF 2.1.0 as GitHub code scanning accepts it.
 *
 *   one run; tool.driver {name, version, informationUri, rules}: one rule per advisory id with
 *   shortDescription, fullDescription, helpUri, help {text, markdown}, defaultConfiguration.level and
 *   properties {tags, precision, security-severity}; one result per finding with ruleId/ruleIndex,
 *   level (CRITICAL/HIGH error, MEDIUM warning, LOW/UNKNOWN note), message, one location
 *   (artifactLocation.uri = the package's file, or the image for container images; region line 1)
 *   and a partialFingerprint so re-uploads update alerts instead of duplicating them.
 *
 * `security-severity` is a CVSS score consistent with the severity the report decided (GitHub files
 * the alert under the band of that number): the severity source's score when it falls in that band,
 * else the finding's score when it does, else the band's representative value.
 *
 * GitHub's hard limits are kept: ≤ 25,000 results and rules per run, ≤ 20 tags per rule (we write ≤ 10).
 */
import type { Finding, ScanReport, Severity } from '../domain/index.ts';
import { severityRank } from '../domain/index.ts';
import { artifactName, compareFindings, groupResults, hexDigest, packageFile, writeAll } from './common.ts';
import type { RenderOptions, Writer } from './types.ts';

export const SARIF_SCHEMA = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';
export const MAX_RESULTS = 25_000;

type Level = 'error' | 'warning' | 'note';
const LEVEL: Record<Severity, Level> = { CRITICAL: 'error', HIGH: 'error', MEDIUM: 'warning', LOW: 'note', UNKNOWN: 'note' };
/** A score inside each band, for findings without one (GitHub: ≥9 critical, ≥7 high, ≥4 medium, >0 low). */
const BAND_SCORE: Record<Severity, number> = { CRITICAL: 9.5, HIGH: 8.0, MEDIUM: 5.5, LOW: 2.0, UNKNOWN: 0.0 };

function band(score: number): Severity {
  if (score >= 9) return 'CRITICAL';
  if (score >= 7) return 'HIGH';
  if (score >= 4) return 'MEDIUM';
  if (score > 0) return 'LOW';
  return 'UNKNOWN';
}

/** The CVSS score GitHub should see for a finding (see the module comment). */
export function securitySeverity(f: Finding): string {
  const src = f.cvss?.[f.severitySource];
  const candidates = [src?.v40Score, src?.v3Score, f.score].filter((s): s is number => typeof s === 'number' && Number.isFinite(s));
  const s = candidates.find((x) => band(x) === f.severity) ?? BAND_SCORE[f.severity];
  return s.toFixed(1);
}

interface Rule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  defaultConfiguration: { level: Level };
  helpUri?: string;
  help: { text: string; markdown: string };
  properties: { tags: string[]; precision: 'very-high' | 'high'; 'security-severity': string };
}

const md = (s: string): string => s.replace(/[\\`*_[\]|<>]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');

function ruleOf(id: string, fs: readonly Finding[]): Rule {
  const worst = [...fs].sort((a, b) => severityRank(b.severity) - severityRank(a.severity))[0] as Finding;
  const title = worst.title ?? id;
  const description = worst.description ?? title;
  const pkgs = [...new Set(fs.map((f) => `${f.package.name}@${f.installedVersion}`))];
  const fixes = [...new Set(fs.map((f) => f.fixedVersion).filter((v): v is string => Boolean(v)))];
  const lines = [`Vulnerability ${id}`, `Severity: ${worst.severity}`, `Packages: ${pkgs.join(', ')}`, `Fixed versions: ${fixes.join(', ') || 'none yet'}`];
  if (worst.url) lines.push(`Link: ${worst.url}`);
  lines.push('', description);
  const link = worst.url ? `[${md(id)}](${worst.url})` : md(id);
  const markdown = [
    `**Vulnerability ${md(id)}**`,
    '| Severity | Package | Installed | Fixed version | Link |',
    '| --- | --- | --- | --- | --- |',
    ...fs.map((f) => `| ${f.severity} | ${md(f.package.name)} | ${md(f.installedVersion)} | ${md(f.fixedVersion ?? '')} | ${link} |`),
    '',
    md(description),
  ].join('\n');
  const types = [...new Set(fs.map((f) => f.package.type))];
  return {
    id,
    name: fs.some((f) => ['apk', 'deb', 'rpm'].includes(f.package.type)) ? 'OsPackageVulnerability' : 'LanguageSpecificPackageVulnerability',
    shortDescription: { text: title.slice(0, 1024) },
    fullDescription: { text: description },
    defaultConfiguration: { level: LEVEL[worst.severity] },
    ...(worst.url ? { helpUri: worst.url } : {}),
    help: { text: lines.join('\n'), markdown },
    properties: { tags: ['vulnerability', 'security', worst.severity, ...types].slice(0, 10), precision: 'very-high', 'security-severity': securitySeverity(worst) },
  };
}

/** The location GitHub shows: the package's file for filesystem scans, the image (without tag) otherwise. */
export function locationUri(report: ScanReport, f: Finding): string {
  const a = report.inventory.artifact;
  const name = artifactName(a);
  if (a.type === 'container_image') {
    const noDigest = name.split('@')[0] ?? name;
    const lastSlash = noDigest.lastIndexOf('/');
    const colon = noDigest.lastIndexOf(':');
    return colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
  }
  if (a.type === 'sbom') return name;
  const file = f.package.filePath ?? packageFile(f.package) ?? '';
  const base = name === '.' ? '' : name.replace(/\/+$/, '');
  const joined = [base, file].filter(Boolean).join('/').replace(/\/\.\//g, '/').replace(/^\.\//, '');
  return joined.startsWith('/') ? `file://${encodeURI(joined)}` : encodeURI(joined);
}

function message(f: Finding, where: string): string {
  const lines = [`Package: ${f.package.name}`, `Installed Version: ${f.installedVersion}`, `Vulnerability ${f.advisoryId}`, `Severity: ${f.severity}`, `Fixed Version: ${f.fixedVersion ?? ''}`];
  if (f.url) lines.push(`Link: [${f.advisoryId}](${f.url})`);
  lines.push(`Found in: ${where}`);
  return lines.join('\n');
}

export function sarifLog(report: ScanReport, opts: RenderOptions): object {
  const ordered = groupResults(report).flatMap((g) => g.findings);
  const findings = ordered.length === report.findings.length ? ordered : [...report.findings].sort(compareFindings);
  const byId = new Map<string, Finding[]>();
  for (const f of findings) byId.set(f.advisoryId, [...(byId.get(f.advisoryId) ?? []), f]);
  const ids = [...byId.keys()].sort();
  const index = new Map(ids.map((id, i) => [id, i]));
  const rules = ids.map((id) => ruleOf(id, byId.get(id) ?? []));
  const kept = findings.slice(0, MAX_RESULTS);
  const results = kept.map((f) => {
    const uri = locationUri(report, f);
    const file = packageFile(f.package) ?? '';
    return {
      ruleId: f.advisoryId,
      ruleIndex: index.get(f.advisoryId) ?? 0,
      level: LEVEL[f.severity],
      message: { text: message(f, file || artifactName(report.inventory.artifact)) },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri }, region: { startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 } },
          message: { text: `${artifactName(report.inventory.artifact)}: ${f.package.name}@${f.installedVersion}` },
        },
      ],
      partialFingerprints: { 'portcullis/v1': hexDigest([f.advisoryId, f.package.type, f.package.name, f.installedVersion, file], 32) },
      properties: { severity: f.severity, status: f.status, packageType: f.package.type, ...(f.fixedVersion ? { fixedVersion: f.fixedVersion } : {}), ...(f.package.purl ? { purl: f.package.purl } : {}) },
    };
  });
  const run: Record<string, unknown> = {
    tool: {
      driver: {
        name: 'Portcullis',
        fullName: 'Portcullis container image vulnerability scanner',
        version: opts.toolVersion,
        semanticVersion: opts.toolVersion,
        ...(opts.informationUri ? { informationUri: opts.informationUri } : {}),
        rules,
      },
    },
    results,
    columnKind: 'utf16CodeUnits',
    properties: {
      artifact: artifactName(report.inventory.artifact),
      ...(report.inventory.artifact.digest ? { digest: report.inventory.artifact.digest } : {}),
      ...(report.inventory.os ? { os: `${report.inventory.os.family} ${report.inventory.os.version}` } : {}),
      ...(report.inventory.notes.length ? { incomplete: true, notes: report.inventory.notes } : {}),
      ...(findings.length > MAX_RESULTS ? { truncated: `${findings.length - MAX_RESULTS} results over GitHub's limit of ${MAX_RESULTS} were left out` } : {}),
    },
  };
  if (report.inventory.notes.length) {
    run['invocations'] = [{ executionSuccessful: true, toolExecutionNotifications: report.inventory.notes.map((n) => ({ level: 'warning', message: { text: n } })) }];
  }
  return { $schema: SARIF_SCHEMA, version: '2.1.0', runs: [run] };
}

export const writeSarif: Writer = async (report, opts, out) => {
  await writeAll(out, `${JSON.stringify(sarifLog(report, opts), null, 2)}\n`);
};
