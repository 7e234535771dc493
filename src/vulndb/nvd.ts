/**
 * NVD CVE JSON 2.0 (the API's response shape, and the feed files `nvdcve-2.0-<year>.json[.gz]`):
 * `{"format":"NVD_CVE","version":"2.0","vulnerabilities":[{"cve":{"id":…,"lastModified":…,"metrics":{…}}}]}`
 * → one CVE severity per CVE, used for OSV records that carry no severity of their own
 * (scan/osv-severity.ts, step 4).
 *
 * Yearly feeds are hundreds of MB, so the `vulnerabilities` array is split into items by a small
 * byte-level scanner (strings and escapes honoured) and only one item is parsed at a time.
 *
 * Which metric: CVSS v3.1, then v3.0, then v4.0, then v2; within a version NVD's own (`Primary`)
 * before a CNA's (`Secondary`). Severity is the metric's baseSeverity (v2: the metric's), or derived
 * from the base score.
 */
import { severityFromScore, type Severity } from '../domain/index.ts';
import type { CveInput } from './sqlite-writer.ts';

/** Largest single CVE item accepted (real ones are a few KB; CPE-heavy ones a few hundred KB). */
const MAX_ITEM_BYTES = 16 * 1024 * 1024;
const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
const METRICS: readonly [string, 'v3' | 'v4' | 'v2'][] = [
  ['cvssMetricV31', 'v3'],
  ['cvssMetricV30', 'v3'],
  ['cvssMetricV40', 'v4'],
  ['cvssMetricV2', 'v2'],
];
const SEVERITIES = new Set(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'NONE']);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function v2Severity(score: number): Severity {
  if (score >= 7) return 'HIGH';
  if (score >= 4) return 'MEDIUM';
  return 'LOW';
}

/** The severity NVD data gives one CVE item (`{cve: {...}}`), or undefined when it has no usable metric. */
export function nvdSeverity(item: unknown): CveInput | { error: string; name: string } | undefined {
  const cve = isObj(item) && isObj(item['cve']) ? item['cve'] : undefined;
  if (!cve) return { name: '?', error: 'item has no "cve" object' };
  const id = cve['id'];
  if (typeof id !== 'string' || !CVE_ID.test(id)) return { name: typeof id === 'string' ? id.slice(0, 40) : '?', error: 'cve.id is not a CVE id' };
  const metrics = cve['metrics'];
  if (metrics === undefined) return undefined;
  if (!isObj(metrics)) return { name: id, error: 'cve.metrics is not an object' };
  for (const [key, tag] of METRICS) {
    const list = metrics[key];
    if (!Array.isArray(list) || list.length === 0) continue;
    const objs = list.filter(isObj);
    const m = objs.find((x) => x['type'] === 'Primary') ?? objs[0];
    const data = m && isObj(m['cvssData']) ? m['cvssData'] : undefined;
    if (!m || !data) continue;
    const score = typeof data['baseScore'] === 'number' && Number.isFinite(data['baseScore']) ? data['baseScore'] : undefined;
    const word = tag === 'v2' ? m['baseSeverity'] : data['baseSeverity'];
    let severity: Severity | undefined;
    if (typeof word === 'string' && SEVERITIES.has(word.toUpperCase())) {
      const w = word.toUpperCase();
      severity = w === 'NONE' ? 'UNKNOWN' : (w as Severity);
    } else if (score !== undefined) severity = tag === 'v2' ? v2Severity(score) : severityFromScore(score);
    if (!severity || severity === 'UNKNOWN') continue;
    const out: CveInput = { cve: id, severity: { severity, source: 'nvd' } };
    if (score !== undefined) out.severity.score = score;
    if (typeof data['vectorString'] === 'string') out.severity.vector = data['vectorString'];
    if (typeof cve['lastModified'] === 'string') out.modified = cve['lastModified'];
    return out;
  }
  return undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/**
 * Split an NVD JSON document into the items of its top-level `vulnerabilities` array, streaming.
 * Yields each item's JSON text; throws on a document that is not an NVD object.
 */
export async function* nvdItemTexts(input: AsyncIterable<Buffer | string>, name: string): AsyncGenerator<string> {
  let depth = 0;
  let inString = false;
  let escape = false;
  let keyCapture: number[] | undefined; // bytes of a string at depth 1 (a possible key)
  let lastKey = '';
  let inVulns = false;
  let sawRoot = false;
  let parts: Buffer[] | undefined;
  let partBytes = 0;
  let itemStart = -1;
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    itemStart = parts ? 0 : -1;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i]!;
      if (inString) {
        if (escape) escape = false;
        else if (b === BACKSLASH) escape = true;
        else if (b === QUOTE) {
          inString = false;
          if (keyCapture) {
            lastKey = Buffer.from(keyCapture).toString('utf8');
            keyCapture = undefined;
          }
        } else if (keyCapture && keyCapture.length < 64) keyCapture.push(b);
        continue;
      }
      if (b === QUOTE) {
        inString = true;
        if (depth === 1) keyCapture = [];
        continue;
      }
      if (b === LBRACE || b === LBRACKET) {
        if (depth === 0) {
          if (b !== LBRACE) throw new Error(`${name}: not an NVD CVE JSON document (the top level is not an object)`);
          sawRoot = true;
        }
        if (depth === 1 && b === LBRACKET && lastKey === 'vulnerabilities') inVulns = true;
        if (inVulns && depth === 2 && b === LBRACE) {
          parts = [];
          partBytes = 0;
          itemStart = i;
        }
        depth++;
        continue;
      }
      if (b === RBRACE || b === RBRACKET) {
        depth--;
        if (depth < 0) throw new Error(`${name}: unbalanced JSON`);
        if (inVulns && depth === 2 && b === RBRACE && parts) {
          parts.push(buf.subarray(itemStart, i + 1));
          const text = Buffer.concat(parts).toString('utf8');
          parts = undefined;
          itemStart = -1;
          yield text;
        } else if (inVulns && depth === 1 && b === RBRACKET) inVulns = false;
        continue;
      }
      if (depth === 0 && b > 0x20 && !sawRoot) throw new Error(`${name}: not an NVD CVE JSON document`);
    }
    if (parts && itemStart >= 0) {
      const piece = buf.subarray(itemStart);
      partBytes += piece.length;
      if (partBytes > MAX_ITEM_BYTES) throw new Error(`${name}: a CVE item is larger than ${MAX_ITEM_BYTES} bytes`);
      parts.push(Buffer.from(piece));
    }
  }
  if (!sawRoot || depth !== 0) throw new Error(`${name}: truncated or not an NVD CVE JSON document`);
}

/** CVE severities from an NVD JSON 2.0 document (stream of bytes, already decompressed). */
export async function* nvdSeverities(input: AsyncIterable<Buffer | string>, name: string): AsyncGenerator<CveInput | { name: string; error: string }> {
  for await (const text of nvdItemTexts(input, name)) {
    let item: unknown;
    try {
      item = JSON.parse(text);
    } catch (err) {
      yield { name: `${name} item`, error: `not valid JSON (${(err as Error).message.split('\n', 1)[0]})` };
      continue;
    }
    const s = nvdSeverity(item);
    if (s) yield s;
  }
}
