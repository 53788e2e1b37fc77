/**
 * `looppool`: the parent side (Pool, options, errors) plus the worker-side classes, so one import
 * serves both. Worker modules that must not load parent code import `looppool/worker`.
 * @module
 */
export { Pool, type BroadcastOptions, type PutOptions, type RunOptions, type StopOptions } from './parent/pool.ts';
export type { StopOnSignalsOptions } from './parent/signals.ts';
export type { MapOptions } from './parent/map.ts';
export type { StreamedResult } from './parent/result-stream.ts';
export type {
  LoopBlockedInfo, PoolEvents, PoolStats, PoolState, ResultInfo, TaskErrorInfo, WorkerErrorOrigin, WorkerExitInfo, WorkerInfo, WorkerStats,
} from './parent/events.ts';
export { DEFAULT_POOL_OPTIONS, MAX_POOL_SIZE, MIN_BLOCKED_LOOP_THRESHOLD, type DispatchPolicy, type PoolOptions } from './options.ts';
export { MAX_DELAY_MS } from './internal/delay.ts';
export {
  BroadcastError, BroadcastTimeoutError, PoisonTaskError, PoolError, PoolStoppedError, PoolUnhealthyError, ProtocolError, QueueFullError,
  ResultClosedError, SerializationError, TaskAbortedError, TaskError, TaskTimeoutError, WorkerCrashedError, WorkerInitError,
  WorkerNotInPoolError, WorkerStoppedError, type RemoteError, type SerializationReason, type TaskFailure, type WorkerPoolProperty, type WorkerRef,
} from './errors.ts';
export { Worker, SafeWorker, type TaskContext } from './child/worker.ts';
export { yieldToLoop, whenIdle } from './cooperative.ts';
export { ResourceReporter, type ResourceReporterOptions, type MetricSource, type MetricSourceResult } from './metrics/resource-reporter.ts';
export { PoolReporter, type PoolReporterOptions, type PoolSource } from './metrics/pool-reporter.ts';
export { createStatsd, type CreateStatsdOptions, type ResolvedStatsdOptions, type StatsdHandle, type StatsdOptions } from './metrics/statsd.ts';
export { startPoolMetrics, type PoolMetrics, type PoolMetricsOptions } from './metrics/pool-metrics.ts';
export type { SentryOptions } from './sentry/config.ts';
