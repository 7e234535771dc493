/**
 * Which files may be Go binaries. Leaf module (imports nothing): the OS-owned-file filter uses it.
 * Trivy opens every executable regular file; we also skip names whose extension says "not a
 * program" (scripts, data, shared libraries), which Go binaries never carry.
 */

/**
 * Smallest file that can hold an executable header plus Go build info. Real Go programs are far
 * bigger (a stripped hello-world is ~800 KB), but Trivy opens every executable whatever its size, and
 * wanting small ones costs next to nothing: the streaming condenser drops a file after its first 64
 * bytes unless it is ELF, PE or Mach-O.
 */
export const GO_BINARY_MIN = 128;
/** Largest binary read (streamed; held whole only when a pre-1.18 binary needs it). */
export const GO_BINARY_MAX = 256 * 1024 * 1024;

const NOT_PROGRAMS = new Set([
  'a', 'o', 'la', 'so', 'dll', 'lib', 'py', 'pyc', 'pyo', 'pyi', 'pyd', 'pxd', 'pyx', 'pth', 'pl', 'pm', 'pod', 'rb',
  'sh', 'bash', 'zsh', 'csh', 'fish', 'ps1', 'bat', 'cmd', 'js', 'mjs', 'cjs', 'ts', 'mts', 'cts', 'map', 'json',
  'txt', 'md', 'rst', 'html', 'htm', 'css', 'xml', 'yaml', 'yml', 'toml', 'conf', 'cfg', 'ini', 'properties',
  'h', 'hh', 'hpp', 'c', 'cc', 'cpp', 'go', 'mod', 'sum', 'rs', 'java', 'class', 'jar', 'war', 'ear', 'kt', 'scala',
  'png', 'jpg', 'jpeg', 'gif', 'svg', 'ico', 'bmp', 'webp', 'ttf', 'otf', 'woff', 'woff2', 'pdf', 'ps', 'eps',
  'gz', 'tgz', 'bz2', 'xz', 'zst', 'lz4', 'zip', 'tar', 'whl', 'egg', 'deb', 'rpm', 'apk', 'iso', 'img',
  'list', 'md5sums', 'sha256sums', 'conffiles', 'postinst', 'preinst', 'postrm', 'prerm', 'triggers', 'shlibs',
  'symbols', 'templates', 'config', 'pem', 'crt', 'cer', 'key', 'pub', 'asc', 'gpg', 'sig', 'mo', 'po', 'pot',
  'csv', 'tsv', 'log', 'lock', 'service', 'socket', 'timer', 'target', 'mount', 'desktop', 'rules', 'policy',
  'vim', 'el', 'elc', 'lua', 'tcl', 'php', 'awk', 'sed', 'mk', 'cmake', 'pc', 'm4', 'in', 'am', 'ac', 'dtd', 'xsl',
  'xsd', 'gir', 'typelib', 'pak', 'dat', 'db', 'sqlite', 'hwdb', 'cache', 'page', 'ui', 'qm', 'wav', 'ogg',
]);

/** Path test only (no header facts): could this file be a Go program? */
export function mayBeGoBinary(path: string): boolean {
  const slash = path.lastIndexOf('/');
  const name = path.slice(slash + 1);
  if (name === '' || name.startsWith('.wh.')) return false;
  const dot = name.lastIndexOf('.');
  if (dot > 0) {
    const ext = name.slice(dot + 1).toLowerCase();
    if (NOT_PROGRAMS.has(ext)) return false;
    // versioned shared libraries: libfoo.so.1.2
    if (name.includes('.so.')) return false;
  }
  for (const d of DATA_DIRS) if (path.startsWith(d)) return false;
  return true;
}

/** Trees that hold data, never programs (skipping them matters when headers are unknown, e.g. rootfs). */
const DATA_DIRS = [
  'var/lib/dpkg/',
  'etc/',
  'usr/share/doc/',
  'usr/share/man/',
  'usr/share/info/',
  'usr/share/locale/',
  'usr/share/i18n/',
  'usr/share/zoneinfo/',
  'usr/share/terminfo/',
  'usr/lib/locale/',
  'usr/include/',
  'proc/',
  'sys/',
  'dev/',
];
