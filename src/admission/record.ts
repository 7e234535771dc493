/** Plain checks shared by the wire parsers' fast paths (each accepts nothing its zod schema refuses). */

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A string → string map, as `z.record(z.string(), z.string())` accepts it. */
export function isStringRecord(v: unknown, maxKeys = Infinity): v is Record<string, string> {
  if (!isPlainObject(v)) return false;
  let n = 0;
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    if (typeof v[k] !== 'string' || ++n > maxKeys) return false;
  }
  return true;
}
