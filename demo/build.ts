/**
 * Builds demo/image: a small OCI image layout with real tar layers, made from real package databases
 * (Ubuntu 18.04 dpkg status from Trivy's test data, a setuptools egg-info, two npm packages).
 * Run: node demo/build.ts   (deterministic: same bytes every time)
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

const here = dirname(fileURLToPath(import.meta.url));
const src = (f: string): Buffer => readFileSync(join(here, 'src', f));
const mtime = new Date('2024-01-01T00:00:00Z');

type Entry = { name: string; content?: Buffer | string; type?: 'file' | 'directory' | 'symlink'; linkname?: string; mode?: number };

async function layer(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((res, rej) => {
    pack.on('end', () => res());
    pack.on('error', rej);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = { name: e.name, mtime, uid: 0, gid: 0, uname: 'root', gname: 'root', type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), ...(e.linkname ? { linkname: e.linkname } : {}) };
    if (type === 'file') pack.entry(header, typeof e.content === 'string' ? Buffer.from(e.content) : (e.content ?? Buffer.alloc(0)));
    else pack.entry(header);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const pkgJson = (name: string, version: string): string => `${JSON.stringify({ name, version, license: 'MIT', description: `${name} (demo copy: metadata only)` }, null, 2)}\n`;
const dirs = (...names: string[]): Entry[] => names.map((name) => ({ name, type: 'directory' as const }));

const layers = [
  {
    createdBy: 'ADD ubuntu-18.04 base (etc/os-release -> ../usr/lib/os-release, dpkg status with 90 packages)',
    tar: await layer([
      ...dirs('etc/', 'usr/', 'usr/lib/', 'var/', 'var/lib/', 'var/lib/dpkg/'),
      { name: 'usr/lib/os-release', content: src('os-release') },
      { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
      { name: 'etc/lsb-release', content: src('lsb-release') },
      { name: 'var/lib/dpkg/status', content: src('dpkg-status') },
    ]),
  },
  {
    createdBy: 'COPY app/ /app/ (node_modules: jquery 2.2.4, ms 0.7.0, left-pad 1.3.0) + python venv with setuptools 51.3.3',
    tar: await layer([
      ...dirs('app/', 'app/node_modules/', 'app/node_modules/jquery/', 'app/node_modules/ms/', 'app/node_modules/left-pad/'),
      { name: 'app/package.json', content: `${JSON.stringify({ name: 'demo-app', version: '1.0.0', private: true, dependencies: { jquery: '2.2.4', ms: '0.7.0' } }, null, 2)}\n` },
      { name: 'app/node_modules/jquery/package.json', content: pkgJson('jquery', '2.2.4') },
      { name: 'app/node_modules/ms/package.json', content: pkgJson('ms', '0.7.0') },
      { name: 'app/node_modules/left-pad/package.json', content: pkgJson('left-pad', '1.3.0') },
      ...dirs('opt/', 'opt/venv/', 'opt/venv/lib/', 'opt/venv/lib/python3.8/', 'opt/venv/lib/python3.8/site-packages/', 'opt/venv/lib/python3.8/site-packages/setuptools-51.3.3.egg-info/'),
      { name: 'opt/venv/lib/python3.8/site-packages/setuptools-51.3.3.egg-info/PKG-INFO', content: src('setuptools-PKG-INFO') },
    ]),
  },
  {
    createdBy: 'RUN npm uninstall left-pad (an OCI whiteout: left-pad must not be reported)',
    tar: await layer([...dirs('app/', 'app/node_modules/'), { name: 'app/node_modules/.wh.left-pad', content: '' }]),
  },
];

const out = join(here, 'image');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'blobs', 'sha256'), { recursive: true });
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const blob = (b: Buffer): { digest: string; size: number } => {
  const h = sha(b);
  writeFileSync(join(out, 'blobs', 'sha256', h), b);
  return { digest: `sha256:${h}`, size: b.length };
};

const layerDescs = layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob(gzipSync(l.tar, { level: 9 })) }));
const config = {
  created: mtime.toISOString(),
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/app', Cmd: ['node', 'server.js'] },
  rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha(l.tar)}`) },
  history: layers.map((l) => ({ created: mtime.toISOString(), created_by: l.createdBy })),
};
const configDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', ...blob(Buffer.from(JSON.stringify(config))) };
const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers: layerDescs };
const manifestDesc = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  ...blob(Buffer.from(JSON.stringify(manifest))),
  annotations: { 'org.opencontainers.image.ref.name': 'latest' },
  platform: { architecture: 'amd64', os: 'linux' },
};
writeFileSync(join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
writeFileSync(join(out, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [manifestDesc] }));
process.stdout.write(`demo image written to ${out} (${manifestDesc.digest})\n`);
