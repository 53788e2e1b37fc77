/**
 * What the consumer makes of a task's outcome: the metadata recorded on the job, and how a
 * failure is handed to BullMQ (fail and maybe retry, or put back in the queue). Pure.
 */
import { SerializationError } from '../errors.ts';
import { JobFailedError } from './errors.ts';
import type { DispatchInfo } from './options.ts';

/** Recorded on every job attempt the consumer runs (see `ConsumerOptions.metadata`). */
export interface JobMetadata {
  /** Host name of the machine whose pool ran the job. */
  readonly host: string;
  /** Process id of the pool's parent process (the one holding the consumer). */
  readonly pid: number;
  /** The pool's name. */
  readonly pool: string;
  /** Worker number (`0..size-1`) that ran the task, or null if the pool did not say. */
  readonly worker: number | null;
  /** Process id of that worker, or null. */
  readonly workerPid: number | null;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
  /** Milliseconds from the job being added to this consumer taking it (earlier attempts and retry delays included). */
  readonly waitMs: number;
  /** Milliseconds from taking the job to the task settling. */
  readonly runMs: number;
  /** When the task settled, ISO 8601. */
  readonly finishedAt: string;
  /** `'completed'` or `'failed'`. */
  readonly outcome: 'completed' | 'failed';
  /** For a failed task: its error's name (its message is the job's `failedReason`). */
  readonly error?: string;
}

/**
 * The number of `job`'s attempt: 1 for the first, 2 for the first retry, … BullMQ counts an
 * attempt in `attemptsMade` once the attempt has finished, so the attempt a processor is running
 * is `attemptsMade + 1`; `finished`: BullMQ has already failed it (a job it failed as it fetched
 * it, without calling the processor, seen in its `failed` event), and `attemptsMade` counts it.
 */
export function attemptNumber(job: { readonly attemptsMade: number }, finished: boolean): number {
  return finished ? job.attemptsMade : job.attemptsMade + 1;
}

/** What {@link jobMetadata} records one attempt from. */
export interface AttemptFacts {
  /** The job's timestamps, as BullMQ gives them (ms since the epoch). */
  readonly job: { readonly timestamp: number; readonly processedOn?: number | undefined };
  /** The attempt's number ({@link attemptNumber}). */
  readonly attempt: number;
  readonly host: string;
  readonly pid: number;
  readonly pool: string;
  /** `Date.now()` as the task settled. */
  readonly now: number;
  /** Milliseconds from taking the job to the task settling. */
  readonly runMs: number;
  readonly outcome: 'completed' | 'failed';
  /** The worker the task went to, if the pool said. */
  readonly dispatched: DispatchInfo | null;
  /** For a failed task: its error's name. */
  readonly error?: string | undefined;
}

/** The metadata of one attempt; times in whole milliseconds, as BullMQ's own. */
export function jobMetadata(facts: AttemptFacts): JobMetadata {
  const { job, now, dispatched, error } = facts;
  const runMs = Math.round(facts.runMs);
  return {
    host: facts.host,
    pid: facts.pid,
    pool: facts.pool,
    worker: dispatched?.worker ?? null,
    workerPid: dispatched && dispatched.pid > 0 ? dispatched.pid : null,
    attempt: facts.attempt,
    // processedOn: when BullMQ began this attempt; without it, the attempt began runMs ago.
    waitMs: Math.max(0, (job.processedOn ?? now - runMs) - job.timestamp),
    runMs,
    finishedAt: new Date(now).toISOString(),
    outcome: facts.outcome,
    ...(error === undefined ? {} : { error }),
  };
}

/** Why a job goes back to the queue untouched. */
export type RequeueReason =
  /** The pool is stopping or stopped: the consumer closes too. */
  | 'stopping'
  /** The consumer was force-closed and aborted the task. */
  | 'forced'
  /** The pool's workers keep failing to start: the consumer holds off until the pool is healthy. */
  | 'unhealthy';

/**
 * Check a task's value before it becomes the job's return value, which BullMQ stores as JSON
 * (JSON's rules apply: a Date becomes its ISO string, an undefined field is left out): one JSON
 * cannot write at all (a BigInt, a cycle) failed the job in BullMQ after it was counted complete.
 * @throws {SerializationError} (the job then fails, and is not retried: the same again each time)
 */
export function assertStorable(value: unknown): void {
  try {
    JSON.stringify(value);
  } catch (error) {
    throw new SerializationError('unsupported', 'job return value', `BullMQ stores it as JSON, which cannot write it (${(error as Error).message})`);
  }
}

/** What to do with a job whose task rejected. */
export type FailureAction =
  /** Fail the job with this error: BullMQ retries it per `attempts`/`backoff` (unless it is an `UnrecoverableError`). */
  | { readonly kind: 'fail'; readonly error: Error; readonly errorName: string; readonly worker: number | null; readonly workerPid: number | null }
  /** Not the job's fault: back to the queue, no attempt used. */
  | { readonly kind: 'requeue'; readonly reason: RequeueReason };

/** Codes of the pool errors that mean "the pool is going away", not "the task failed". */
const STOPPING_CODES = new Set(['ERR_POOL_STOPPED', 'ERR_WORKER_STOPPED']);

/**
 * Decide a failed task's fate. Codes, not `instanceof`, so that two copies of looppool agree.
 * @param error what `pool.run` rejected with
 * @param forced whether the consumer aborted the task itself (force-close)
 * @param makeUnrecoverable BullMQ's `UnrecoverableError` constructor
 */
export function failureAction(error: unknown, forced: boolean, makeUnrecoverable: (message: string) => Error): FailureAction {
  const err = error instanceof Error ? error : new Error(String(error));
  const code = (err as { code?: unknown }).code;
  if (forced && code === 'ERR_TASK_ABORTED') return { kind: 'requeue', reason: 'forced' };
  if (typeof code === 'string' && STOPPING_CODES.has(code)) return { kind: 'requeue', reason: 'stopping' };
  // A broken machine must not fail the fleet's jobs one after the other, faster than any healthy one could run them.
  if (code === 'ERR_POOL_UNHEALTHY') return { kind: 'requeue', reason: 'unhealthy' };
  // A TaskError's cause is the worker's own error, rebuilt: that is what the job failed with.
  const remote = code === 'ERR_TASK_FAILED' && err.cause instanceof Error ? err.cause : err;
  const failure = new JobFailedError(remote.name, remote.message, { cause: err });
  if (remote.stack) failure.stack = remote.stack;
  const ref = err as { worker?: unknown; pid?: unknown };
  const worker = typeof ref.worker === 'number' ? ref.worker : null;
  const workerPid = typeof ref.pid === 'number' && ref.pid > 0 ? ref.pid : null;
  // Not retried: a worker error named UnrecoverableError (BullMQ checks the name), a poison task
  // (it killed two workers running alone; on another machine it would kill two more), and data or
  // a result that cannot cross or be stored (the same again on every attempt).
  const final = remote.name === 'UnrecoverableError' || code === 'ERR_POISON_TASK' || code === 'ERR_SERIALIZATION'
    ? Object.assign(makeUnrecoverable(failure.message), { stack: failure.stack, cause: err })
    : failure;
  return { kind: 'fail', error: final, errorName: remote.name, worker, workerPid };
}
