/**
 * What a worker process starts for a pool that asked for it, before the worker module loads:
 * Sentry and statsd metrics. Sentry's modules are imported only then, so they stay off every
 * other worker's start-up; the metrics code is part of the entry file (`looppool/worker` exports
 * ResourceReporter), and hot-shots loads only when a client is made.
 */
import type { InitMessage } from '../protocol/messages.ts';
import { startWorkerMetrics, type WorkerMetrics, type WorkerMetricsConfig } from '../metrics/worker-metrics.ts';
import type * as SentryCapture from '../sentry/capture.ts';
import type * as SentryClient from '../sentry/client.ts';

/** Sentry's helpers, once initialised. */
export type WorkerSentry = typeof SentryClient & typeof SentryCapture;

export interface WorkerServices {
  sentry?: WorkerSentry;
  metrics?: WorkerMetrics;
}

/** Start what `init` asks for; rejects when one cannot start (the worker then fails its init). */
export async function startServices(message: InitMessage): Promise<WorkerServices> {
  const services: WorkerServices = {};
  // Sentry loads before tsx is registered: its ~200 files then skip tsx's loader hooks.
  if (message.sentry) {
    const [client, capture] = await Promise.all([import('../sentry/client.ts'), import('../sentry/capture.ts')]);
    await client.initSentry({ ...message.sentry, role: 'worker', tags: { pool: message.name, worker: message.worker } });
    services.sentry = { ...client, ...capture };
  }
  if (message.metrics) {
    services.metrics = startWorkerMetrics(message.metrics as WorkerMetricsConfig, message.worker);
  }
  return services;
}
