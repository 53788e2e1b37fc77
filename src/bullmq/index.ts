/**
 * `looppool/bullmq`: scale a pool out over many machines on a shared BullMQ queue in Redis.
 * `bullmq` (and `ioredis`) are optional peer dependencies, imported on first use.
 * @module
 */
export { BullmqConsumer } from './consumer.ts';
export { consume } from './consume.ts';
export type { CloseOptions, ConsumerEvents, ConsumerState, ConsumerStats, JobEventInfo, StreamedResultInfo } from './consumer-types.ts';
export { enqueueLines } from './enqueue.ts';
export { BullmqMissingError, JobFailedError, RedisUnavailableError, type MissingPackage } from './errors.ts';
export type { JobMetadata, RequeueReason } from './job-outcome.ts';
export { loadBullmq, type BullmqModule } from './load.ts';
export { consumerMetricSource, type ConsumerMetrics } from './metric-source.ts';
export {
  DEFAULT_CONSUMER_OPTIONS, DEFAULT_ENQUEUE_OPTIONS, resolveConnection,
  type ConsumablePool, type ConsumerOptions, type ConsumerRunOptions, type DispatchInfo, type EnqueueCounts, type EnqueueOptions,
  type InvalidLine, type JobMetadataMode, type PoolResultListener, type RedisConnection,
} from './options.ts';
