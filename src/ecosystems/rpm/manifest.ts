/**
 * CBL-Mariner / Azure Linux distroless images ship no rpmdb but `var/lib/rpmmanifest/container-manifest-2`:
 * one package per line, tab-separated:
 *   %{NAME} %{VERSION}-%{RELEASE} %{INSTALLTIME} %{BUILDTIME} %{VENDOR} (none) %{SIZE} %{ARCH} %{EPOCHNUM} %{SOURCERPM}
 * (the `rpm -qa --qf` format Mariner's image toolkit writes).
 */
import type { RpmHeaderInfo } from './header.ts';

export function parseContainerManifest(text: string): { rows: RpmHeaderInfo[]; bad: number } {
  const rows: RpmHeaderInfo[] = [];
  let bad = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const f = line.split('\t');
    const name = f[0];
    const vr = f[1] ?? '';
    const dash = vr.lastIndexOf('-');
    if (!name || f.length < 10 || dash <= 0) {
      bad++;
      continue;
    }
    const info: RpmHeaderInfo = { name, version: vr.slice(0, dash), release: vr.slice(dash + 1) };
    const epoch = Number(f[8]);
    if (f[8] && Number.isInteger(epoch) && epoch > 0) info.epoch = epoch;
    if (f[4] && f[4] !== '(none)') info.vendor = f[4];
    const size = Number(f[6]);
    if (Number.isInteger(size)) info.size = size;
    if (f[7]) info.arch = f[7];
    if (f[9] && f[9] !== '(none)') info.sourceRpm = f[9];
    rows.push(info);
  }
  return { rows, bad };
}
