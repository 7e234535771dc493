/**
 * `--format table` on real findings: one section per Trivy target with the counts Trivy reports for
 * the same tree, the exact overall summary line, width-aware cutting, colours only when asked,
 * warnings for incomplete results and a clear line when nothing was found.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import type { ScanReport } from '../../src/domain/index.ts';
import { displayWidth, renderTable } from '../../src/report/table.ts';
import type { RenderOptions } from '../../src/report/types.ts';
import { cleanup, rawReport, REPORT_NAMES, scanTree } from './report-fixtures.ts';

after(cleanup);
const OPTS: RenderOptions = { color: false, toolVersion: '0.1.0' };
const SEVS = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;

interface TrivyReport {
  Results?: { Target: string; Class: string; Type: string; Vulnerabilities?: { Severity: string; VulnerabilityID: string; PkgName: string }[] }[];
}

function totalLine(sevs: string[]): string {
  return `Total: ${sevs.length} (${SEVS.map((s) => `${s}: ${sevs.filter((x) => x === s).length}`).join(', ')})`;
}

describe('table', () => {
  for (const name of REPORT_NAMES) {
    it(`${name}: Trivy's targets and counts, the overall summary line, every finding listed`, async () => {
      const report = await scanTree(name);
      const out = renderTable(report, OPTS);
      const trivy = JSON.parse(rawReport(name)) as TrivyReport;
      const lines = out.split('\n');
      for (const r of trivy.Results ?? []) {
        const head = r.Class === 'os-pkgs' ? r.Target : `${r.Target} (${r.Type})`;
        const i = lines.indexOf(head);
        assert.ok(i >= 0, `header ${head}`);
        assert.equal(lines[i + 1], '='.repeat(head.length));
        assert.equal(lines[i + 2], totalLine((r.Vulnerabilities ?? []).map((v) => v.Severity)));
      }
      const all = (trivy.Results ?? []).flatMap((r) => (r.Vulnerabilities ?? []).map((v) => v.Severity));
      assert.equal(lines.filter((l) => l.startsWith('Total: ')).at(-1), totalLine(all));
      for (const f of report.findings) assert.ok(lines.some((l) => l.includes(`│ ${f.advisoryId} `) && l.includes(` ${f.severity} `)), `${f.package.name} ${f.advisoryId}`);
      assert.ok(!/\u001b\[/.test(out), 'no ANSI codes without color');
      assert.equal(renderTable(report, OPTS), out, 'deterministic');
    });
  }

  it('every line fits the width; titles are cut with …, a URL that does not fit is left out, not cut', async () => {
    const report = await scanTree('ubuntu-1804');
    for (const width of [80, 100, 140, 200]) {
      const out = renderTable(report, { ...OPTS, width });
      for (const l of out.split('\n')) assert.ok(displayWidth(l) <= width, `${width}: ${displayWidth(l)} ${l}`);
      const urls = out.split('\n').filter((l) => l.includes('https://'));
      for (const u of urls) assert.match(u, /https:\/\/avd\.aquasec\.com\/nvd\/cve-\d{4}-\d+ /, 'URLs whole');
    }
    assert.match(renderTable(report, { ...OPTS, width: 80 }), /…/);
    const wide = renderTable(report, { ...OPTS, width: 0 });
    for (const f of report.findings) if (f.title) assert.ok(wide.includes(f.title), 'width 0: whole titles');
  });

  it('colours severities only when asked, and the text is the same underneath', async () => {
    const report = await scanTree('debian-buster');
    const plain = renderTable(report, OPTS);
    const colored = renderTable(report, { ...OPTS, color: true });
    assert.notEqual(plain, colored);
    assert.match(colored, /\u001b\[1m\u001b\[31mCRITICAL/);
    assert.match(colored, /\u001b\[36mLOW/);
    assert.equal(stripVTControlCharacters(colored), plain);
  });

  it('nothing found says so; notes are printed as warnings below the summary', async () => {
    const report = await scanTree('alpine-310', { findings: false });
    const clean = renderTable(report, OPTS);
    assert.match(clean, /^alpine-310 \(alpine 3\.10\.2\)$/m);
    assert.match(clean, /^No vulnerabilities found in 5 packages\.$/m);
    assert.match(clean, /^Total: 0 \(CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0\)$/m);
    assert.ok(!clean.includes('┌'), 'no empty table');
    const partial: ScanReport = { ...report, inventory: { ...report.inventory, notes: ['layer sha256:ab: file usr/lib/big.jar over 256 MiB skipped'] } };
    const out = renderTable(partial, OPTS).trimEnd().split('\n');
    assert.deepEqual(out.slice(-3), ['Total: 0 (CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0)', 'WARNING: layer sha256:ab: file usr/lib/big.jar over 256 MiB skipped', 'These results may be incomplete (see the warnings above).']);
    const none: ScanReport = { ...report, inventory: { ...report.inventory, packages: [] } };
    assert.match(renderTable(none, OPTS), /^No packages found: nothing was checked for vulnerabilities\.$/m);
  });

  it('listAllPackages adds a package table per target (sbom --format table)', async () => {
    const report = await scanTree('debian-buster', { findings: false });
    const out = renderTable(report, { ...OPTS, listAllPackages: true });
    assert.match(out, /^Packages: 5$/m);
    assert.match(out, /│ libidn2-0 +│ 2\.0\.5-1 +│ deb +│ libidn2 2\.0\.5-1 +│/);
  });

  it('control characters and bidi overrides in advisory text never reach the terminal', async () => {
    const report = await scanTree('debian-buster');
    const evil: ScanReport = { ...report, findings: report.findings.map((f) => ({ ...f, title: 'x\u001b[2J\u202eevil\r\ny' })) };
    const out = renderTable(evil, { ...OPTS, width: 0 });
    assert.ok(!/[\u001b\u202e\r]/.test(out));
    assert.match(out, /x \[2J evil {2}y/);
  });
});
