import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { configSection } from '../config/load.ts';
import { defaultPolicy, normaliseRegistryEntry, parsePolicy, policySchema } from '../config/policy-schema.ts';
import { UserError } from '../shared/errors.ts';

describe('policy schema', () => {
  it('defaults fail closed: HIGH+CRITICAL, enforce, deny on error/pending/unknown kinds, break-glass off', () => {
    assert.deepEqual(defaultPolicy, {
      severities: ['HIGH', 'CRITICAL'],
      ignoreUnfixed: false,
      exceptions: [],
      registries: { allow: [], deny: [] },
      requireDigest: false,
      excludedNamespaces: [],
      breakGlass: { enabled: false, annotation: 'portcullis.image-policy.k8s.io/break-glass' },
      mode: 'enforce',
      onError: 'deny',
      onPending: 'deny',
      unknownKinds: 'scan',
      maxFindingsInMessage: 3,
    });
  });

  it('reads the documented YAML example', () => {
    const yaml = `
policy:
  severities: [CRITICAL, HIGH, MEDIUM]
  ignoreUnfixed: true
  mode: warn
  onError: allow
  registries:
    allow: [ghcr.io/acme, index.docker.io/library, "registry.local:5000"]
    deny: [docker.io/evilcorp]
  requireDigest: true
  excludedNamespaces: kube-system, portcullis
  breakGlass: { enabled: true, annotation: "*.image-policy.k8s.io/ticket-*", value: break-glass }
  exceptions:
    - id: CVE-2023-4911
      images: ["ghcr.io/acme/*"]
      namespaces: [prod]
      expires: 2025-12-31
      reason: "SEC-123: not reachable"
`;
    const data = parseYaml(yaml) as Record<string, unknown>;
    const p = configSection({ path: '/x/portcullis.yaml', data }, 'policy', policySchema);
    assert.deepEqual(p.severities, ['CRITICAL', 'HIGH', 'MEDIUM']);
    assert.deepEqual(p.registries.allow, ['ghcr.io/acme', 'docker.io/library', 'registry.local:5000']);
    assert.deepEqual(p.excludedNamespaces, ['kube-system', 'portcullis']);
    assert.deepEqual(p.exceptions, [{ id: 'CVE-2023-4911', images: ['ghcr.io/acme/*'], namespaces: ['prod'], expires: '2025-12-31', reason: 'SEC-123: not reachable' }]);
    assert.equal(p.breakGlass.value, 'break-glass');
    assert.ok(Object.isFrozen(p.exceptions[0]));
  });

  it('refuses unknown keys, bad severities, bad registries, bad dates and exceptions without a reason, naming the key', () => {
    const cases: [unknown, RegExp][] = [
      [{ severity: 'HIGH' }, /Unrecognized key.*severity|severity/i],
      [{ severities: 'HIGH,URGENT' }, /severities: unknown severity "URGENT"/],
      [{ registries: { allow: ['nginx'] } }, /registries\.allow: "nginx" does not start with a registry host/],
      [{ registries: { allow: ['ghcr.io/Acme'] } }, /not a valid repository path/],
      [{ registries: { deny: ['bad_host.io'] } }, /not a valid registry host/],
      [{ exceptions: [{ id: 'CVE-1', reason: 'x', expires: 'next week' }] }, /exceptions\[0\]\.expires: "next week" is not an ISO 8601 date/],
      [{ exceptions: [{ id: 'CVE-1', reason: 'x', expires: '2025-06-30T12:00:00' }] }, /with a zone/],
      [{ exceptions: [{ id: 'CVE-1', reason: 'x', expires: '2025-02-30' }] }, /not an ISO 8601 date/],
      [{ exceptions: [{ id: 'CVE-1' }] }, /exceptions\[0\]\.reason/],
      [{ exceptions: [{ id: 'CVE-1', reason: 'x', image: 'typo' }] }, /exceptions\[0\]/],
      [{ mode: 'block' }, /mode/],
      [{ breakGlass: { enabled: 'yes' } }, /breakGlass\.enabled/],
    ];
    for (const [input, re] of cases) {
      assert.throws(
        () => configSection({ path: '/x/portcullis.yaml', data: { policy: input } }, 'policy', policySchema),
        (err: unknown) => err instanceof UserError && err.code === 'CONFIG_INVALID' && re.test(err.message),
        JSON.stringify(input),
      );
    }
  });

  it('a YAML date (unquoted, YAML 1.1 style) is accepted as a Date too', () => {
    const p = parsePolicy({ exceptions: [{ id: 'CVE-1', reason: 'r', expires: new Date('2025-12-31T00:00:00Z') }] });
    assert.equal(p.exceptions[0]?.expires, '2025-12-31T00:00:00.000Z');
  });

  it('normalises registry entries', () => {
    assert.deepEqual(normaliseRegistryEntry('Registry-1.Docker.io/library/'), { value: 'docker.io/library' });
    assert.deepEqual(normaliseRegistryEntry('*.corp.example'), { value: '*.corp.example' });
    assert.deepEqual(normaliseRegistryEntry('localhost:5000/team'), { value: 'localhost:5000/team' });
    assert.ok('error' in normaliseRegistryEntry('host:99999'));
  });
});
