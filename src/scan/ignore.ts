/**
 * Ignore files, as Trivy reads them, so an existing `.trivyignore` keeps working:
 *
 *   .trivyignore        one advisory id per line, `#` comments, optional `exp:YYYY-MM-DD` after the id.
 *                       A line that is not an advisory id (no CVE-/GHSA-/… shape) names a package or a
 *                       purl (`golang.org/x/text`, `pkg:npm/lodash`) whose findings are all ignored.
 *   .trivyignore.yaml   `vulnerabilities: [{id, paths?, purls?, expired_at?, statement?}]`; paths are
 *                       globs on the package's file (or its result target), purls match by type,
 *                       namespace and name, and version/qualifiers when the rule gives them.
 *
 * Expired rules do nothing and are reported, so an exception cannot outlive its date silently.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { matchesGlob } from 'node:path';
import { PackageURL } from 'packageurl-js';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Finding } from '../domain/index.ts';
import { UserError } from '../shared/errors.ts';

export interface IgnoreRule {
  /** Advisory id (matches the finding's id, an alias or a vendor id); undefined = any advisory. */
  id?: string;
  /** Package name (when the line named a package instead of an advisory). */
  packageName?: string;
  purls?: PackageURL[];
  paths?: string[];
  /** Last day the rule applies (inclusive), YYYY-MM-DD. */
  expires?: string;
  statement?: string;
  /** Where the rule came from: "FILE:LINE". */
  origin: string;
}

export interface IgnoreSet {
  rules: IgnoreRule[];
  /** Rules whose date has passed: not applied. */
  expired: IgnoreRule[];
}

const MAX_IGNOREFILE_BYTES = 4 * 1024 * 1024;
/** CVE-, GHSA-, PYSEC-, GO-, RUSTSEC-, DSA-, USN-, ALAS…, RHSA-…: a prefix in capitals, a dash, then digits/ids. */
const ADVISORY_ID = /^[A-Z][A-Z0-9]*(-[A-Za-z0-9:._]+)+$/;

function isExpired(date: string | undefined, now: Date): boolean {
  if (!date) return false;
  const end = Date.parse(`${date}T23:59:59.999Z`);
  return Number.isFinite(end) && end < now.getTime();
}

function parsePurl(s: string, origin: string): PackageURL {
  try {
    return PackageURL.fromString(s);
  } catch (err) {
    throw new UserError(`${origin}: "${s}" is not a valid package URL (${(err as Error).message})`, { code: 'IGNOREFILE_INVALID' });
  }
}

function parseText(text: string, file: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const origin = `${file}:${i + 1}`;
    const [first = '', ...rest] = line.split(/\s+/);
    const rule: IgnoreRule = { origin };
    for (const r of rest) {
      const m = /^exp:(\d{4}-\d{2}-\d{2})$/.exec(r);
      if (!m?.[1]) throw new UserError(`${origin}: unexpected "${r}" (a line is an id, optionally followed by exp:YYYY-MM-DD)`, { code: 'IGNOREFILE_INVALID' });
      rule.expires = m[1];
    }
    if (first.startsWith('pkg:')) rule.purls = [parsePurl(first, origin)];
    else if (ADVISORY_ID.test(first)) rule.id = first;
    else rule.packageName = first;
    rules.push(rule);
  });
  return rules;
}

const dateish = z.union([z.string(), z.date()]).transform((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v.slice(0, 10)));
const yamlSchema = z
  .object({
    vulnerabilities: z
      .array(
        z
          .object({
            id: z.string().min(1),
            paths: z.array(z.string()).optional(),
            purls: z.array(z.string()).optional(),
            expired_at: dateish.optional(),
            statement: z.string().optional(),
          })
          .loose(),
      )
      .optional(),
  })
  .loose();

function parseYamlFile(text: string, file: string): IgnoreRule[] {
  let data: unknown;
  try {
    data = parseYaml(text, { maxAliasCount: 100 }) ?? {};
  } catch (err) {
    throw new UserError(`${file} is not valid YAML: ${(err as Error).message.split('\n', 1)[0]}`, { code: 'IGNOREFILE_INVALID' });
  }
  const r = yamlSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new UserError(`${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`, { code: 'IGNOREFILE_INVALID' });
  }
  return (r.data.vulnerabilities ?? []).map((v, i) => {
    const origin = `${file}:vulnerabilities[${i}]`;
    const rule: IgnoreRule = { id: v.id, origin };
    if (v.paths?.length) rule.paths = v.paths.map((p) => p.replace(/^\.?\//, ''));
    if (v.purls?.length) rule.purls = v.purls.map((p) => parsePurl(p, origin));
    if (v.expired_at) rule.expires = v.expired_at;
    if (v.statement) rule.statement = v.statement;
    return rule;
  });
}

/** Read an ignore file. `explicit` false = the default name, silently absent. */
export function loadIgnoreFile(path: string, explicit: boolean, now: Date = new Date()): IgnoreSet {
  if (!existsSync(path)) {
    if (explicit) throw new UserError(`ignore file ${path} does not exist`, { code: 'IGNOREFILE_MISSING' });
    return { rules: [], expired: [] };
  }
  const st = statSync(path);
  if (!st.isFile()) throw new UserError(`ignore file ${path} is not a regular file`, { code: 'IGNOREFILE_INVALID' });
  if (st.size > MAX_IGNOREFILE_BYTES) throw new UserError(`ignore file ${path} is too large (${st.size} bytes)`, { code: 'IGNOREFILE_INVALID' });
  const text = readFileSync(path, 'utf8');
  const all = /\.ya?ml$/i.test(path) ? parseYamlFile(text, path) : parseText(text, path);
  const rules: IgnoreRule[] = [];
  const expired: IgnoreRule[] = [];
  for (const r of all) (isExpired(r.expires, now) ? expired : rules).push(r);
  return { rules, expired };
}

function purlMatches(rule: PackageURL, purl: string): boolean {
  let p: PackageURL;
  try {
    p = PackageURL.fromString(purl);
  } catch {
    return false;
  }
  if (rule.type !== p.type || (rule.namespace ?? '') !== (p.namespace ?? '') || rule.name !== p.name) return false;
  if (rule.version && rule.version !== p.version) return false;
  for (const [k, v] of Object.entries(rule.qualifiers ?? {})) if (p.qualifiers?.[k] !== v) return false;
  return true;
}

function ruleMatches(rule: IgnoreRule, f: Finding): boolean {
  if (rule.id !== undefined && rule.id !== f.advisoryId && !f.aliases.includes(rule.id) && !(f.vendorIds ?? []).includes(rule.id)) return false;
  if (rule.packageName !== undefined && rule.packageName !== f.package.name) return false;
  if (rule.purls && !rule.purls.some((u) => purlMatches(u, f.package.purl))) return false;
  if (rule.paths) {
    const files = [f.package.filePath, ...f.package.locations.map((l) => l.path)].filter((x): x is string => Boolean(x));
    if (!rule.paths.some((g) => files.some((file) => file === g || matchesGlob(file, g)))) return false;
  }
  return true;
}

/** Split findings into kept and ignored (with the rule that ignored each). */
export function applyIgnores(findings: readonly Finding[], set: IgnoreSet): { kept: Finding[]; ignored: { finding: Finding; rule: IgnoreRule }[] } {
  const kept: Finding[] = [];
  const ignored: { finding: Finding; rule: IgnoreRule }[] = [];
  for (const f of findings) {
    const rule = set.rules.find((r) => ruleMatches(r, f));
    if (rule) ignored.push({ finding: f, rule });
    else kept.push(f);
  }
  return { kept, ignored };
}
