/**
 * The admission server's Prometheus metrics: one prom-client Registry per server (never the global
 * one), every name prefixed `portcullis_`, labels from bounded sets only (never image names, digests
 * or advisory ids). `label()` folds anything unexpected into 'other' so a hostile request can't
 * create series.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const MAX_VALUES_PER_LABEL = 64;

/** Every counter's collect hook: fold the hot-path series' pending counts in before a read. */
function flushCollect(this: Counter<string>): void {
  flushPending(this);
}

/**
 * One label set of a counter, for hot paths: `inc()` is one addition; the count reaches the
 * prom-client counter whenever the metrics are read (its collect hook), so what a scrape or
 * `metricValue` sees is exact.
 */
export interface CounterSeries {
  inc(): void;
}

/** One label set of a histogram, for hot paths: `observe()` adds to plain arrays. */
export interface HistogramSeries {
  observe(value: number): void;
}

export interface Metrics {
  registry: Registry;
  decisions: Counter<'route' | 'result' | 'code'>;
  requestDuration: FastHistogram;
  scans: Counter<'backend' | 'outcome'>;
  scanDuration: Histogram<'backend' | 'outcome'>;
  cacheLookups: Counter<'cache' | 'result'>;
  queueDepth: Gauge;
  inFlightScans: Gauge;
  pendingAnswers: Counter<'reason'>;
  dbAgeSeconds: Gauge;
  dbLoaded: Gauge;
  breakGlass: Counter<'route'>;
  errors: Counter<'kind'>;
  unknownKinds: Counter<'kind'>;
  protocolErrors: Counter<'route' | 'code'>;
  tlsReloads: Counter<'result'>;
  /** A label value from a bounded set: [A-Za-z0-9_.-]{1,48}, at most 64 distinct values per label name. */
  label(name: string, value: string | undefined): string;
  /** The series of `counter` for these label values (bounded values only: use `label`), made once and kept. */
  series(counter: Counter<string>, labels: Readonly<Record<string, string>>): CounterSeries;
  /** Text exposition for GET /metrics. */
  text(): Promise<string>;
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag) under the same prefix. Default true. */
  processMetrics?: boolean;
}

class PendingCount implements CounterSeries {
  pending = 0;
  readonly labels: Readonly<Record<string, string>>;
  constructor(labels: Readonly<Record<string, string>>) {
    this.labels = labels;
  }
  inc(): void {
    this.pending++;
  }
}

/** The pending series of each counter, folded in by the counter's collect hook. */
const pendingOf = new WeakMap<object, Map<string, PendingCount>>();

function flushPending(c: Counter<string>): void {
  const series = pendingOf.get(c);
  if (!series) return;
  for (const p of series.values()) {
    if (p.pending === 0) continue;
    const n = p.pending;
    p.pending = 0;
    c.inc(p.labels, n);
  }
}

function seriesOf(counter: Counter<string>, labels: Readonly<Record<string, string>>): CounterSeries {
  let m = pendingOf.get(counter);
  if (!m) pendingOf.set(counter, (m = new Map()));
  const key = JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
  let p = m.get(key);
  if (!p) m.set(key, (p = new PendingCount({ ...labels })));
  return p;
}

class HistogramCounts implements HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    this.sum += value;
    this.count++;
    const b = this.#bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= (b[i] as number)) {
        (this.counts[i] as number)++;
        return;
      }
    }
  }
}

/**
 * A histogram with one label whose observations cost an array update (prom-client's validate the
 * labels, build a hash string and look it up on every call). Registered in the prom-client Registry
 * and exposed in exactly the format of prom-client's Histogram (`_bucket` with `le`, `+Inf`, `_sum`,
 * `_count`).
 */
export class FastHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames: readonly string[];
  readonly #label: string;
  readonly #bounds: readonly number[];
  #series = new Map<string, HistogramCounts>();

  constructor(o: { name: string; help: string; labelName: string; buckets: readonly number[]; registers: Registry[] }) {
    this.name = o.name;
    this.help = o.help;
    this.#label = o.labelName;
    this.labelNames = [o.labelName];
    this.#bounds = [...o.buckets].sort((a, b) => a - b);
    for (const r of o.registers) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The series for one label value (kept: call once per value, then observe on it). */
  series(value: string): HistogramSeries {
    let s = this.#series.get(value);
    if (!s) this.#series.set(value, (s = new HistogramCounts(this.#bounds)));
    return s;
  }

  observe(labels: Readonly<Record<string, string>>, value: number): void {
    this.series(labels[this.#label] ?? '').observe(value);
  }

  reset(): void {
    this.#series = new Map();
  }

  /** What prom-client's Histogram gives the Registry for its text format: `le` first, the series' label shared. */
  async getForPromString(): Promise<HistogramData<HistogramValue & { sharedLabels: Record<string, string> }>> {
    const values: (HistogramValue & { sharedLabels: Record<string, string> })[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [v, s] of this.#series) {
      const shared = { [this.#label]: v };
      let acc = 0;
      this.#bounds.forEach((le, i) => {
        acc += s.counts[i] as number;
        values.push({ labels: { le }, sharedLabels: shared, value: acc, metricName: bucket, exemplar: null });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: shared, value: s.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels: shared, value: s.sum, metricName: `${this.name}_sum`, exemplar: undefined });
      values.push({ labels: {}, sharedLabels: shared, value: s.count, metricName: `${this.name}_count`, exemplar: undefined });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client's Histogram.get(): each value's labels with the shared ones merged in. */
  async get(): Promise<HistogramData<HistogramValue>> {
    const d = await this.getForPromString();
    return { ...d, values: d.values.map(({ labels, sharedLabels, value, metricName, exemplar }) => ({ value, metricName, exemplar, labels: { ...labels, ...sharedLabels } })) };
  }
}

interface HistogramValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
  exemplar: null | undefined;
}

interface HistogramData<V> {
  name: string;
  help: string;
  type: string;
  values: V[];
  aggregator: string;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const seen = new Map<string, Set<string>>();
  const label = (name: string, value: string | undefined): string => {
    if (!value) return 'none';
    if (!/^[A-Za-z0-9_.-]{1,48}$/.test(value)) return 'other';
    let set = seen.get(name);
    if (!set) seen.set(name, (set = new Set()));
    if (set.has(value)) return value;
    if (set.size >= MAX_VALUES_PER_LABEL) return 'other';
    set.add(value);
    return value;
  };
  const registers = [registry];
  const m: Metrics = {
    registry,
    label,
    decisions: new Counter({
      collect: flushCollect,
      name: 'portcullis_decisions_total',
      help: 'Admission decisions by route, result (allowed, denied, warned) and reason code.',
      labelNames: ['route', 'result', 'code'],
      registers,
    }),
    requestDuration: new FastHistogram({
      name: 'portcullis_request_duration_seconds',
      help: 'Time to answer an admission request.',
      labelName: 'route',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    scans: new Counter({
      collect: flushCollect,
      name: 'portcullis_scans_total',
      help: 'Image scans run by the backend, by outcome (ok, error, timeout).',
      labelNames: ['backend', 'outcome'],
      registers,
    }),
    scanDuration: new Histogram({
      name: 'portcullis_scan_duration_seconds',
      help: 'Duration of one image scan by the backend.',
      labelNames: ['backend', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    cacheLookups: new Counter({
      collect: flushCollect,
      name: 'portcullis_cache_lookups_total',
      help: 'Cache lookups: cache=result (scan results by digest) or resolve (tag to digest); result=hit, miss, shared (joined a scan in flight).',
      labelNames: ['cache', 'result'],
      registers,
    }),
    queueDepth: new Gauge({ name: 'portcullis_scan_queue_depth', help: 'Scans waiting for a worker.', registers }),
    inFlightScans: new Gauge({ name: 'portcullis_scans_in_flight', help: 'Scans running now.', registers }),
    pendingAnswers: new Counter({
      collect: flushCollect,
      name: 'portcullis_pending_total',
      help: 'Images answered as pending (scan still running at the deadline), by reason.',
      labelNames: ['reason'],
      registers,
    }),
    dbAgeSeconds: new Gauge({ name: 'portcullis_db_age_seconds', help: 'Age of the advisory DB (now - its build/update time); -1 when unknown.', registers }),
    dbLoaded: new Gauge({ name: 'portcullis_db_loaded', help: '1 when the advisory DB (or the Trivy backend) is ready.', registers }),
    breakGlass: new Counter({
      collect: flushCollect, name: 'portcullis_break_glass_total', help: 'Decisions overridden by the break-glass annotation.', labelNames: ['route'], registers }),
    errors: new Counter({
      collect: flushCollect,
      name: 'portcullis_errors_total',
      help: 'Failures by kind (registry, scan, timeout, queue_full, db_missing, internal, …).',
      labelNames: ['kind'],
      registers,
    }),
    unknownKinds: new Counter({
      collect: flushCollect,
      name: 'portcullis_unknown_kinds_total',
      help: 'AdmissionReviews for object kinds Portcullis does not extract images from.',
      labelNames: ['kind'],
      registers,
    }),
    protocolErrors: new Counter({
      collect: flushCollect,
      name: 'portcullis_protocol_errors_total',
      help: 'Requests refused with a 4xx (malformed JSON, wrong kind, body too large, …).',
      labelNames: ['route', 'code'],
      registers,
    }),
    tlsReloads: new Counter({
      collect: flushCollect, name: 'portcullis_tls_reloads_total', help: 'TLS certificate reloads by result (ok, error).', labelNames: ['result'], registers }),
    series: seriesOf,
    text: () => registry.metrics(),
  };
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'portcullis_' });
  return m;
}

/** Read one counter/gauge value (tests, the benchmark). Labels must match exactly; absent → 0. */
export async function metricValue(m: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = m.registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  let sum = 0;
  for (const v of data.values) {
    const l = v.labels as Record<string, string | number | undefined>;
    if (Object.entries(labels).every(([k, want]) => String(l[k]) === want)) {
      if ('metricName' in v && typeof v.metricName === 'string' && v.metricName !== name) continue;
      sum += v.value;
    }
  }
  return sum;
}
