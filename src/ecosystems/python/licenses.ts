/**
 * License fields of language metadata split into names the way Trivy's `licensing.SplitLicenses`
 * does: on ',' and on ' or ' / ' and ' (lower case, also '_or_'), keeping 'Apache License, Version 2.0'
 * and '… v2 or later (LGPLv2+)' whole, and the three PyPI classifiers whose names contain 'or'/'and'.
 */

const SPLIT = /,?[_ ]+(?:or|and)[_ ]+|,[ ]*/;

/** PyPI classifier names a plain split would cut: first word after the separator → whole name. */
const PYTHON_EXCEPTIONS: Readonly<Record<string, string>> = {
  lesser: 'GNU Library or Lesser General Public License (LGPL)',
  distribution: 'Common Development and Distribution License 1.0 (CDDL-1.0)',
  disclaimer: 'Historical Permission Notice and Disclaimer (HPND)',
};

export function splitLicenseField(field: string): string[] {
  if (field === '') return [];
  const out: string[] = [];
  for (const part of field.split(SPLIT)) {
    const first = part.toLowerCase().split(' ', 1)[0] ?? '';
    const last = out.length - 1;
    if (last >= 0) {
      if (first === 'ver' || first === 'version') {
        out[last] += `, ${part}`;
        continue;
      }
      if (first === 'later') {
        out[last] += ` or ${part}`;
        continue;
      }
      const exc = PYTHON_EXCEPTIONS[first];
      if (exc !== undefined) {
        if (exc === `${out[last]} or ${part}` || exc === `${out[last]} and ${part}`) out[last] = exc;
        continue;
      }
    }
    out.push(part);
  }
  return out.map((s) => s.trim()).filter((s) => s !== '');
}
