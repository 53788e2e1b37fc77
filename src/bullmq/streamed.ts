/**
 * The results a job's task streams (`ctx.putResult`): the pool's `result` events carry the pool's
 * task id; the consumer knows which job each task runs for. They are emitted as they come, with
 * their job, and never stored in Redis (a job keeps one value: what its task returns).
 */
import type { Job } from 'bullmq';
import type { StreamedResultInfo } from './consumer-types.ts';
import { attemptNumber } from './job-outcome.ts';
import type { ConsumablePool, PoolResultListener } from './options.ts';

/** The task of one job attempt: `onSubmit` for `pool.run`, and `release()` once its task settled. */
export interface TrackedTask {
  readonly onSubmit: (taskId: number) => void;
  release(): void;
}

/** Ties the pool's streamed results to the jobs whose tasks are running. */
export class StreamedResults {
  /** The job of each task running, by the pool's task id. */
  readonly #jobs = new Map<number, StreamedResultInfo>();
  readonly #emit: (value: unknown, info: StreamedResultInfo) => void;
  #detach: (() => void) | undefined;
  readonly #onResult: PoolResultListener = (value, info) => {
    const job = info.taskId === null ? undefined : this.#jobs.get(info.taskId);
    if (job !== undefined) this.#emit(value, job);
  };

  constructor(emit: (value: unknown, info: StreamedResultInfo) => void) {
    this.#emit = emit;
  }

  /** Listen to `pool`'s results (a pool without `on`/`off` streams none the consumer can see). */
  attach(pool: Pick<ConsumablePool, 'on' | 'off'>): void {
    if (this.#detach !== undefined || pool.on === undefined || pool.off === undefined) return;
    pool.on('result', this.#onResult);
    this.#detach = () => pool.off?.('result', this.#onResult);
  }

  /** Stop listening (the consumer closed: no task of its runs any more). */
  detach(): void {
    this.#detach?.();
    this.#detach = undefined;
  }

  /**
   * Track the task of `job`'s attempt: the results streamed under its task id, from `pool.run`'s
   * `onSubmit` (called before any can come) until `release()`, are that job's. A result that comes
   * after its task settled (a task that timed out and goes on) is not: its job has finished.
   */
  track(job: Job): TrackedTask {
    let taskId: number | undefined;
    const info: StreamedResultInfo = { jobId: job.id ?? '', name: job.name, attempt: attemptNumber(job, false) };
    return {
      onSubmit: (id) => {
        taskId = id;
        this.#jobs.set(id, info);
      },
      release: () => {
        if (taskId !== undefined) this.#jobs.delete(taskId);
      },
    };
  }
}
