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

/**
 * Split a license field ('MIT BSD GPL2+', '( Apache-2.0 OR MIT ) AND MPL-2.0') into normalised
 * names, dropping operators and parentheses; 'X WITH Y' stays one entry.
 */
export function splitLicenses(field: string): string[] {
  const tokens = field.replaceAll('(', ' ').replaceAll(')', ' ').split(/\s+/).filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? '';
    const up = t.toUpperCase();
    if (up === 'AND' || up === 'OR') continue;
    if (up === 'WITH' && out.length && tokens[i + 1]) {
      out[out.length - 1] = `${out[out.length - 1]} WITH ${tokens[++i]}`;
      continue;
    }
    out.push(normalizeLicense(t));
  }
  return [...new Set(out)];
}
