/**
 * Validation of OSV JSON at the import boundary (advisory feeds are attacker-controlled input).
 * Checks every field Portcullis reads, with the types of OSV schema 1.6; unknown fields are kept as
 * they are. A record that does not fit is skipped by the importer, counted, and named in `db status`
 * with the first problem found (`affected[0].ranges[1].events[2].fixed: not a string`). JSON null
 * in an optional field counts as absent (Go-written feeds emit `"versions": null`).
 */
import type { OsvRecord } from './osv-types.ts';

export type Validation = { ok: true; record: OsvRecord } | { ok: false; reason: string; id?: string };

/** OSV ids are short ASCII identifiers ('GHSA-xxxx-xxxx-xxxx', 'DEBIAN-CVE-2024-1234', 'openSUSE-SU-…'). */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:+\-/]{0,254}$/;
const EVENT_KEYS = new Set(['introduced', 'fixed', 'last_affected', 'limit']);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Invalid extends Error {}

function need(cond: boolean, path: string, what: string): void {
  if (!cond) throw new Invalid(`${path}: ${what}`);
}

function optString(o: Record<string, unknown>, key: string, path: string): void {
  const v = o[key];
  need(v === undefined || v === null || typeof v === 'string', `${path}${key}`, 'not a string');
}

function optObject(o: Record<string, unknown>, key: string, path: string): void {
  const v = o[key];
  need(v === undefined || v === null || isObj(v), `${path}${key}`, 'not an object');
}

function optStrings(o: Record<string, unknown>, key: string, path: string): void {
  const v = o[key];
  if (v === undefined || v === null) return;
  need(Array.isArray(v), `${path}${key}`, 'not an array');
  (v as unknown[]).forEach((x, i) => need(typeof x === 'string', `${path}${key}[${i}]`, 'not a string'));
}

function optArray(o: Record<string, unknown>, key: string, path: string, each: (x: unknown, p: string) => void): void {
  const v = o[key];
  if (v === undefined || v === null) return;
  need(Array.isArray(v), `${path}${key}`, 'not an array');
  (v as unknown[]).forEach((x, i) => each(x, `${path}${key}[${i}]`));
}

function severity(x: unknown, p: string): void {
  need(isObj(x), p, 'not an object');
  const s = x as Record<string, unknown>;
  need(typeof s['type'] === 'string', `${p}.type`, 'not a string');
  need(typeof s['score'] === 'string', `${p}.score`, 'not a string');
}

function event(x: unknown, p: string): void {
  need(isObj(x), p, 'not an object');
  const e = x as Record<string, unknown>;
  let known = 0;
  for (const [k, v] of Object.entries(e)) {
    if (!EVENT_KEYS.has(k)) continue;
    known++;
    // the schema allows "" (it means no such event: osv-range.ts ignores it), not other types
    need(typeof v === 'string', `${p}.${k}`, 'not a string');
  }
  need(known > 0, p, 'no introduced/fixed/last_affected/limit');
}

function range(x: unknown, p: string): void {
  need(isObj(x), p, 'not an object');
  const r = x as Record<string, unknown>;
  need(typeof r['type'] === 'string', `${p}.type`, 'not a string');
  optString(r, 'repo', `${p}.`);
  need(Array.isArray(r['events']), `${p}.events`, 'not an array');
  (r['events'] as unknown[]).forEach((e, i) => event(e, `${p}.events[${i}]`));
  optObject(r, 'database_specific', `${p}.`);
}

function affected(x: unknown, p: string): void {
  need(isObj(x), p, 'not an object');
  const a = x as Record<string, unknown>;
  const pkg = a['package'];
  if (pkg !== undefined && pkg !== null) {
    need(isObj(pkg), `${p}.package`, 'not an object');
    const k = pkg as Record<string, unknown>;
    need(typeof k['ecosystem'] === 'string' && k['ecosystem'].length > 0, `${p}.package.ecosystem`, 'missing or not a string');
    need(typeof k['name'] === 'string', `${p}.package.name`, 'missing or not a string');
    optString(k, 'purl', `${p}.package.`);
  }
  optArray(a, 'severity', `${p}.`, severity);
  optArray(a, 'ranges', `${p}.`, range);
  optStrings(a, 'versions', `${p}.`);
  optObject(a, 'ecosystem_specific', `${p}.`);
  optObject(a, 'database_specific', `${p}.`);
}

function reference(x: unknown, p: string): void {
  need(isObj(x), p, 'not an object');
  const r = x as Record<string, unknown>;
  need(typeof r['url'] === 'string', `${p}.url`, 'not a string');
  optString(r, 'type', `${p}.`);
}

/** Validate one parsed OSV record. */
export function validateOsvRecord(v: unknown): Validation {
  if (!isObj(v)) return { ok: false, reason: Array.isArray(v) ? 'a JSON array, not an OSV record' : 'not a JSON object' };
  const id = v['id'];
  const named = typeof id === 'string' && ID.test(id) ? id : undefined;
  try {
    need(typeof id === 'string', 'id', 'missing or not a string');
    need(named !== undefined, 'id', 'not a valid OSV id');
    need(typeof v['modified'] === 'string' && v['modified'].length > 0, 'modified', 'missing or not a string');
    for (const k of ['published', 'withdrawn', 'schema_version', 'summary', 'details']) optString(v, k, '');
    for (const k of ['aliases', 'upstream', 'related']) optStrings(v, k, '');
    optArray(v, 'severity', '', severity);
    optArray(v, 'affected', '', affected);
    optArray(v, 'references', '', reference);
    optObject(v, 'database_specific', '');
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    return named === undefined ? { ok: false, reason: err.message } : { ok: false, reason: err.message, id: named };
  }
  return { ok: true, record: v as unknown as OsvRecord };
}

/** Parse and validate one record's JSON text. */
export function parseOsvRecord(text: string): Validation {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not valid JSON (${(err as Error).message.split('\n', 1)[0]})` };
  }
  return validateOsvRecord(v);
}
