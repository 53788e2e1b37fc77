/**
 * `Pool`: the facade users hold — the public API, its documentation and its events. The
 * machinery is in `PoolCore`.
 */
import { EventEmitter } from 'node:events';
import { rethrowLater } from '../internal/user-callbacks.ts';
import type { MetricSource } from '../metrics/resource-reporter.ts';
import { resolvePoolOptions, type PoolOptions } from '../options.ts';
import { readBroadcastOptions, readStopOptions } from './call-options.ts';
import type { PoolEvents, PoolState, PoolStats } from './events.ts';
import { mapTasks, readMapArguments, type MapOptions } from './map.ts';
import { PoolCore } from './pool-core.ts';
import type { StreamedResult } from './result-stream.ts';
import { installSignalHandlers, type StopOnSignalsOptions } from './signals.ts';
import { NO_OPTIONS } from './submission.ts';

export interface PutOptions {
  /** Send the task to this worker number (`0..size-1`) rather than the least busy one. */
  worker?: number | undefined;
  /** This task's `taskTimeout` in ms (overrides the pool's). */
  timeout?: number | undefined;
}
export interface RunOptions extends PutOptions {
  /** Cancels the task: a queued one is dropped, a running one sees its `ctx.signal` aborted. */
  signal?: AbortSignal | undefined;
  /** Called each time the task is sent to a worker (again after a retry), with that worker. */
  onDispatch?: ((info: { worker: number; pid: number }) => void) | undefined;
  /** Called at once with the task's id (the `info.taskId` of the results it streams). */
  onSubmit?: ((taskId: number) => void) | undefined;
}
export interface BroadcastOptions {
  /**
   * Milliseconds the workers have to answer; then the broadcast rejects with
   * `BroadcastTimeoutError` (their `onBroadcast` calls go on). @default Infinity (no limit)
   */
  timeout?: number | undefined;
}
export interface StopOptions {
  /** Dispatch and finish the queued tasks first (`false`: reject them with PoolStoppedError). @default true */
  drain?: boolean | undefined;
  /** Milliseconds before the workers left are killed. @default the pool's `stopTimeout` */
  timeout?: number | undefined;
}

/**
 * A pool of worker processes, each running one instance of your `Worker` subclass with many
 * tasks in flight.
 *
 * @example
 * ```ts
 * const pool = new Pool<string, number>({ worker: './count-words.ts', size: 4 });
 * await pool.start();
 * console.log(await pool.run('some text'));
 * await pool.stop();
 * ```
 */
export class Pool<TTask = unknown, TResult = unknown> extends EventEmitter<PoolEvents<TResult>> {
  readonly #core: PoolCore;
  readonly #autoStart = (): void => void this.start().catch(() => {});

  /** @throws {TypeError} naming the option and the value, for an invalid option. */
  constructor(options: PoolOptions) {
    super();
    const deliver = (event: keyof PoolEvents<TResult>, ...args: unknown[]): boolean => {
      // Listeners run inside the pool's handling of a worker's message (see user-callbacks.ts).
      try {
        return (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
      } catch (error) {
        rethrowLater(error);
        return true;
      }
    };
    const heard = (event: keyof PoolEvents<TResult>, ...args: unknown[]): boolean => this.listenerCount(event) > 0 && deliver(event, ...args);
    this.#core = new PoolCore(resolvePoolOptions(options), {
      result: (value, info) => deliver('result', value, info),
      taskError: (error, info) => heard('taskError', error, info),
      workerError: (error, info) => heard('workerError', error, info),
      workerStart: (info) => deliver('workerStart', info),
      workerExit: (info) => deliver('workerExit', info),
      loopBlocked: (info) => heard('loopBlocked', info),
    });
  }

  /** Number of worker processes. */
  get size(): number {
    return this.#core.options.size;
  }

  /** Tasks in flight per worker process at most. */
  get concurrency(): number {
    return this.#core.options.concurrency;
  }

  /** The pool's name (process titles, metric names). */
  get name(): string {
    return this.#core.options.name;
  }

  /** `'created'`, `'starting'`, `'running'`, `'stopping'` or `'stopped'`. */
  get state(): PoolState {
    return this.#core.state;
  }

  /**
   * Start every worker process; resolves once each one's `initialize()` finished. Rejects with a
   * `WorkerInitError` (and leaves no process behind) if one fails. Called by the first
   * `put`/`run`/`broadcast` if you have not.
   */
  start(): Promise<void> {
    return this.#core.start(this);
  }

  /**
   * Queue a task, waiting while the queue holds `maxQueue` tasks (backpressure). Resolves with the
   * task id once queued. Its return value (if not undefined) arrives as a `'result'` event, a
   * failure as `'taskError'`.
   */
  put(task: TTask, options: PutOptions = NO_OPTIONS): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#core.put(task, options, this.#autoStart, { queued: resolve, refused: reject });
    });
  }

  /** Like `put`, but throws `QueueFullError` instead of waiting. Returns the task id. */
  putNowait(task: TTask, options: PutOptions = NO_OPTIONS): number {
    return this.#core.put(task, options, this.#autoStart);
  }

  /**
   * Run a task and wait for its result: resolves with `processMessage`'s return value, rejects
   * with a `TaskError` whose `cause` is the worker's error (name, message, stack, own properties).
   */
  run(task: TTask, options: RunOptions = NO_OPTIONS): Promise<TResult> {
    return new Promise<TResult>((resolve, reject) => {
      this.#core.run(task, options, this.#autoStart, resolve as (v: unknown) => void, reject);
    });
  }

  /**
   * Run every item of `input` through the pool with at most `window` tasks in flight, yielding
   * results in input order (`ordered: true`, the default) or as they finish.
   */
  map(input: Iterable<TTask> | AsyncIterable<TTask>, options: MapOptions = {}): AsyncIterableIterator<TResult> {
    const read = readMapArguments(input, options); // each option read once: what is checked is what is used
    // Capped: at a concurrency of 2^52 or more the product is past a safe integer, which checkWindow refuses.
    const window = read.window ?? Math.min(this.size * this.concurrency, Number.MAX_SAFE_INTEGER);
    const { signal, timeout } = read;
    // One options object for every task: the pool listens to a shared signal once.
    const perTask: RunOptions = signal === undefined && timeout === undefined ? NO_OPTIONS : { ...(signal && { signal }), ...(timeout !== undefined && { timeout }) };
    return mapTasks((task) => this.run(task, perTask), input, { ...read, window });
  }

  /** An async iterator over the result stream (the same values as `'result'` events), ending when the pool stops. */
  results(): AsyncIterableIterator<StreamedResult<TResult>> {
    return this.#core.results() as AsyncIterableIterator<StreamedResult<TResult>>;
  }

  /**
   * Deliver `message` once to every live worker's `onBroadcast`; resolves when all have finished
   * it, with their return values by worker number (a barrier). With `timeout`, rejects with
   * `BroadcastTimeoutError` if some have not answered by then.
   */
  broadcast(message: unknown, options: BroadcastOptions = {}): Promise<unknown[]> {
    let timeout: number;
    try {
      timeout = readBroadcastOptions(options).timeout;
    } catch (error) {
      return Promise.reject(error as TypeError); // this call only: the pool runs on
    }
    return this.#core.broadcast(message, timeout, () => this.start());
  }

  /**
   * Poison-pill shutdown: queued tasks are dispatched and finished first (unless `drain: false`),
   * then each worker gets the pill. A `Worker` exits at once (the tasks it still holds reject
   * with `WorkerStoppedError`); a `SafeWorker` finishes them. After `timeout` ms the workers left are
   * killed. Resolves when every worker process has exited. Calling it again returns the same promise.
   */
  stop(options: StopOptions = {}): Promise<void> {
    let read: StopOptions;
    try {
      read = readStopOptions(options); // each option read once: what is checked is what is used
    } catch (error) {
      return Promise.reject(error as TypeError); // as for a bad timeout: this call only, the pool runs on
    }
    return this.#core.stop(read.drain ?? true, read.timeout ?? this.#core.options.stopTimeout);
  }

  /**
   * For `await using pool = new Pool(...)`: when the block ends (also by a throw), the pool is
   * stopped as by `stop()` with its defaults, and the block's end waits for it.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Stop at once: kill every worker (SIGKILL), reject every unfinished task (queued:
   * `PoolStoppedError`, running: `WorkerStoppedError`). Resolves when every process is gone.
   * Also escalates a `stop()` already under way.
   */
  terminate(): Promise<void> {
    return this.#core.terminate();
  }

  /**
   * Stop on the process's signals (the library installs no handler unless you call this): the
   * first SIGINT/SIGTERM drains (`stop()`), the second terminates. Pass `signals` to add others,
   * such as 'SIGHUP' (a terminal closing, an SSH session dropping; workers ignore it). Returns a
   * function that removes the handlers.
   */
  stopOnSignals(options: StopOnSignalsOptions = {}): () => void {
    const remove = installSignalHandlers(this, options);
    // A stopped pool lets go of the signals: the next one does what it would without the pool.
    this.#core.whenStopped(remove);
    return remove;
  }

  /** A plain snapshot of the pool's counters and of each worker. */
  stats(): PoolStats {
    return this.#core.stats();
  }

  /**
   * Report extra per-interval metrics under the pool's statsd scope (with the `statsd` option;
   * otherwise a no-op): `source` returns `{ gauges, counters }` each interval, synchronously (a
   * promise sends nothing). A throw is reported once and costs only its figures. Returns a remover.
   */
  addMetricSource(source: MetricSource): () => void {
    return this.#core.addMetricSource(source);
  }
}
