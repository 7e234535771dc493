/**
 * License names as distro databases write them → SPDX-style ids, the way Trivy normalises them
 * ('GPL2' → 'GPL-2.0-only', 'GPL2+' → 'GPL-2.0-or-later', 'zlib' → 'Zlib'). Unknown names pass through.
 */
const MAP: Readonly<Record<string, string>> = (() => {
  const m: Record<string, string> = {};
  const add = (target: string, ...names: string[]): void => {
    for (const n of names) m[n] = target;
  };
  add('GPL-1.0-only', 'GPL-1', 'GPL1', 'GPL 1', 'GPL 1.0', 'GPL-1.0');
  add('GPL-1.0-or-later', 'GPL-1+', 'GPL1+', 'GPL-1.0+');
  add('GPL-2.0-only', 'GPL2', 'GPL-2', 'GPL 2', 'GPL 2.0', 'GPLV2', 'GPL-2.0', 'GPL-2.0-ONLY');
  add('GPL-2.0-or-later', 'GPL', 'GPL2+', 'GPL-2+', 'GPLV2+', 'GPL-2.0+', 'GPL-2.0-OR-LATER');
  add('GPL-3.0-only', 'GPL3', 'GPL-3', 'GPL 3', 'GPL 3.0', 'GPLV3', 'GPL-3.0', 'GPL-3.0-ONLY');
  add('GPL-3.0-or-later', 'GPL3+', 'GPL-3+', 'GPLV3+', 'GPL-3.0+', 'GPL-3.0-OR-LATER');
  add('LGPL-2.0-only', 'LGPL2', 'LGPL-2', 'LGPL 2', 'LGPL 2.0', 'LGPL-2.0', 'LGPL-2.0-ONLY');
  add('LGPL-2.0-or-later', 'LGPL', 'LGPL2+', 'LGPL-2+', 'LGPL-2.0+', 'LGPL-2.0-OR-LATER');
  add('LGPL-2.1-only', 'LGPL-2.1', 'LGPL2.1', 'LGPLV2.1', 'LGPL 2.1', 'LGPL-2.1-ONLY');
  add('LGPL-2.1-or-later', 'LGPL-2.1+', 'LGPL2.1+', 'LGPLV2.1+', 'LGPLV2+', 'LGPL-2.1-OR-LATER');
  add('LGPL-3.0-only', 'LGPL3', 'LGPL-3', 'LGPL 3', 'LGPL-3.0', 'LGPL-3.0-ONLY');
  add('LGPL-3.0-or-later', 'LGPL3+', 'LGPL-3+', 'LGPLV3+', 'LGPL-3.0+', 'LGPL-3.0-OR-LATER');
  add('AGPL-3.0-only', 'AGPL3', 'AGPL-3', 'AGPL-3.0', 'AGPLV3');
  add('AGPL-3.0-or-later', 'AGPL3+', 'AGPL-3+', 'AGPLV3+', 'AGPL-3.0+');
  add('MPL-1.0', 'MPL1', 'MPL1.0', 'MPL 1', 'MPL 1.0');
  add('MPL-1.1', 'MPL1.1', 'MPL 1.1');
  add('MPL-2.0', 'MPL2', 'MPL2.0', 'MPL 2', 'MPL 2.0');
  add('BSD-3-Clause', 'BSD', 'BSD-3-CLAUSE', 'BSD3');
  add('BSD-2-Clause', 'BSD-2-CLAUSE', 'BSD2');
  add('BSD-4-Clause', 'BSD-4-CLAUSE');
  add('Apache-2.0', 'APACHE', 'APACHE2', 'APACHE-2', 'APACHE 2', 'APACHE 2.0', 'APACHE-2.0', 'ASL 2.0');
  add('Zlib', 'ZLIB');
  add('OpenSSL', 'OPENSSL');
  add('Ruby', 'RUBY');
  add('MIT', 'MIT');
  add('ISC', 'ISC');
  return m;
})();

export function normalizeLicense(name: string): string {
  return MAP[name.toUpperCase()] ?? name;
}

/** A bare version number ('2.0', '2.1+'): apk writes 'MPL 2.0' for MPL-2.0. */
const VERSION_TOKEN = /^\d+(?:\.\d+)*\+?$/;

/** 'MPL' + '2.0' → 'MPL-2.0' (as 'MPL 2.0' or 'MPL2.0' normalise), else the two words joined. */
function withVersion(name: string, version: string): string {
  for (const candidate of [`${name} ${version}`, `${name}${version}`, `${name}-${version}`]) {
    const n = normalizeLicense(candidate);
    if (n !== candidate) return n;
  }
  return `${name} ${version}`;
}

/**
 * Split a license field ('MIT BSD GPL2+', '( Apache-2.0 OR MIT ) AND MPL-2.0') into normalised
 * names, dropping operators and parentheses; 'X WITH Y' stays one entry, and a bare version
 * number belongs to the name before it ('MPL 2.0 GPL2+' → MPL-2.0, GPL-2.0-or-later, as Trivy's
 * apk analyzer reads it).
 */
export function splitLicenses(field: string): string[] {
  const tokens = field.replaceAll('(', ' ').replaceAll(')', ' ').split(/\s+/).filter(Boolean);
  const raw: string[] = [];
  let prevWasName = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? '';
    const up = t.toUpperCase();
    if (up === 'AND' || up === 'OR') {
      prevWasName = false;
      continue;
    }
    if (up === 'WITH' && raw.length && tokens[i + 1]) {
      raw[raw.length - 1] = `${raw[raw.length - 1]} WITH ${tokens[++i]}`;
      prevWasName = false;
      continue;
    }
    if (prevWasName && VERSION_TOKEN.test(t)) {
      raw[raw.length - 1] = `\0${raw[raw.length - 1]}\0${t}`;
      prevWasName = false;
      continue;
    }
    raw.push(t);
    prevWasName = !VERSION_TOKEN.test(t);
  }
  const out = raw.map((r) => {
    if (!r.startsWith('\0')) {
      const w = r.indexOf(' WITH ');
      return w < 0 ? normalizeLicense(r) : `${normalizeLicense(r.slice(0, w))}${r.slice(w)}`;
    }
    const [, name = '', version = ''] = r.split('\0');
    return withVersion(name, version);
  });
  return [...new Set(out)];
}
