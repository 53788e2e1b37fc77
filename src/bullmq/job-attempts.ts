/**
 * The consumer's job attempts: each job BullMQ hands over runs as one pool task. Its value
 * completes the job, its error fails it (BullMQ then retries it per `attempts`/`backoff`), and a
 * failure that is not the job's (the pool stopping or unhealthy, a forced close) puts the job back
 * in the queue untouched. Each attempt's metadata is recorded on its job before BullMQ moves it,
 * and the attempt goes to Outcomes, which counts it once the job is moved in Redis.
 */
import os from 'node:os';
import type { Job } from 'bullmq';
import type { HeldJobs } from './held.ts';
import type { Holds } from './holds.ts';
import { unreadableData } from './job-data.ts';
import { assertStorable, attemptNumber, failureAction, jobMetadata, type JobMetadata } from './job-outcome.ts';
import type { BullmqModule } from './load.ts';
import type { ConsumablePool, DispatchInfo, ResolvedConsumerOptions } from './options.ts';
import type { Outcomes } from './outcomes.ts';
import type { StreamedResults } from './streamed.ts';

const HOST = os.hostname();
/** How often a consumer holding off checks whether its pool is healthy again. */
const HEALTH_CHECK_MS = 1_000;

/** What the attempts need of their consumer (BullmqConsumer). */
export interface AttemptsHost<TTask, TResult> {
  readonly pool: ConsumablePool<TTask, TResult>;
  readonly options: ResolvedConsumerOptions;
  readonly holds: Holds;
  readonly outcomes: Outcomes<TResult>;
  readonly streamed: StreamedResults;
  /** The jobs BullMQ has handed over and not finished with. */
  readonly held: HeldJobs;
  /** True once `close()` was called. */
  isClosing(): boolean;
  isRunning(): boolean;
  close(): Promise<void>;
  /** Check the `maxJobs` limit again (attempts started or settled). */
  checkLimit(): void;
  report(error: unknown): void;
  /** A job was put back and Redis took it (emitted safely: a throwing listener does not decide the job's fate). */
  requeued(info: { jobId: string; reason: string }): void;
}

export class JobAttempts<TTask, TResult> {
  readonly #host: AttemptsHost<TTask, TResult>;
  /** Abort controllers of the tasks in flight, one per attempt (a job whose lock was lost can run twice at once here). */
  readonly #active = new Set<AbortController>();
  #forced = false;
  #taken = 0;
  #requeued = 0;

  constructor(host: AttemptsHost<TTask, TResult>) {
    this.#host = host;
  }

  /** Attempts whose task runs (or whose job is being put back): those `maxJobs` waits for. */
  get active(): number {
    return this.#active.size;
  }

  /** Attempts started (a retried job counts once per attempt). */
  get taken(): number {
    return this.#taken;
  }

  /** Jobs put back in the queue untouched, once Redis took them. */
  get requeued(): number {
    return this.#requeued;
  }

  /** Force-close: abort the tasks in flight (their jobs go back to the queue). */
  abortAll(): void {
    this.#forced = true;
    for (const controller of this.#active) controller.abort(new Error('The BullMQ consumer was force-closed'));
  }

  /** BullMQ's processor: run `job` and return its value, or throw what fails it (or puts it back). */
  async process(bullmq: BullmqModule, job: Job<TTask, TResult>, token: string | undefined, signal: AbortSignal | undefined): Promise<TResult> {
    const host = this.#host;
    // BullMQ hands over one more job after pause() or close() when its fetch was already waiting
    // (after a forced close, the very job just put back): it goes back untouched, and once closing
    // is not counted again.
    if (host.isClosing()) throw await this.#putBack(bullmq, job, token, 'the consumer is closing', false);
    if (host.holds.on) throw await this.#putBack(bullmq, job, token, host.holds.describe());
    this.#taken++;
    const takenAt = performance.now(); // a run time, not a date: the monotonic clock
    const jobId = job.id ?? '';
    const abort = new AbortController();
    const forward = (): void => abort.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    this.#active.add(abort);
    host.checkLimit();
    let dispatched: DispatchInfo | undefined;
    const task = host.streamed.track(job);
    try {
      const unreadable = unreadableData(job);
      if (unreadable) throw unreadable; // fails the job as data that cannot be sent to a worker does
      const value = await host.pool.run(job.data, { signal: abort.signal, onDispatch: (info) => (dispatched = info), onSubmit: task.onSubmit });
      assertStorable(value);
      const meta = this.#meta(job, takenAt, 'completed', dispatched ?? null);
      await this.#record(job, meta);
      host.outcomes.settled(job, { outcome: 'completed', value, info: { jobId, name: job.name, meta } });
      return value;
    } catch (error) {
      throw await this.#onTaskFailed(bullmq, job, token, error, abort.signal.aborted && this.#forced, takenAt, dispatched);
    } finally {
      task.release();
      signal?.removeEventListener('abort', forward);
      this.#active.delete(abort);
      host.checkLimit();
    }
  }

  /**
   * BullMQ fetched `job` for this consumer and failed it without calling the processor (it had
   * stalled more than `maxStalledCount` times, or started more than `maxStartedAttempts`): an
   * attempt taken and failed here like any other, or `maxJobs` would wait for it for ever. Its
   * number is the attempt that ran (and stalled), or that another consumer started: BullMQ, having
   * failed the job, already counts it in `attemptsMade`.
   */
  failedUnrun(job: Job<TTask, TResult>, error: Error): void {
    this.#taken++;
    const meta = this.#meta(job, performance.now(), 'failed', null, error.name, true);
    this.#host.outcomes.settled(job, { outcome: 'failed', error, info: { jobId: job.id ?? '', name: job.name, meta } });
  }

  /** Returns what the processor throws to BullMQ. */
  async #onTaskFailed(
    bullmq: BullmqModule, job: Job<TTask, TResult>, token: string | undefined, error: unknown, forced: boolean, takenAt: number,
    dispatched: DispatchInfo | undefined,
  ): Promise<Error> {
    const host = this.#host;
    const jobId = job.id ?? '';
    const action = failureAction(error, forced, (message) => new bullmq.UnrecoverableError(message));
    if (action.kind === 'requeue') {
      // The pool is going away, or cannot run anything for now: stop fetching, or every job would bounce off it.
      if (action.reason === 'stopping') host.close().catch((e: unknown) => host.report(e));
      // Unhealthy: none until the pool says it is healthy again (a pool without `stats().healthy`: for one check period).
      if (action.reason === 'unhealthy' && host.isRunning()) {
        host.holds.addWhile('unhealthy', () => host.isRunning() && host.pool.stats?.().healthy === false, HEALTH_CHECK_MS);
      }
      return this.#putBack(bullmq, job, token, (error as Error).message);
    }
    const worker = action.worker === null ? (dispatched ?? null) : { worker: action.worker, pid: action.workerPid ?? -1 };
    const meta = this.#meta(job, takenAt, 'failed', worker, action.errorName);
    await this.#record(job, meta);
    host.outcomes.settled(job, { outcome: 'failed', error: action.error, info: { jobId, name: job.name, meta } });
    return action.error;
  }

  /**
   * Put `job` back in the queue untouched; returns what the processor throws to BullMQ. Counted
   * (`requeued`, the event) once Redis has taken it back: with Redis down it stays active, and
   * BullMQ's stalled-job check puts it back once its lock expires.
   */
  async #putBack(bullmq: BullmqModule, job: Job<TTask, TResult>, token: string | undefined, reason: string, counted = true): Promise<Error> {
    const back = await job.moveToWait(token).then(
      () => true,
      (e: unknown) => {
        this.#host.report(e);
        return false;
      },
    );
    if (back) this.#host.held.release(job); // BullMQ only fetches the next job now
    if (back && counted) {
      this.#requeued++;
      this.#host.requeued({ jobId: job.id ?? '', reason });
    }
    return new bullmq.WaitingError(); // BullMQ: the job was moved back to wait, do not fail it
  }

  /**
   * `takenAt`: `performance.now()` when the job was taken (a run time, not a date: the monotonic
   * clock); `finished`: BullMQ has already failed the job ({@link attemptNumber}).
   */
  #meta(job: Job, takenAt: number, outcome: 'completed' | 'failed', dispatched: DispatchInfo | null, error?: string, finished = false): JobMetadata {
    const runMs = performance.now() - takenAt;
    const attempt = attemptNumber(job, finished);
    return jobMetadata({ job, attempt, host: HOST, pid: process.pid, pool: this.#host.options.poolName, now: Date.now(), runMs, outcome, dispatched, error });
  }

  /** Awaited before the job is finished, so the metadata is in Redis before the job completes (and before `removeOnComplete`). */
  async #record(job: Job, meta: JobMetadata): Promise<void> {
    try {
      if (this.#host.options.metadata === 'progress') await job.updateProgress({ ...meta });
      else if (this.#host.options.metadata === 'log') await job.log(JSON.stringify(meta));
    } catch (error) {
      this.#host.report(error); // metadata is for operators: never fail a job over it
    }
  }
}
