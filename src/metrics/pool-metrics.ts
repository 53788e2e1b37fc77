/**
 * The parent's side of pool metrics: make the statsd client, report the pool (with pidusage on
 * every worker) and the parent process, and produce the plain config each worker reports with.
 */
import type { StatsD } from 'hot-shots';
import { parentScope } from './names.ts';
import { readPoolMetricsOptions } from './option-checks.ts';
import { PoolReporter, type PoolSource } from './pool-reporter.ts';
import type { ErrorSink } from './report-once.ts';
import { DEFAULT_REPORT_INTERVAL, ResourceReporter } from './resource-reporter.ts';
import { createStatsd, isStatsdClient, type StatsdHandle, type StatsdOptions } from './statsd.ts';
import type { WorkerMetricsConfig } from './worker-metrics.ts';

/** The parent's metrics for one pool. */
export interface PoolMetrics {
  readonly statsd: StatsdHandle;
  /** The pool, seen from the parent. */
  readonly pool: PoolReporter;
  /** The parent process itself (CPU, memory, loop). */
  readonly parent: ResourceReporter;
  /** For the workers' init message; undefined when the client cannot be rebuilt in a worker (UDS/stream). */
  readonly workerConfig: WorkerMetricsConfig | undefined;
  /** Send a last report, stop, flush and close (a client you passed in is flushed, not closed). Never rejects. */
  close(timeout?: number): Promise<void>;
}

export interface PoolMetricsOptions {
  /** The pool's name. @default 'pool' */
  name?: string | undefined;
  /** Milliseconds between reports, in the parent and in every worker. @default 10000 */
  interval?: number | undefined;
  /** Gets the first statsd error (later ones are counted). @default a line on stderr */
  onError?: ErrorSink | undefined;
}

/**
 * Start reporting a pool: its statsd client, a {@link PoolReporter} and the parent's own
 * {@link ResourceReporter}, both started. Pass `workerConfig` to the workers.
 * @throws {TypeError} for invalid statsd options, interval, name or onError, or an unknown or null option.
 */
export function startPoolMetrics(source: PoolSource, statsd: StatsD | StatsdOptions, options: PoolMetricsOptions = {}): PoolMetrics {
  const o = readPoolMetricsOptions(options); // each option read once
  const name = o.name ?? 'pool';
  const interval = o.interval ?? DEFAULT_REPORT_INTERVAL;
  const handle = createStatsd(statsd, o.onError ? { onError: o.onError } : {});
  const onError = o.onError ? { onError: o.onError } : {};
  const pool = new PoolReporter(handle.client, source, { name, tags: handle.tags, interval, ...onError });
  const scope = parentScope(name, handle.tags);
  const parent = new ResourceReporter(handle.client, scope.prefix, { interval, tags: scope.tags, ...onError });
  pool.start();
  parent.start();
  return {
    statsd: handle,
    pool,
    parent,
    // A client made here from options reports its errors (once, for the pool); a client of yours reports to you.
    workerConfig: handle.config && { statsd: handle.config, pool: name, interval, parentReportsErrors: !isStatsdClient(statsd) },
    async close(timeout = 1000) {
      // No pool tick from here on; its last report goes out after any still under way (the
      // parent's are synchronous), then the client closes.
      pool.stop();
      await pool.report();
      parent.report();
      parent.stop();
      await handle.close(timeout);
    },
  };
}
