/**
 * Metrics: statsd reporting for a process (`ResourceReporter`), for a pool seen from its parent
 * (`PoolReporter`), and the wiring between them. Imports only `node:*`, hot-shots and pidusage.
 * @module
 */
export { ResourceReporter, DEFAULT_REPORT_INTERVAL, type MetricSource, type MetricSourceResult, type ResourceReporterOptions } from './resource-reporter.ts';
export { PoolReporter, type PoolReporterOptions, type PoolSnapshot, type PoolSource } from './pool-reporter.ts';
export {
  createStatsd, resolveStatsdOptions, isStatsdClient, DEFAULT_STATSD_OPTIONS,
  type CreateStatsdOptions, type ResolvedStatsdOptions, type StatsdHandle, type StatsdOptions,
} from './statsd.ts';
export { startPoolMetrics, type PoolMetrics, type PoolMetricsOptions } from './pool-metrics.ts';
export { startWorkerMetrics, type WorkerMetrics, type WorkerMetricsConfig } from './worker-metrics.ts';
export { TaskCounters } from './task-counters.ts';
export { ProcessProbe, type ProcessUsage } from './process-probe.ts';
export { ProcessSampler, type ProcessSample, type LoopDelay } from './samplers.ts';
export {
  poolScope, workerScope, parentScope, sanitizeSegment, sanitizePath, sanitizeTags, sanitizeTagValue,
  type MetricScope, type MetricTags,
} from './names.ts';
export type { ErrorSink } from './report-once.ts';
