import { existsSync } from 'node:fs';

/**
 * The real Trivy binary for tests that compare with it or use it as a backend: PORTCULLIS_TEST_TRIVY
 * (set by .ci/run, which extracts Trivy 0.44.1 from its npm package), else the benchmark's unpacked binary.
 * Undefined when none is present: such tests skip with a message saying so.
 */
export function trivyBinary(): string | undefined {
  const candidates = [process.env['PORTCULLIS_TEST_TRIVY'], '/tmp/portcullis-ci/trivy', '/tmp/bench/bin/trivy-unupx', '/tmp/bench/bin/trivy'];
  return candidates.find((p): p is string => typeof p === 'string' && p !== '' && existsSync(p));
}
