/**
 * portcullis.yaml: found in the working directory (portcullis.yaml, portcullis.yml, .portcullis.yaml) or
 * given with --config. One file for everything; each consumer validates its own section with its zod
 * schema (config/schema.ts lists them) and gets a frozen, typed value. Flags > env > file > defaults.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../shared/errors.ts';

export const CONFIG_NAMES = ['portcullis.yaml', 'portcullis.yml', '.portcullis.yaml'] as const;
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface ConfigFile {
  /** Absolute path, or undefined when no file was found (defaults only). */
  path?: string;
  data: Record<string, unknown>;
}

/** Read and parse the config file. An explicit path that is missing or malformed is a UserError. */
export function readConfigFile(explicit: string | undefined, cwd: string): ConfigFile {
  let path: string | undefined;
  if (explicit) {
    path = resolve(cwd, explicit);
    if (!existsSync(path)) throw new UserError(`config file ${explicit} does not exist`, { code: 'CONFIG_MISSING' });
  } else {
    path = CONFIG_NAMES.map((n) => join(cwd, n)).find((p) => existsSync(p));
    if (!path) return { data: {} };
  }
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new UserError(`config file ${path} is not a regular file`, { code: 'CONFIG_INVALID' });
    if (st.size > MAX_CONFIG_BYTES) throw new UserError(`config file ${path} is ${st.size} bytes (limit ${MAX_CONFIG_BYTES})`, { code: 'CONFIG_INVALID' });
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot read config file ${path}: ${(err as Error).message}`, { code: 'CONFIG_INVALID', cause: err });
  }
  let data: unknown;
  try {
    data = parseYaml(text, { maxAliasCount: 100 }) ?? {};
  } catch (err) {
    const msg = (err as Error).message.split('\n', 1)[0];
    throw new UserError(`config file ${path} is not valid YAML: ${msg}`, { code: 'CONFIG_INVALID', cause: err });
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UserError(`config file ${path} must be a YAML mapping (key: value)`, { code: 'CONFIG_INVALID' });
  }
  return { path, data: data as Record<string, unknown> };
}

/** One line naming the first problem: "config file X: policy.exceptions[0].expires: Invalid date". */
export function formatZodError(err: z.ZodError, where: string, prefix = ''): string {
  const issue = err.issues[0];
  if (!issue) return `${where}: invalid`;
  const path = [prefix, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))]
    .filter(Boolean)
    .join('.')
    .replace(/\.\[/g, '[');
  const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more)` : '';
  return `${where}: ${path ? `${path}: ` : ''}${issue.message}${more}`;
}

/**
 * Validate one section (`key` undefined = the top level) of the file against a schema; the result is
 * deep-frozen. Errors name the file and the key path.
 */
export function configSection<S extends z.ZodType>(file: ConfigFile, key: string | undefined, schema: S): z.infer<S> {
  const raw = key === undefined ? file.data : (file.data[key] ?? {});
  const r = schema.safeParse(raw);
  if (!r.success) throw new UserError(formatZodError(r.error, file.path ? `config file ${file.path}` : 'config', key ?? ''), { code: 'CONFIG_INVALID' });
  return deepFreeze(r.data);
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}
