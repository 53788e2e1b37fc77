/**
 * A worker's side of pool metrics: rebuild the statsd client from the config the parent sent and
 * report the process and its tasks. Loads neither pidusage nor anything of the parent's.
 */
import { workerScope } from './names.ts';
import type { ErrorSink } from './report-once.ts';
import { ResourceReporter } from './resource-reporter.ts';
import { createStatsd, type ResolvedStatsdOptions } from './statsd.ts';
import { TaskCounters } from './task-counters.ts';

/** What the parent sends each worker so it can report by itself. JSON-serialisable. */
export interface WorkerMetricsConfig {
  readonly statsd: ResolvedStatsdOptions;
  /** The pool's name. */
  readonly pool: string;
  /** Milliseconds between reports. */
  readonly interval: number;
  /**
   * True when the parent reports this statsd's errors for the whole pool, from a client it made
   * with the same settings (so it meets the same unresolvable host or refused connection): the
   * worker then counts its own errors and prints none. Each process printing its own "reported
   * once" line made one line per process (the parent, each worker, each replacement).
   */
  readonly parentReportsErrors?: boolean;
}

/** A worker's metrics: its reporter, its task counters, and the way out. */
export interface WorkerMetrics {
  readonly reporter: ResourceReporter;
  /** Call `started()` when a task begins and `settled(ok)` when it ends. */
  readonly tasks: TaskCounters;
  /**
   * Send a last report, stop, flush and close the client; resolves within `timeout` ms (default
   * 1000). Never rejects. Once only: a second call (the exit after a stop) gets the first's promise.
   */
  close(timeout?: number): Promise<void>;
}

/**
 * In a worker: rebuild the statsd client from the parent's config and start a
 * {@link ResourceReporter} for worker `worker`, with a task source (`tasks.in_flight`,
 * `tasks.done`, `tasks.failed`).
 */
export function startWorkerMetrics(config: WorkerMetricsConfig, worker: number, options: { onError?: ErrorSink } = {}): WorkerMetrics {
  const onError = options.onError ?? (config.parentReportsErrors === true ? ignoreError : undefined);
  const handle = createStatsd(config.statsd, onError ? { onError } : {});
  const scope = workerScope(config.pool, worker, handle.tags);
  const reporter = new ResourceReporter(handle.client, scope.prefix, {
    interval: config.interval,
    tags: scope.tags,
    ...(onError ? { onError } : {}),
  });
  const tasks = new TaskCounters();
  reporter.addSource(tasks.source);
  reporter.start();
  let closing: Promise<void> | undefined;
  return {
    reporter,
    tasks,
    close(timeout = 1000) {
      // Once: a second report would go to a closed client, and only make an error ("socket closed").
      if (closing) return closing;
      reporter.report();
      reporter.stop();
      closing = handle.close(timeout);
      return closing;
    },
  };
}

/** The sink of a worker whose parent reports the pool's statsd errors: the error is still counted (`errorCount`). */
function ignoreError(): void {}
