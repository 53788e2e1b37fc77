/**
 * `BullmqConsumer`: makes a pool a BullMQ worker. BullMQ fetches up to the pool's capacity of
 * jobs; each job's data runs as one task (`pool.run(job.data)`), its result completes the job,
 * its failure fails the job (BullMQ then retries it per `attempts`/`backoff`).
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import type { Job, Worker } from 'bullmq';
import { PoolStoppedError } from '../errors.ts';
import type { CloseOptions, ConsumerEvents, ConsumerState, ConsumerStats } from './consumer-types.ts';
import { Holds } from './holds.ts';
import { Outcomes } from './outcomes.ts';
import { assertStorable, failureAction, jobMetadata, type JobMetadata } from './job-outcome.ts';
import { assertRedisDriver, loadBullmq, type BullmqModule } from './load.ts';
import { consumerMetricSource } from './metric-source.ts';
import { disconnectIfRedisDown, whenConnected, whenReady } from './ready.ts';
import { StreamedResults } from './streamed.ts';
import { resolveConsumerOptions, type ConsumablePool, type ConsumerOptions, type DispatchInfo, type ResolvedConsumerOptions } from './options.ts';

const HOST = os.hostname();
/** How often a consumer holding off checks whether its pool is healthy again. */
const HEALTH_CHECK_MS = 1_000;

/**
 * A BullMQ source for a pool: `start()` begins taking jobs from the queue, `close()` stops taking
 * them and waits for the jobs in flight (then stop the pool yourself).
 *
 * @example
 * ```ts
 * const pool = new Pool({ worker: './resize.ts', size: 4, concurrency: 10 });
 * const consumer = new BullmqConsumer(pool, 'images', { connection: 'redis://127.0.0.1:6379', concurrency: 40 });
 * await consumer.start();
 * // … on shutdown:
 * await consumer.close();
 * await pool.stop();
 * ```
 */
export class BullmqConsumer<TTask = unknown, TResult = unknown> extends EventEmitter<ConsumerEvents<TResult>> {
  readonly #pool: ConsumablePool<TTask, TResult>;
  readonly #options: ResolvedConsumerOptions;
  /** Abort controllers of the tasks in flight, one per attempt (a job whose lock was lost can run twice at once here). */
  readonly #active = new Set<AbortController>();
  #worker: Worker<TTask, TResult> | undefined;
  #running: Promise<void> | undefined;
  #state: ConsumerState = 'created';
  #forced = false;
  /** The BullMQ worker fetches no job while any hold is on (jobs in flight are not waited for). */
  readonly #holds = new Holds({
    pause: () => this.#worker && this.#state === 'running' && this.#worker.pause(true).catch((e: unknown) => this.#report(e)),
    resume: () => this.#worker && this.#state === 'running' && this.#worker.resume().catch((e: unknown) => this.#report(e)),
  });
  /** Counted once BullMQ has moved the job in Redis. */
  readonly #outcomes = new Outcomes<TResult>((settled) => {
    this.#checkLimit();
    if (settled.outcome === 'completed') this.#emitSafely('completed', settled.value, settled.info);
    else this.#emitSafely('failed', settled.error, settled.info);
  });
  /** The results the jobs' tasks stream, emitted with their job. */
  readonly #streamed = new StreamedResults((value, info) => this.#emitSafely('result', value, info));
  #taken = 0;
  #requeued = 0;
  #startPromise: Promise<void> | undefined;
  #closePromise: Promise<void> | undefined;
  /** Resolved by a forced close while Redis is down: `close()` stops waiting for BullMQ. */
  #abandon: () => void = () => {};
  readonly #abandoned = new Promise<void>((resolve) => (this.#abandon = resolve));

  /**
   * @param pool the pool that runs the jobs (started by `start()` if it is not yet)
   * @param queueName the BullMQ queue to take jobs from
   * @throws {TypeError} on invalid options
   */
  constructor(pool: ConsumablePool<TTask, TResult>, queueName: string, options: ConsumerOptions) {
    super();
    this.#pool = pool;
    this.#options = resolveConsumerOptions(pool, queueName, options);
  }

  get queueName(): string {
    return this.#options.queueName;
  }

  get state(): ConsumerState {
    return this.#state;
  }

  /**
   * Load BullMQ, connect to Redis, start the pool (if not yet) and begin taking jobs.
   * @throws {BullmqMissingError} when `bullmq` (or `ioredis`) is not installed
   * @throws {RedisUnavailableError} when Redis does not answer within `readyTimeout`
   * @throws {PoolStoppedError} when the consumer was closed
   */
  start(): Promise<void> {
    this.#startPromise ??= this.#start();
    return this.#startPromise;
  }

  /**
   * Stop taking jobs, then wait for the jobs in flight to finish (BullMQ completes or fails them).
   * Resolves when the BullMQ worker is closed; the pool is left running: stop it next.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closePromise ??= this.#close();
    if (options.force) this.#abortActive();
    return this.#closePromise;
  }

  /** For `await using consumer = ...`: closed as by `close()` when the block ends (the pool is not stopped: declare it first, with `await using` too). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Take no new jobs until `resume()`; the jobs in flight go on and finish. For an owner whose
   * results go somewhere slower than the pool (a full output, a downstream service): jobs wait in
   * Redis, not in this process. Takes effect at `start()` when called before it.
   */
  pause(): void {
    this.#holds.add('pause');
  }

  /** Take jobs again after `pause()` (while the pool is unhealthy, once it is healthy again). */
  resume(): void {
    this.#holds.remove('pause');
  }

  /** A plain snapshot of the consumer's counters. */
  stats(): ConsumerStats {
    return {
      queue: this.#options.queueName,
      pool: this.#options.poolName,
      state: this.#state,
      capacity: this.#options.capacity,
      active: this.#active.size,
      taken: this.#taken,
      completed: this.#outcomes.completed,
      failed: this.#outcomes.failed,
      requeued: this.#requeued,
      paused: this.#holds.on,
    };
  }

  async #start(): Promise<void> {
    if (this.#state !== 'created') throw new PoolStoppedError('The consumer is closed');
    this.#state = 'starting';
    try {
      const bullmq = await loadBullmq();
      assertRedisDriver(this.#options.connection);
      this.#worker = this.#createWorker(bullmq); // autorun off: it takes no job before run()
      await whenReady(this.#worker, this.#options.connection, this.#options.readyTimeout);
      await this.#pool.start();
      // close() came while it started: it takes no job at all (it took one, ran it and close() waited).
      if (this.#closePromise !== undefined) throw new PoolStoppedError('The consumer was closed while it started');
    } catch (error) {
      this.#state = 'closed';
      await this.#worker?.close(true).catch(() => {});
      throw error;
    }
    this.#streamed.attach(this.#pool);
    this.#running = this.#worker.run().catch((error: unknown) => this.#report(error));
    this.#state = 'running';
    if (this.#holds.on) this.#worker.pause(true).catch((e: unknown) => this.#report(e)); // paused before start()
    // Kept after close(): the pool's last report (at its stop) still carries the final counts.
    this.#pool.addMetricSource?.(consumerMetricSource(this));
  }

  #createWorker(bullmq: BullmqModule): Worker<TTask, TResult> {
    const o = this.#options;
    // Three parameters: BullMQ passes the job's AbortSignal only to a processor that declares it.
    const processor = (job: Job<TTask, TResult>, token?: string, signal?: AbortSignal): Promise<TResult> =>
      this.#process(bullmq, job, token, signal);
    const worker = new bullmq.Worker<TTask, TResult>(o.queueName, processor, {
      ...o.workerOptions,
      connection: o.connection,
      concurrency: o.maxJobs === undefined ? o.capacity : Math.min(o.capacity, o.maxJobs),
      autorun: false,
      name: o.workerName,
    });
    // While starting, whenReady() reports the connection errors (as the cause of its own).
    worker.on('error', (error) => this.#state !== 'starting' && this.#report(error));
    // Emitted once the job is completed or failed in Redis, not when its task settled.
    worker.on('completed', (job) => this.#outcomes.moved(job, undefined));
    worker.on('failed', (job, error) => {
      if (job && !this.#outcomes.awaits(job)) this.#failedUnrun(job, error);
      this.#outcomes.moved(job, error);
    });
    return worker;
  }

  async #close(): Promise<void> {
    if (this.#state === 'created') {
      this.#state = 'closed';
      return;
    }
    if (this.#state === 'starting') await this.#startPromise?.catch(() => {});
    if (this.#state === 'closed') return;
    this.#state = 'closing';
    const closed = (async () => {
      if (this.#worker) await Promise.race([whenConnected(this.#worker), this.#abandoned]); // see whenConnected
      await this.#worker?.close();
      await this.#running;
    })();
    await Promise.race([closed, this.#abandoned]);
    this.#streamed.detach();
    this.#state = 'closed';
  }

  async #process(bullmq: BullmqModule, job: Job<TTask, TResult>, token: string | undefined, signal: AbortSignal | undefined): Promise<TResult> {
    // BullMQ hands over one more job after pause() or close() when its fetch was already waiting
    // (after a forced close, the very job just put back): it goes back untouched, and once closing
    // is not counted again.
    if (this.#closePromise !== undefined) throw await this.#putBack(bullmq, job, token, 'the consumer is closing', false);
    if (this.#holds.on) throw await this.#putBack(bullmq, job, token, this.#holds.describe());
    this.#taken++;
    const takenAt = performance.now(); // a run time, not a date: the monotonic clock
    const jobId = job.id ?? '';
    const abort = new AbortController();
    const forward = (): void => abort.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    this.#active.add(abort);
    this.#checkLimit();
    let dispatched: DispatchInfo | undefined;
    const task = this.#streamed.track(job);
    try {
      const value = await this.#pool.run(job.data, { signal: abort.signal, onDispatch: (info) => (dispatched = info), onSubmit: task.onSubmit });
      assertStorable(value);
      const meta = this.#meta(job, takenAt, 'completed', dispatched ?? null);
      await this.#record(job, meta);
      this.#outcomes.settled(job, { outcome: 'completed', value, info: { jobId, name: job.name, meta } });
      return value;
    } catch (error) {
      throw await this.#onTaskFailed(bullmq, job, token, error, abort.signal.aborted && this.#forced, takenAt, dispatched);
    } finally {
      task.release();
      signal?.removeEventListener('abort', forward);
      this.#active.delete(abort);
      this.#checkLimit();
    }
  }

  /**
   * With `maxJobs`: BullMQ fetches no more jobs at once than the limit still needs (its
   * `concurrency`, which counts the jobs it is fetching, running and storing; those being stored
   * count as done), and takes none while the attempts counted and those running reach it. The hold
   * leaves out the attempts being stored: one whose lock was lost is never stored, and would hold
   * the consumer for ever (in the concurrency it only makes BullMQ fetch fewer at once, at least 1,
   * until Outcomes forgets it).
   */
  #checkLimit(): void {
    const max = this.#options.maxJobs;
    if (max === undefined) return;
    const counted = this.#outcomes.completed + this.#outcomes.failed;
    if (this.#worker) this.#worker.concurrency = Math.max(1, Math.min(this.#options.capacity, max - counted - this.#outcomes.storing));
    this.#holds.set('limit', counted + this.#active.size >= max);
  }

  /**
   * BullMQ fetched `job` for this consumer and failed it without calling the processor (it had
   * stalled more than `maxStalledCount` times, or started more than `maxStartedAttempts`): an
   * attempt taken and failed here like any other, or `maxJobs` would wait for it for ever.
   */
  #failedUnrun(job: Job<TTask, TResult>, error: Error): void {
    this.#taken++;
    const meta = this.#meta(job, performance.now(), 'failed', null, error.name);
    this.#outcomes.settled(job, { outcome: 'failed', error, info: { jobId: job.id ?? '', name: job.name, meta } });
  }

  /** Returns what the processor throws to BullMQ. */
  async #onTaskFailed(
    bullmq: BullmqModule, job: Job<TTask, TResult>, token: string | undefined, error: unknown, forced: boolean, takenAt: number,
    dispatched: DispatchInfo | undefined,
  ): Promise<Error> {
    const jobId = job.id ?? '';
    const action = failureAction(error, forced, (message) => new bullmq.UnrecoverableError(message));
    if (action.kind === 'requeue') {
      // The pool is going away, or cannot run anything for now: stop fetching, or every job would bounce off it.
      if (action.reason === 'stopping') this.close().catch((e: unknown) => this.#report(e));
      // Unhealthy: none until the pool says it is healthy again (a pool without `stats().healthy`: for one check period).
      if (action.reason === 'unhealthy' && this.#state === 'running') {
        this.#holds.addWhile('unhealthy', () => this.#state === 'running' && this.#pool.stats?.().healthy === false, HEALTH_CHECK_MS);
      }
      return this.#putBack(bullmq, job, token, (error as Error).message);
    }
    const worker = action.worker === null ? (dispatched ?? null) : { worker: action.worker, pid: action.workerPid ?? -1 };
    const meta = this.#meta(job, takenAt, 'failed', worker, action.errorName);
    await this.#record(job, meta);
    this.#outcomes.settled(job, { outcome: 'failed', error: action.error, info: { jobId, name: job.name, meta } });
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
        this.#report(e);
        return false;
      },
    );
    if (back && counted) {
      this.#requeued++;
      this.#emitSafely('requeued', { jobId: job.id ?? '', reason });
    }
    return new bullmq.WaitingError(); // BullMQ: the job was moved back to wait, do not fail it
  }

  /** `takenAt`: `performance.now()` when the job was taken (a run time, not a date: the monotonic clock). */
  #meta(job: Job, takenAt: number, outcome: 'completed' | 'failed', dispatched: DispatchInfo | null, error?: string): JobMetadata {
    const runMs = performance.now() - takenAt;
    return jobMetadata({ job, host: HOST, pid: process.pid, pool: this.#options.poolName, now: Date.now(), runMs, outcome, dispatched, error });
  }

  /** Awaited before the job is finished, so the metadata is in Redis before the job completes (and before `removeOnComplete`). */
  async #record(job: Job, meta: JobMetadata): Promise<void> {
    try {
      if (this.#options.metadata === 'progress') await job.updateProgress({ ...meta });
      else if (this.#options.metadata === 'log') await job.log(JSON.stringify(meta));
    } catch (error) {
      this.#report(error); // metadata is for operators: never fail a job over it
    }
  }

  #abortActive(): void {
    this.#forced = true;
    for (const controller of this.#active) controller.abort(new Error('The BullMQ consumer was force-closed'));
    this.#abandonIfRedisDown().catch((e: unknown) => this.#report(e));
  }

  /**
   * A forced close does not wait for a Redis that is down: putting the aborted jobs back and
   * BullMQ's close would wait until it comes back. Drop the connection and stop waiting; those
   * jobs stay active in Redis and BullMQ's stalled-job check puts them back once their lock
   * expires, as for a dead machine.
   */
  async #abandonIfRedisDown(): Promise<void> {
    if (this.#worker && (await disconnectIfRedisDown(this.#worker))) this.#abandon();
  }

  /** A throwing listener must not decide the job's fate. */
  #emitSafely<K extends 'completed' | 'failed' | 'requeued' | 'result'>(event: K, ...args: ConsumerEvents<TResult>[K]): void {
    try {
      (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (error) {
      this.#report(error);
    }
  }

  #report(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.stderr.write(`looppool bullmq consumer ${this.#options.queueName}: ${err.stack ?? String(err)}\n`);
  }
}
