/**
 * The `policy:` section of portcullis.yaml (camelCase keys, strict: an unknown key is an error, so a typo
 * never silently weakens the gate). Validated once into a frozen `Policy` (configSection in load.ts);
 * docs/policy.md documents every key.
 */
import { z } from 'zod';
import { SEVERITIES, type Severity } from '../domain/severity.ts';
import type { Policy, PolicyException } from '../domain/policy.ts';

const severityList = z
  .union([z.string(), z.array(z.string())])
  .transform((v, ctx): Severity[] => {
    const list = (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim().toUpperCase()).filter(Boolean);
    const out: Severity[] = [];
    for (const s of list) {
      const sev = SEVERITIES.find((x) => x === s);
      if (!sev) {
        ctx.addIssue({ code: 'custom', message: `unknown severity "${s}" (use ${SEVERITIES.join(', ')})` });
        return z.NEVER;
      }
      if (!out.includes(sev)) out.push(sev);
    }
    if (out.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'list at least one severity' });
      return z.NEVER;
    }
    return out;
  });

const stringList = z
  .union([z.string(), z.array(z.string().min(1).max(1024))])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

const DOMAIN_COMPONENT = /^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * Normalises a registry list entry 'host[:port][/repo/prefix]' (or '*.suffix[/prefix]'); returns the
 * error text when it is not one. Docker Hub aliases become 'docker.io'; the host is lower-cased.
 */
export function normaliseRegistryEntry(entry: string): { value: string } | { error: string } {
  const e = entry.trim().replace(/\/+$/, '');
  const slash = e.indexOf('/');
  let host = (slash < 0 ? e : e.slice(0, slash)).toLowerCase();
  const path = slash < 0 ? '' : e.slice(slash + 1);
  const bare = host.startsWith('*.') ? host.slice(2) : host;
  const colon = bare.lastIndexOf(':');
  const name = colon >= 0 && !bare.endsWith(']') ? bare.slice(0, colon) : bare;
  const port = colon >= 0 && !bare.endsWith(']') ? bare.slice(colon + 1) : undefined;
  const looksLikeHost = host.startsWith('*.') || name.includes('.') || port !== undefined || name === 'localhost' || /^\[[0-9a-f:.]+\]$/.test(name);
  if (!looksLikeHost) {
    return { error: `"${entry}" does not start with a registry host (write docker.io/library, ghcr.io/org, host:port)` };
  }
  if (!/^\[[0-9a-f:.]+\]$/.test(name) && !name.split('.').every((c) => DOMAIN_COMPONENT.test(c))) {
    return { error: `"${entry}": "${host}" is not a valid registry host` };
  }
  if (port !== undefined && !(/^[0-9]{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return { error: `"${entry}": "${port}" is not a valid port` };
  }
  if (path && !path.split('/').every((c) => PATH_COMPONENT.test(c))) {
    return { error: `"${entry}": "${path}" is not a valid repository path (lower-case a-z 0-9 . _ -)` };
  }
  if (DOCKER_HUB_ALIASES.has(host)) host = 'docker.io';
  return { value: path ? `${host}/${path}` : host };
}

const registryList = stringList.transform((list, ctx): string[] => {
  const out: string[] = [];
  for (const entry of list) {
    const r = normaliseRegistryEntry(entry);
    if ('error' in r) {
      ctx.addIssue({ code: 'custom', message: r.error });
      return z.NEVER;
    }
    out.push(r.value);
  }
  return out;
});

/** Date.parse accepts 2025-02-30 (as March 2): check the calendar day too. */
function realDate(s: string): boolean {
  const t = Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s);
  if (Number.isNaN(t)) return false;
  const [y, m, d] = s.slice(0, 10).split('-').map(Number);
  const probe = new Date(Date.UTC(y ?? 0, (m ?? 1) - 1, d ?? 0));
  return probe.getUTCFullYear() === y && probe.getUTCMonth() === (m ?? 1) - 1 && probe.getUTCDate() === d;
}

const isoDate = z.union([z.string(), z.date()]).transform((v, ctx): string => {
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'invalid date' });
      return z.NEVER;
    }
    return v.toISOString();
  }
  const s = v.trim();
  // A time needs a zone: the same file must mean the same instant on every server.
  if (!/^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/.test(s) || !realDate(s)) {
    ctx.addIssue({ code: 'custom', message: `"${v.slice(0, 64)}" is not an ISO 8601 date (2025-06-30, or 2025-06-30T12:00:00Z with a zone)` });
    return z.NEVER;
  }
  return s;
});

const exceptionSchema = z
  .object({
    id: z.string().trim().min(1, 'an exception needs an advisory id (or "*")').max(256),
    images: stringList.optional(),
    namespaces: stringList.optional(),
    expires: isoDate.optional(),
    reason: z.string().trim().min(1, 'an exception needs a reason (who decided, why, ticket)').max(1024),
  })
  .strict()
  .transform((e): PolicyException => {
    const out: PolicyException = { id: e.id, reason: e.reason };
    if (e.images && e.images.length) out.images = e.images;
    if (e.namespaces && e.namespaces.length) out.namespaces = e.namespaces;
    if (e.expires !== undefined) out.expires = e.expires;
    return out;
  });

export const DEFAULT_BREAK_GLASS_ANNOTATION = 'portcullis.image-policy.k8s.io/break-glass';

const breakGlassSchema = z
  .object({
    enabled: z.boolean().default(false),
    annotation: z.string().trim().min(1).max(317).default(DEFAULT_BREAK_GLASS_ANNOTATION),
    value: z.string().min(1).max(256).optional(),
  })
  .strict();

const policyObject = z
  .object({
    severities: severityList.default(['HIGH', 'CRITICAL']),
    ignoreUnfixed: z.boolean().default(false),
    exceptions: z.array(exceptionSchema).max(10_000).default([]),
    registries: z
      .object({ allow: registryList.default([]), deny: registryList.default([]) })
      .strict()
      .default({ allow: [], deny: [] }),
    requireDigest: z.boolean().default(false),
    excludedNamespaces: stringList.default([]),
    breakGlass: breakGlassSchema.default({ enabled: false, annotation: DEFAULT_BREAK_GLASS_ANNOTATION }),
    mode: z.enum(['enforce', 'warn', 'audit']).default('enforce'),
    onError: z.enum(['deny', 'allow']).default('deny'),
    onPending: z.enum(['deny', 'allow']).default('deny'),
    unknownKinds: z.enum(['scan', 'deny', 'allow']).default('scan'),
    maxFindingsInMessage: z.number().int().min(0).max(20).default(3),
  })
  .strict();

/** Input: the YAML/JSON value of `policy:` (absent keys take defaults). Output: a complete `Policy`. */
export const policySchema = policyObject.transform((p): Policy => {
  const breakGlass: Policy['breakGlass'] = { enabled: p.breakGlass.enabled, annotation: p.breakGlass.annotation };
  if (p.breakGlass.value !== undefined) breakGlass.value = p.breakGlass.value;
  return {
    severities: p.severities,
    ignoreUnfixed: p.ignoreUnfixed,
    exceptions: p.exceptions,
    registries: { allow: p.registries.allow, deny: p.registries.deny },
    requireDigest: p.requireDigest,
    excludedNamespaces: p.excludedNamespaces,
    breakGlass,
    mode: p.mode,
    onError: p.onError,
    onPending: p.onPending,
    unknownKinds: p.unknownKinds,
    maxFindingsInMessage: p.maxFindingsInMessage,
  };
});

export type PolicyInput = z.input<typeof policySchema>;

/** Every default: HIGH+CRITICAL, enforce, fail closed on errors and pending scans, unknown kinds denied. */
export const defaultPolicy: Policy = parsePolicy({});

/** Validate a policy value (throws z.ZodError); deep-frozen like configSection's result. For tests and callers outside configSection. */
export function parsePolicy(input: unknown): Policy {
  return deepFreeze(policySchema.parse(input ?? {}));
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}
