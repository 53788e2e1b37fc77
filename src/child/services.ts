/**
 * What a worker process starts for a pool that asked for it, before the worker module loads:
 * Sentry and statsd metrics. Sentry's modules are imported only then, so they stay off every
 * other worker's start-up; the metrics code is part of the entry file (`looppool/worker` exports
 * ResourceReporter), and hot-shots loads only when a client is made.
 */
import type { InitMessage, UncaughtOrigin } from '../protocol/messages.ts';
import { startWorkerMetrics, type WorkerMetrics, type WorkerMetricsConfig } from '../metrics/worker-metrics.ts';
import type { TaskTags, WorkerTags } from '../sentry/capture.ts';

/** The worker process's Sentry client, once started, with what the runtime reports through it. */
export interface WorkerSentry {
  taskError(err: unknown, tags: TaskTags): void;
  uncaught(err: unknown, origin: UncaughtOrigin, tags: WorkerTags): void;
  /** Send what is queued, waiting at most `timeoutMs`. */
  flush(timeoutMs: number): Promise<unknown>;
}

export interface WorkerServices {
  sentry?: WorkerSentry;
  metrics?: WorkerMetrics;
}

/**
 * Start what `init` asks for; rejects when one cannot start (the worker then fails its init).
 * `beforeCapture` runs before each Sentry capture: the runtime sends the answers held back.
 */
export async function startServices(message: InitMessage, beforeCapture?: () => void): Promise<WorkerServices> {
  const services: WorkerServices = {};
  // Sentry loads before tsx is registered: its ~200 files then skip tsx's loader hooks.
  if (message.sentry) {
    const [{ SentryClient }, capture] = await Promise.all([import('../sentry/client.ts'), import('../sentry/capture.ts')]);
    // The parent resolved the settings from its options and environment: this process's own
    // SENTRY_ENVIRONMENT/SENTRY_RELEASE (from the pool's `env`) must not fill what it left out.
    const client = SentryClient.open({ ...message.sentry, role: 'worker', tags: { pool: message.name, worker: message.worker }, beforeCapture }, {});
    services.sentry = {
      taskError: (err, tags) => capture.captureTaskError(client, err, tags),
      uncaught: (err, origin, tags) => capture.captureUncaught(client, err, origin, tags),
      flush: async (timeoutMs) => client?.flush(timeoutMs),
    };
  }
  if (message.metrics) {
    services.metrics = startWorkerMetrics(message.metrics as WorkerMetricsConfig, message.worker);
  }
  return services;
}
