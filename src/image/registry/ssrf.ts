/**
 * SSRF guard: image references come from pod specs, so a registry host could point at the cloud
 * metadata service or an internal admin port. Unless private registries are allowed, every address
 * a registry (or token realm, or blob redirect) host resolves to must be public. The check runs in
 * the socket's DNS lookup, so the address that is checked is the address that is connected to.
 */
import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { ScannerError } from '../../shared/errors.ts';

function v4ToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  return (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0;
}

const V4_BLOCKED: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

function v4Class(ip: string): string | undefined {
  const n = v4ToInt(ip);
  for (const [base, bits, name] of V4_BLOCKED) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if ((n & mask) >>> 0 === (v4ToInt(base) & mask) >>> 0) return name;
  }
  return undefined;
}

function expandV6(ip: string): number[] | undefined {
  let s = ip.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    if (isIP(last) !== 4) return undefined;
    const n = v4ToInt(last);
    s = `${s.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (x: string | undefined): number[] => (x ? x.split(':').map((g) => parseInt(g, 16)) : []);
  const h = parse(halves[0]);
  const r = parse(halves[1]);
  if ([...h, ...r].some((x) => !Number.isInteger(x) || x < 0 || x > 0xffff)) return undefined;
  const fill = 8 - h.length - r.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  return [...h, ...new Array<number>(fill).fill(0), ...r];
}

/** Why an address is not public ('loopback', 'private', 'link-local' …), or undefined when it is. */
export function classifyAddress(ip: string): string | undefined {
  const fam = isIP(ip);
  if (fam === 4) return v4Class(ip);
  if (fam !== 6) return 'not an IP address';
  const w = expandV6(ip);
  if (!w || w.length !== 8) return 'malformed';
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0] = w;
  if (w.every((x) => x === 0)) return 'unspecified';
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0 && g === 0 && h === 1) return 'loopback';
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible / NAT64 embeddings: judge the IPv4 part.
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && (f === 0xffff || f === 0)) {
    return v4Class(`${g >>> 8}.${g & 0xff}.${h >>> 8}.${h & 0xff}`) ?? undefined;
  }
  if (a === 0x64 && b === 0xff9b) return v4Class(`${g >>> 8}.${g & 0xff}.${h >>> 8}.${h & 0xff}`);
  if ((a & 0xfe00) === 0xfc00) return 'unique-local (private)';
  if ((a & 0xffc0) === 0xfe80) return 'link-local';
  if ((a & 0xffc0) === 0xfec0) return 'site-local (private)';
  if ((a & 0xff00) === 0xff00) return 'multicast';
  return undefined;
}

export function blockedError(host: string, ip: string, why: string): ScannerError {
  return new ScannerError(
    'REGISTRY_ADDRESS_BLOCKED',
    `registry host ${host} resolves to ${ip} (${why}); contacting non-public addresses is disabled (allow private registries to permit it)`,
  );
}

/**
 * A `lookup` for net/http that resolves every address of the host and fails when any is not public.
 * Refusing when ANY address is private stops a name that mixes public and private answers.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    const literal = isIP(hostname.replace(/^\[|\]$/g, ''));
    if (allowPrivate) {
      dnsLookup(hostname, options, callback);
      return;
    }
    const check = (addrs: { address: string; family: number }[]): Error | undefined => {
      for (const a of addrs) {
        const why = classifyAddress(a.address);
        if (why) return blockedError(hostname, a.address, why);
      }
      return undefined;
    };
    if (literal) {
      const h = hostname.replace(/^\[|\]$/g, '');
      const err = check([{ address: h, family: literal }]);
      if (err) return callback(err as NodeJS.ErrnoException, '', 0);
    }
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as unknown as { address: string; family: number }[];
      const bad = check(list);
      if (bad) return callback(bad as NodeJS.ErrnoException, '', 0);
      if (options.all) return (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`no address for ${hostname}`) as NodeJS.ErrnoException, '', 0);
      return callback(null, first.address, first.family);
    });
  };
}

/** Resolves a host and throws when it is not public (used before contacting a token realm). */
export async function assertPublicHost(hostname: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const lookup = guardedLookup(false);
  await new Promise<void>((resolve, reject) => {
    lookup(hostname, { all: true }, (err) => (err ? reject(err) : resolve()));
  });
}
