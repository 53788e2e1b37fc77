/** The errors of looppool's BullMQ support (both are {@link PoolError}s with stable codes). */
import { PoolError } from '../errors.ts';

/** Which optional package is missing: `bullmq` itself, or `ioredis`, the Redis driver BullMQ loads for connection options. */
export type MissingPackage = 'bullmq' | 'ioredis';

/**
 * BullMQ support was used but an optional package it needs is not installed. looppool declares
 * `bullmq` as an optional peer dependency, and BullMQ 6 in turn needs `ioredis` unless you pass
 * it a ready-made Redis client.
 */
export class BullmqMissingError extends PoolError {
  readonly package: MissingPackage;
  constructor(pkg: MissingPackage, options?: ErrorOptions) {
    super(
      pkg === 'bullmq'
        ? "looppool's BullMQ support needs the optional package `bullmq` (and its Redis driver `ioredis`): run `npm install bullmq ioredis`"
        : 'BullMQ needs the Redis driver `ioredis` to connect from connection options: run `npm install ioredis` (or pass a Redis client instance as `connection`)',
      'ERR_BULLMQ_MISSING',
      options,
    );
    this.package = pkg;
  }
}

/**
 * The error a job fails with when its task failed: `message` is `Name: message` of the task's
 * error (so BullMQ's `failedReason` shows both), `stack` is the worker's stack, and `cause` is the
 * pool's error (`TaskError`, `WorkerCrashedError`, …).
 */
export class JobFailedError extends PoolError {
  /** `name` of the error the task failed with, e.g. `QuotaError` or `WorkerCrashedError`. */
  readonly errorName: string;
  constructor(errorName: string, message: string, options?: ErrorOptions) {
    super(`${errorName}: ${message}`, 'ERR_JOB_FAILED', options);
    this.errorName = errorName;
  }
}

/** Redis did not answer within `readyTimeout` when a consumer or `enqueueLines` started. */
export class RedisUnavailableError extends PoolError {
  /** Where it tried: the URL (without its password) or `host:port`. */
  readonly redis: string;
  /** `timeoutMs` undefined: Redis answered, and refused the credentials (`cause`: its reply). */
  constructor(redis: string, timeoutMs: number | undefined, options?: ErrorOptions) {
    const last = options?.cause instanceof Error ? ` (last error: ${options.cause.message})` : '';
    const what = timeoutMs === undefined ? 'refused the credentials' : `did not answer within ${timeoutMs} ms`;
    super(`Redis at ${redis} ${what}${last}`, 'ERR_REDIS_UNAVAILABLE', options);
    this.redis = redis;
  }
}
