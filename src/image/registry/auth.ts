/**
 * Registry authentication: WWW-Authenticate challenges (RFC 7235 auth-params), the distribution
 * token protocol (GET realm?service=&scope=, anonymous or with Basic credentials, or an OAuth2
 * refresh-token POST for identity tokens) and Basic auth.
 */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header value into challenges (tolerant of spacing and quoting). */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const s = header;
  const skipWs = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(s[i] ?? '')) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skipWs();
    while (s[i] === ',') {
      i++;
      skipWs();
    }
    const scheme = token();
    if (!scheme) break;
    const ch: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(ch);
    for (;;) {
      skipWs();
      const save = i;
      const name = token();
      skipWs();
      if (!name || s[i] !== '=') {
        i = save;
        break;
      }
      i++;
      skipWs();
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        value = token();
      }
      ch.params[name.toLowerCase()] = value;
      skipWs();
      if (s[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (i < s.length && s[i] !== ',' && !/[A-Za-z]/.test(s[i] ?? '')) break;
  }
  return out;
}

export function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

export function repositoryScope(repository: string, actions = 'pull'): string {
  return `repository:${repository}:${actions}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads {token | access_token, expires_in} from a token endpoint's JSON. */
export function parseTokenResponse(body: Buffer): { token: string; expiresIn: number } | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(doc)) return undefined;
  const token = typeof doc['token'] === 'string' && doc['token'] ? doc['token'] : doc['access_token'];
  if (typeof token !== 'string' || !token || token.length > 64 * 1024 || /[\r\n]/.test(token)) return undefined;
  const exp = doc['expires_in'];
  return { token, expiresIn: typeof exp === 'number' && exp > 0 ? exp : 60 };
}
