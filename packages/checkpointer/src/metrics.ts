// Prometheus metrics of a checkpointer (prom-client). Metrics live on a registry the app can pass
// in and scrape (`registry.metrics()`); several checkpointers on one registry share the metric
// objects (tenants are deliberately not a label: their number is unbounded).
import { performance } from 'node:perf_hooks';
import { Counter, Histogram, Registry, type Metric } from 'prom-client';

type Labels = 'operation' | 'backend';

interface OperationLabels {
  plain: Record<Labels, string>;
  ok: Record<Labels | 'outcome', string>;
  error: Record<Labels | 'outcome', string>;
}

/** The metric objects one checkpointer updates. */
export class CheckpointerMetrics {
  readonly registry: Registry;
  readonly #operations: Counter<Labels | 'outcome'>;
  readonly #duration: Histogram<Labels>;
  readonly #errors: Counter<Labels | 'code'>;
  readonly #retries: Counter<Labels>;
  readonly #bytes: Histogram<'backend'>;
  readonly #cache: Counter<'result'>;
  readonly #pruned: Counter<'backend'>;
  readonly #pruneSkipped: Counter<'backend'>;
  readonly #backend: string;

  constructor(backend: string, options: { registry?: Registry | undefined; prefix: string }) {
    this.registry = options.registry ?? new Registry();
    this.#backend = backend;
    const p = options.prefix;
    this.#operations = this.#get(`${p}operations_total`, () => new Counter({ name: `${p}operations_total`, help: 'Checkpointer operations by outcome (ok, error).', labelNames: ['operation', 'backend', 'outcome'], registers: [this.registry] }));
    this.#duration = this.#get(`${p}operation_duration_seconds`, () => new Histogram({
      name: `${p}operation_duration_seconds`,
      help: 'Latency of checkpointer operations, retries included.',
      labelNames: ['operation', 'backend'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    }));
    this.#errors = this.#get(`${p}errors_total`, () => new Counter({ name: `${p}errors_total`, help: 'Failed checkpointer operations by error code.', labelNames: ['operation', 'backend', 'code'], registers: [this.registry] }));
    this.#retries = this.#get(`${p}retries_total`, () => new Counter({ name: `${p}retries_total`, help: 'Retries after transient storage errors.', labelNames: ['operation', 'backend'], registers: [this.registry] }));
    this.#bytes = this.#get(`${p}state_bytes`, () => new Histogram({
      name: `${p}state_bytes`,
      help: 'Stored size of checkpoint states (after compression).',
      labelNames: ['backend'],
      buckets: [256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304],
      registers: [this.registry],
    }));
    this.#cache = this.#get(`${p}cache_requests_total`, () => new Counter({ name: `${p}cache_requests_total`, help: 'Latest-checkpoint cache lookups (hit, miss).', labelNames: ['result'], registers: [this.registry] }));
    this.#pruneSkipped = this.#get(`${p}retention_runs_skipped_total`, () => new Counter({ name: `${p}retention_runs_skipped_total`, help: 'Interval retention ticks skipped because the previous run had not finished (a backlog).', labelNames: ['backend'], registers: [this.registry] }));
    this.#pruned = this.#get(`${p}pruned_checkpoints_total`, () => new Counter({ name: `${p}pruned_checkpoints_total`, help: 'Checkpoints deleted by retention.', labelNames: ['backend'], registers: [this.registry] }));
  }

  #get<M extends Metric>(name: string, create: () => M): M {
    return (this.registry.getSingleMetric(name) as M | undefined) ?? create();
  }

  /** Times `fn` and counts its outcome. */
  async track<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const labels = this.#labelsOf(operation);
    const started = performance.now();
    try {
      const value = await fn();
      this.#operations.inc(labels.ok);
      return value;
    } catch (error) {
      this.#operations.inc(labels.error);
      const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'UNKNOWN';
      this.#errors.inc({ ...labels.plain, code });
      throw error;
    } finally {
      this.#duration.observe(labels.plain, (performance.now() - started) / 1000);
    }
  }

  // Label objects made once per operation: every put would otherwise build and merge three.
  readonly #labels = new Map<string, OperationLabels>();

  #labelsOf(operation: string): OperationLabels {
    let labels = this.#labels.get(operation);
    if (!labels) {
      const plain = { operation, backend: this.#backend };
      labels = { plain, ok: { ...plain, outcome: 'ok' }, error: { ...plain, outcome: 'error' } };
      this.#labels.set(operation, labels);
    }
    return labels;
  }

  retry(operation: string): void {
    this.#retries.inc({ operation, backend: this.#backend });
  }

  stateBytes(size: number): void {
    this.#bytes.observe({ backend: this.#backend }, size);
  }

  cache(result: 'hit' | 'miss'): void {
    this.#cache.inc({ result });
  }

  retentionSkipped(): void {
    this.#pruneSkipped.inc({ backend: this.#backend });
  }

  pruned(count: number): void {
    if (count > 0) this.#pruned.inc({ backend: this.#backend }, count);
  }
}
