import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import { parseDuration } from '../shared/duration.ts';
import { configSection, readConfigFile } from './load.ts';
import { configFileSchema, scanSettings } from './schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'pc-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('portcullis.yaml', () => {
  it('is found in the working directory and gives flat scan settings, Trivy sections folded in', () => {
    writeFileSync(join(dir, 'portcullis.yaml'), 'severity: [critical, HIGH]\nvulnerability:\n  ignore-unfixed: true\nscan:\n  skip-dirs: [node_modules, vendor]\nexit-code: 3\ndb:\n  source: osv\n');
    const file = readConfigFile(undefined, dir);
    assert.equal(file.path, join(dir, 'portcullis.yaml'));
    const s = scanSettings(configSection(file, undefined, configFileSchema));
    assert.deepEqual(s, { severity: ['CRITICAL', 'HIGH'], ignoreUnfixed: true, exitCode: 3, dbSource: 'osv', skipDirs: ['node_modules', 'vendor'] });
  });
  it('no file → defaults', () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    assert.deepEqual(readConfigFile(undefined, empty), { data: {} });
  });
  it('refuses unknown keys, bad values and bad YAML with the file and key named', () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'severty: HIGH\n');
    assert.throws(() => configSection(readConfigFile(f, dir), undefined, configFileSchema), /bad\.yaml: .*severty/);
    writeFileSync(f, 'severity: [HIGH, SEVERE]\n');
    assert.throws(() => configSection(readConfigFile(f, dir), undefined, configFileSchema), /severity: unknown severity "SEVERE"/);
    writeFileSync(f, 'exit-code: "1"\n');
    assert.throws(() => configSection(readConfigFile(f, dir), undefined, configFileSchema), /exit-code:/);
    writeFileSync(f, 'a: [\n');
    assert.throws(() => readConfigFile(f, dir), /not valid YAML/);
    writeFileSync(f, '- a\n- b\n');
    assert.throws(() => readConfigFile(f, dir), /must be a YAML mapping/);
    assert.throws(() => readConfigFile('missing.yaml', dir), /config file missing\.yaml does not exist/);
  });
  it('sections are validated by their own schema and frozen', () => {
    const f = join(dir, 'sec.yaml');
    writeFileSync(f, 'server:\n  port: 8443\n  tags: [a]\n');
    const v = configSection(readConfigFile(f, dir), 'server', z.object({ port: z.number(), tags: z.array(z.string()) }));
    assert.equal(v.port, 8443);
    assert.ok(Object.isFrozen(v) && Object.isFrozen(v.tags));
    assert.throws(() => configSection(readConfigFile(f, dir), 'server', z.object({ port: z.string() }).strict()), /server\.port:/);
  });
});

describe('durations', () => {
  it('parses what users write', () => {
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration('5 minutes'), undefined);
    assert.equal(parseDuration(''), undefined);
    assert.equal(parseDuration('10s junk'), undefined);
  });
});
