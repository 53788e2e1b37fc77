/**
 * `BullmqConsumer`: makes a pool a BullMQ worker. BullMQ fetches up to the pool's capacity of
 * jobs; each job's data runs as one task (`pool.run(job.data)`), its result completes the job,
 * its failure fails the job (BullMQ then retries it per `attempts`/`backoff`). The attempts
 * themselves are job-attempts.ts's; this class keeps the consumer's life (start, pause, close).
 */
import { EventEmitter } from 'node:events';
import type { Job, Worker } from 'bullmq';
import { PoolStoppedError } from '../errors.ts';
import type { CloseOptions, ConsumerEvents, ConsumerState, ConsumerStats } from './consumer-types.ts';
import { HeldJobs, holdingWorker } from './held.ts';
import { Holds } from './holds.ts';
import { readingWorker } from './job-data.ts';
import { Outcomes } from './outcomes.ts';
import { JobAttempts } from './job-attempts.ts';
import { assertRedisDriver, loadBullmq, type BullmqModule } from './load.ts';
import { consumerMetricSource } from './metric-source.ts';
import { disconnectIfRedisDown, whenConnected, whenReady } from './ready.ts';
import { StreamedResults } from './streamed.ts';
import { readCloseOptions, resolveConsumerOptions, type ConsumablePool, type ConsumerOptions, type ResolvedConsumerOptions } from './options.ts';

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
  #worker: Worker<TTask, TResult> | undefined;
  #running: Promise<void> | undefined;
  #state: ConsumerState = 'created';
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
  /** The jobs BullMQ has handed over and not finished with: `stats().active`. */
  readonly #held = new HeldJobs();
  /** The results the jobs' tasks stream, emitted with their job. */
  readonly #streamed = new StreamedResults((value, info) => this.#emitSafely('result', value, info));
  /** The jobs BullMQ hands over, each run as one pool task. */
  readonly #attempts: JobAttempts<TTask, TResult>;
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
    this.#attempts = new JobAttempts<TTask, TResult>({
      pool, options: this.#options, holds: this.#holds, outcomes: this.#outcomes, streamed: this.#streamed, held: this.#held,
      isClosing: () => this.#closePromise !== undefined,
      isRunning: () => this.#state === 'running',
      close: () => this.close(),
      checkLimit: () => this.#checkLimit(),
      report: (error) => this.#report(error),
      requeued: (info) => this.#emitSafely('requeued', info),
    });
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
    let force: boolean | undefined;
    try {
      force = readCloseOptions(options).force;
    } catch (error) {
      return Promise.reject(error as TypeError); // this call only: nothing is closed
    }
    this.#closePromise ??= this.#close();
    if (force) this.#abortActive();
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
      active: this.#held.count,
      taken: this.#attempts.taken,
      completed: this.#outcomes.completed,
      failed: this.#outcomes.failed,
      requeued: this.#attempts.requeued,
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
      this.#attempts.process(bullmq, job, token, signal);
    // A job whose data is not JSON is fetched, and failed (job-data.ts); each job is held until BullMQ is done with it (held.ts).
    const Worker = holdingWorker(readingWorker(bullmq), this.#held);
    const worker = new Worker<TTask, TResult>(o.queueName, processor, {
      ...o.workerOptions,
      connection: o.connection,
      concurrency: o.maxJobs === undefined ? o.capacity : Math.min(o.capacity, o.maxJobs),
      autorun: false,
      name: o.workerName,
    });
    // While starting, whenReady() reports the connection errors (as the cause of its own).
    worker.on('error', (error) => this.#state !== 'starting' && this.#report(error));
    // Emitted once the job is completed or failed in Redis, not when its task settled.
    worker.on('completed', (job) => {
      this.#held.release(job);
      this.#outcomes.moved(job, undefined);
    });
    worker.on('failed', (job, error) => {
      if (job) this.#held.release(job);
      if (job && !this.#outcomes.awaits(job)) this.#attempts.failedUnrun(job, error);
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
    this.#holds.set('limit', counted + this.#attempts.active >= max);
  }

  #abortActive(): void {
    this.#attempts.abortAll();
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
