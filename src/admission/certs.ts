/**
 * A private CA and the webhook's serving certificate (and optionally a client certificate for the API
 * server's ImagePolicyWebhook kubeconfig), generated in memory with @peculiar/x509 over Node's WebCrypto.
 * No file I/O here: `portcullis k8s certs` writes the PEMs (keys 0600, atomically).
 */
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import 'reflect-metadata'; // tsyringe (inside @peculiar/x509) needs the Reflect metadata API before it loads
import * as x509 from '@peculiar/x509';
import { UserError } from '../shared/errors.ts';

export type KeyType = 'ecdsa' | 'rsa';

export interface CertRequest {
  /** DNS names for the serving certificate's SANs (the first is also its CN). */
  dns: string[];
  /** IP SANs (127.0.0.1 for local tests). */
  ips?: string[];
  /** Serving (and client) certificate validity, days. The CA lives max(days, 3650). */
  days: number;
  keyType: KeyType;
  /** Also issue a client certificate with this CN (for the API server's webhook kubeconfig). */
  clientCommonName?: string;
  now?: Date;
}

export interface PemPair {
  cert: string;
  key: string;
}

export interface GeneratedCerts {
  ca: PemPair;
  server: PemPair;
  client?: PemPair;
}

const DNS_NAME = /^(?:\*\.)?(?:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)*$/;

export function checkDnsName(name: string): string {
  const n = name.trim().toLowerCase();
  if (!n || n.length > 253 || !DNS_NAME.test(n)) throw new UserError(`--dns "${name.slice(0, 100)}" is not a valid DNS name`, { code: 'FLAG_INVALID' });
  return n;
}

function algorithms(keyType: KeyType): { gen: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams; sign: webcrypto.Algorithm | webcrypto.EcdsaParams } {
  if (keyType === 'rsa') {
    return {
      gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      sign: { name: 'RSASSA-PKCS1-v1_5' },
    };
  }
  return { gen: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } };
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0] ?? 0) & 0x7f; // positive
  b[0] = (b[0] ?? 0) | 0x01; // no leading zero byte
  return Buffer.from(b).toString('hex');
}

function dnEscape(v: string): string {
  return v.replace(/[,+"\\<>;=]/g, '\\$&');
}

async function keyPair(keyType: KeyType): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(algorithms(keyType).gen, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function keyPem(k: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', k));
}

/** CA (10 years or longer), serving certificate (serverAuth, SANs) and optional client certificate (clientAuth). */
export async function generateCerts(req: CertRequest): Promise<GeneratedCerts> {
  const dns = req.dns.map(checkDnsName);
  const ips = (req.ips ?? []).map((ip) => {
    if (!isIP(ip)) throw new UserError(`--ip "${ip.slice(0, 100)}" is not an IP address`, { code: 'FLAG_INVALID' });
    return ip;
  });
  if (dns.length === 0 && ips.length === 0) throw new UserError('give at least one --dns name (e.g. portcullis.portcullis.svc)', { code: 'FLAG_INVALID' });
  if (!Number.isInteger(req.days) || req.days < 1 || req.days > 3650) throw new UserError('--days must be an integer from 1 to 3650', { code: 'FLAG_INVALID' });
  const crypto = webcrypto as unknown as Crypto;
  x509.cryptoProvider.set(crypto);
  const { sign } = algorithms(req.keyType);
  const now = req.now ?? new Date();
  const notBefore = new Date(now.getTime() - 5 * 60_000); // clock skew
  const notAfter = new Date(now.getTime() + req.days * 86_400_000);
  const caNotAfter = new Date(now.getTime() + Math.max(req.days, 3650) * 86_400_000);

  const caKeys = await keyPair(req.keyType);
  const caName = `CN=portcullis-ca-${serial().slice(0, 8)}, O=portcullis`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: caName,
    notBefore,
    notAfter: caNotAfter,
    keys: caKeys,
    signingAlgorithm: sign,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const issue = async (cn: string, usage: x509.ExtendedKeyUsage, sans: x509.JsonGeneralName[]): Promise<PemPair> => {
    const keys = await keyPair(req.keyType);
    const exts: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        req.keyType === 'rsa' ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([usage], false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ];
    if (sans.length) exts.push(new x509.SubjectAlternativeNameExtension(sans, false));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${dnEscape(cn)}, O=portcullis`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      signingKey: caKeys.privateKey,
      publicKey: keys.publicKey,
      signingAlgorithm: sign,
      extensions: exts,
    });
    return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
  };

  const sans: x509.JsonGeneralName[] = [...dns.map((value) => ({ type: 'dns' as const, value })), ...ips.map((value) => ({ type: 'ip' as const, value }))];
  const server = await issue(dns[0] ?? ips[0] ?? 'portcullis', x509.ExtendedKeyUsage.serverAuth, sans);
  const out: GeneratedCerts = { ca: { cert: ca.toString('pem') + '\n', key: await keyPem(caKeys.privateKey) }, server };
  if (req.clientCommonName) out.client = await issue(req.clientCommonName, x509.ExtendedKeyUsage.clientAuth, []);
  return out;
}
