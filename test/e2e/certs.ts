/**
 * Test PKI with the openssl CLI (execFile, argv only): a CA, a serving certificate for 127.0.0.1 and
 * a client certificate, each signed by the CA, as PEM files in a directory.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const OPENSSL = '/usr/bin/openssl';

export function opensslAvailable(): string | undefined {
  return existsSync(OPENSSL) ? undefined : `${OPENSSL} not installed (apt-get install openssl)`;
}

export interface Pem {
  cert: string;
  key: string;
}

/** A self-signed CA in dir/NAME.crt + NAME.key. */
export async function makeCa(dir: string, name: string): Promise<Pem> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await run(OPENSSL, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { cert, key };
}

/** A leaf certificate signed by `ca`: serving (SAN IP 127.0.0.1) or client. Written to dir/NAME.{crt,key}. */
export async function makeLeaf(dir: string, name: string, ca: Pem, kind: 'server' | 'client'): Promise<Pem> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await run(OPENSSL, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(ext, kind === 'server' ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n');
  await run(OPENSSL, ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
  return { cert, key };
}

export function fingerprintOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}
