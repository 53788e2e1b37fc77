/**
 * `looppool/worker`: what a worker module needs, and nothing from the parent side.
 * @module
 */
export { Worker, SafeWorker, type TaskContext } from './worker.ts';
export { yieldToLoop, whenIdle } from '../cooperative.ts';
export {
  PoolError,
  ResultClosedError,
  SerializationError,
  WorkerNotInPoolError,
  WorkerStoppedError,
  type SerializationReason,
  type WorkerPoolProperty,
} from '../errors.ts';
export { ResourceReporter, type ResourceReporterOptions, type MetricSource, type MetricSourceResult } from '../metrics/resource-reporter.ts';
export { createStatsd, type CreateStatsdOptions, type ResolvedStatsdOptions, type StatsdHandle, type StatsdOptions } from '../metrics/statsd.ts';
