/**
 * The admission server's Prometheus metrics: one prom-client Registry per server (never the global
 * one), every name prefixed `portcullis_`, labels from bounded sets only (never image names, digests
 * or advisory ids). `label()` folds anything unexpected into 'other' so a hostile request can't
 * create series.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const MAX_VALUES_PER_LABEL = 64;

export interface Metrics {
  registry: Registry;
  decisions: Counter<'route' | 'result' | 'code'>;
  requestDuration: Histogram<'route'>;
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
  /** Text exposition for GET /metrics. */
  text(): Promise<string>;
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag) under the same prefix. Default true. */
  processMetrics?: boolean;
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
      name: 'portcullis_decisions_total',
      help: 'Admission decisions by route, result (allowed, denied, warned) and reason code.',
      labelNames: ['route', 'result', 'code'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'portcullis_request_duration_seconds',
      help: 'Time to answer an admission request.',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    scans: new Counter({
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
      name: 'portcullis_cache_lookups_total',
      help: 'Cache lookups: cache=result (scan results by digest) or resolve (tag to digest); result=hit, miss, shared (joined a scan in flight).',
      labelNames: ['cache', 'result'],
      registers,
    }),
    queueDepth: new Gauge({ name: 'portcullis_scan_queue_depth', help: 'Scans waiting for a worker.', registers }),
    inFlightScans: new Gauge({ name: 'portcullis_scans_in_flight', help: 'Scans running now.', registers }),
    pendingAnswers: new Counter({
      name: 'portcullis_pending_total',
      help: 'Images answered as pending (scan still running at the deadline), by reason.',
      labelNames: ['reason'],
      registers,
    }),
    dbAgeSeconds: new Gauge({ name: 'portcullis_db_age_seconds', help: 'Age of the advisory DB (now - its build/update time); -1 when unknown.', registers }),
    dbLoaded: new Gauge({ name: 'portcullis_db_loaded', help: '1 when the advisory DB (or the Trivy backend) is ready.', registers }),
    breakGlass: new Counter({ name: 'portcullis_break_glass_total', help: 'Decisions overridden by the break-glass annotation.', labelNames: ['route'], registers }),
    errors: new Counter({
      name: 'portcullis_errors_total',
      help: 'Failures by kind (registry, scan, timeout, queue_full, db_missing, internal, …).',
      labelNames: ['kind'],
      registers,
    }),
    unknownKinds: new Counter({
      name: 'portcullis_unknown_kinds_total',
      help: 'AdmissionReviews for object kinds Portcullis does not extract images from.',
      labelNames: ['kind'],
      registers,
    }),
    protocolErrors: new Counter({
      name: 'portcullis_protocol_errors_total',
      help: 'Requests refused with a 4xx (malformed JSON, wrong kind, body too large, …).',
      labelNames: ['route', 'code'],
      registers,
    }),
    tlsReloads: new Counter({ name: 'portcullis_tls_reloads_total', help: 'TLS certificate reloads by result (ok, error).', labelNames: ['result'], registers }),
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
