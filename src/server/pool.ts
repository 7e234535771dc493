/**
 * A bounded worker pool: at most `workers` jobs run at once, at most `queueSize` wait; a job beyond
 * that is refused at once with QUEUE_FULL (the caller answers with its error policy instead of
 * piling up work the API server will have given up on). Gauges follow the queue and the running set.
 */
import { ScannerError } from '../shared/errors.ts';

export interface PoolGauges {
  queued(n: number): void;
  running(n: number): void;
}

interface Waiting {
  start: () => void;
}

export class WorkerPool {
  readonly #workers: number;
  readonly #queueSize: number;
  readonly #gauges: PoolGauges | undefined;
  readonly #queue: Waiting[] = [];
  #running = 0;

  constructor(workers: number, queueSize: number, gauges?: PoolGauges) {
    this.#workers = Math.max(1, workers);
    this.#queueSize = Math.max(0, queueSize);
    this.#gauges = gauges;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** True when a new job would be refused. */
  get full(): boolean {
    return this.#running >= this.#workers && this.#queue.length >= this.#queueSize;
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#running < this.#workers) return this.#start(job);
    if (this.#queue.length >= this.#queueSize) {
      return Promise.reject(new ScannerError('QUEUE_FULL', `scan queue full (${this.#workers} running, ${this.#queueSize} waiting)`));
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ start: () => this.#start(job).then(resolve, reject) });
      this.#gauges?.queued(this.#queue.length);
    });
  }

  async #start<T>(job: () => Promise<T>): Promise<T> {
    this.#running++;
    this.#gauges?.running(this.#running);
    try {
      return await job();
    } finally {
      this.#running--;
      this.#gauges?.running(this.#running);
      const next = this.#queue.shift();
      this.#gauges?.queued(this.#queue.length);
      if (next) next.start();
    }
  }
}
