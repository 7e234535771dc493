/**
 * The hot-path metric series: counter series (plain additions folded in when metrics are read) and
 * the FastHistogram give exactly what prom-client's own Counter.inc / Histogram.observe give, in the
 * Prometheus text format and through metricValue.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { FastHistogram, createMetrics, metricValue } from '../../src/metrics/index.ts';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const VALUES = [0, 0.0004, 0.001, 0.0011, 0.003, 0.07, 0.25, 0.9, 4, 29.99, 30, 31, 1000];

describe('metric series', () => {
  it('FastHistogram: the same text and values as a prom-client Histogram', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new FastHistogram({ name: 'x_duration_seconds', help: 'Help text.', labelName: 'route', buckets: BUCKETS, registers: [ours] });
    const ref = new Histogram({ name: 'x_duration_seconds', help: 'Help text.', labelNames: ['route'], buckets: BUCKETS, registers: [theirs] });
    assert.equal(await ours.metrics(), await theirs.metrics(), 'nothing observed');
    const validate = fast.series('validate');
    for (const [i, v] of VALUES.entries()) {
      validate.observe(v);
      ref.observe({ route: 'validate' }, v);
      if (i % 3 === 0) {
        fast.observe({ route: 'image-policy' }, v * 2);
        ref.observe({ route: 'image-policy' }, v * 2);
      }
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
  });

  it('counter series: counts appear in the text and in metricValue, exactly, together with direct inc()', async () => {
    const m = createMetrics({ processMetrics: false });
    const ref = new Registry();
    const c = new Counter({ name: 'portcullis_decisions_total', help: 'Admission decisions by route, result (allowed, denied, warned) and reason code.', labelNames: ['route', 'result', 'code'], registers: [ref] });
    const s = m.series(m.decisions, { route: 'validate', result: 'deny', code: 'vulnerable' });
    assert.equal(m.series(m.decisions, { code: 'vulnerable', route: 'validate', result: 'deny' }), s, 'one series per label set, whatever the key order');
    for (let i = 0; i < 5; i++) s.inc();
    m.decisions.inc({ route: 'validate', result: 'deny', code: 'vulnerable' });
    m.decisions.inc({ route: 'image-policy', result: 'allow', code: 'clean' });
    for (let i = 0; i < 6; i++) c.inc({ route: 'validate', result: 'deny', code: 'vulnerable' });
    c.inc({ route: 'image-policy', result: 'allow', code: 'clean' });
    assert.equal(await metricValue(m, 'portcullis_decisions_total', { route: 'validate' }), 6);
    s.inc();
    c.inc({ route: 'validate', result: 'deny', code: 'vulnerable' });
    const text = await m.registry.metrics();
    const refText = await ref.metrics();
    const lines = (t: string): string[] => t.split('\n').filter((l) => l.startsWith('portcullis_decisions_total'));
    assert.deepEqual(lines(text).sort(), lines(refText).sort());
    assert.equal(await metricValue(m, 'portcullis_decisions_total'), 8);
  });
});
