/** The consumer's public types: its state, stats snapshot, events and close options. */
import type { JobMetadata } from './job-outcome.ts';

/** `created` → `starting` → `running` → `closing` → `closed`. */
export type ConsumerState = 'created' | 'starting' | 'running' | 'closing' | 'closed';

/** `consumer.stats()`: counters since the consumer was created (for metrics: report their deltas). */
export interface ConsumerStats {
  readonly queue: string;
  readonly pool: string;
  readonly state: ConsumerState;
  /** Jobs in flight at most (BullMQ's Worker `concurrency`). */
  readonly capacity: number;
  /**
   * Jobs in flight now: those this consumer holds, from BullMQ handing one over until BullMQ has
   * finished with it (its result stored in Redis, the job put back, or given up: a lost lock). A
   * job whose task has returned counts until its result is stored (with Redis down, until Redis is
   * back); after a forced close while Redis is down, until the process ends: such jobs stay active
   * in Redis until a stalled-job check puts them back.
   */
  readonly active: number;
  /** Job attempts started (a retried job counts once per attempt). */
  readonly taken: number;
  /** Attempts whose task returned and that BullMQ completed (counted once the job is completed in Redis: not one whose lock was lost). */
  readonly completed: number;
  /** Attempts whose task failed (task error or worker crash) and that BullMQ failed or set to retry (counted once moved in Redis). */
  readonly failed: number;
  /** Jobs put back in the queue untouched, once Redis took them: the pool stopped or was unhealthy, the consumer was force-closed, or paused as BullMQ handed it one. */
  readonly requeued: number;
  /** True while the consumer takes no jobs: the pool is unhealthy (its workers keep failing to start), `pause()` was called, or it has the jobs its `maxJobs` needs. */
  readonly paused: boolean;
}

/** Which job an event is about. */
export interface JobEventInfo {
  readonly jobId: string;
  /** The BullMQ job name. */
  readonly name: string;
  readonly meta: JobMetadata;
}

/** Which job attempt a streamed result (`ctx.putResult`) is from. */
export interface StreamedResultInfo {
  readonly jobId: string;
  /** The BullMQ job name. */
  readonly name: string;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
}

/** Listener signatures of `consumer.on(…)`. */
export interface ConsumerEvents<TResult = unknown> {
  /** A job's task returned `value` and BullMQ has completed the job with it. */
  completed: [value: TResult, info: JobEventInfo];
  /** A job's task failed with `error` (a `JobFailedError`, or BullMQ's `UnrecoverableError`) and BullMQ has failed the job (or set it to retry). */
  failed: [error: Error, info: JobEventInfo];
  /**
   * A job's task streamed `value` with `ctx.putResult`, while it ran (before the job's `completed`
   * or `failed`). Not stored in Redis: a job keeps one value, what its task returns.
   */
  result: [value: unknown, info: StreamedResultInfo];
  /** A job went back to the queue without using an attempt. */
  requeued: [info: { readonly jobId: string; readonly reason: string }];
  /** A BullMQ or Redis error (lost connection, failed lock renewal, …). Logged to stderr when nobody listens. */
  error: [error: Error];
}

export interface CloseOptions {
  /**
   * Do not wait for the jobs in flight: abort their tasks and put the jobs back in the queue
   * (no attempt used). Also escalates a `close()` already under way. While Redis is down it does
   * not wait for it: it drops the connection, and the jobs in flight stay active in Redis until
   * BullMQ's stalled-job check puts them back (their lock expired). @default false
   */
  force?: boolean | undefined;
}
