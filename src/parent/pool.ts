/**
 * `Pool`: the facade users hold. It owns the state machine and the submission path, and wires
 * the collaborators: the dispatcher (fair credits), the supervisor (processes), the task
 * outcomes (settling, retries, timeouts), the broadcaster and the result streams.
 */
import { EventEmitter } from 'node:events';
import { BroadcastError, PoolStoppedError, QueueFullError, TaskAbortedError, WorkerCrashedError, type PoolUnhealthyError } from '../errors.ts';
import { resolvePoolOptions, show, taskTimeoutOption, type PoolOptions, type ResolvedPoolOptions } from '../options.ts';
import { encodePayload } from '../transport/encode.ts';
import { Broadcaster } from './broadcaster.ts';
import { Dispatcher } from './dispatcher.ts';
import type { PoolEvents, PoolState, PoolStats } from './events.ts';
import { mapTasks, type MapOptions } from './map.ts';
import { TaskOutcomes } from './outcomes.ts';
import { ResultStream, type StreamedResult } from './result-stream.ts';
import { installSignalHandlers, type StopOnSignalsOptions } from './signals.ts';
import { Supervisor, type SupervisorHost } from './supervisor.ts';
import { PendingTask, type TaskMode } from './task.ts';
import { TaskQueue } from './task-queue.ts';
import { startPoolMetrics, type PoolMetrics } from '../metrics/pool-metrics.ts';
import type { MetricSource } from '../metrics/resource-reporter.ts';
import { formatBlockedStack, type LoopBlockedReport } from '../protocol/watchdog-report.ts';
import { captureBlockedLoop, captureCrash, captureTimeout } from '../sentry/capture.ts';
import { flushSentry, initSentry } from '../sentry/client.ts';
import type { WorkerHandle } from './worker-handle.ts';

export interface PutOptions {
  /** Send the task to this worker number (`0..size-1`) rather than the least busy one. */
  worker?: number;
  /** This task's `taskTimeout` in ms (overrides the pool's). */
  timeout?: number;
}
export interface RunOptions extends PutOptions {
  /** Cancels the task: a queued one is dropped, a running one sees its `ctx.signal` aborted. */
  signal?: AbortSignal;
  /** Called each time the task is sent to a worker (again after a retry), with that worker. */
  onDispatch?: (info: { worker: number; pid: number }) => void;
}
export interface StopOptions {
  /** Dispatch and finish the queued tasks first (`false`: reject them with PoolStoppedError). @default true */
  drain?: boolean;
  /** Milliseconds before the workers left are killed. @default the pool's `stopTimeout` */
  timeout?: number;
}

type Settler = { resolve(value: unknown): void; reject(error: Error): void };

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
  readonly #options: ResolvedPoolOptions;
  readonly #supervisor: Supervisor;
  readonly #queue: TaskQueue;
  readonly #outcomes: TaskOutcomes;
  readonly #broadcaster = new Broadcaster();
  readonly #streams = new Set<ResultStream<TResult>>();
  #state: PoolState = 'created';
  #nextId = 1;
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  #pilled = false;
  #terminating = false;
  /** Why the workers were killed rather than pilled, if they were. */
  #killedBecause: string | undefined;
  #unhealthy: PoolUnhealthyError | undefined;
  #metrics: PoolMetrics | undefined;
  readonly #metricSources = new Set<MetricSource>();

  constructor(options: PoolOptions) {
    super();
    this.#options = resolvePoolOptions(options);
    this.#outcomes = new TaskOutcomes(this.#options, {
      result: (value, info) => this.#emitResult(value, info),
      report: (event, error, info) => this.#report(event, error, info),
      requeue: (task) => dispatcher.requeue(task),
      settled: (task, ok) => this.#metrics?.pool.recordTask(task.startedAt - task.enqueuedAt, performance.now() - task.startedAt, ok),
      timedOut: () => this.#metrics?.pool.countTimeout(),
      timeoutFailed: (h, task, error) =>
        captureTimeout(error, { ...this.#tags(h), taskId: task.id, attempt: task.attempt, timeoutMs: task.timeout }, h.lastBlocked),
    });
    this.#supervisor = new Supervisor(this.#options, this.#host());
    const dispatcher = new Dispatcher<PendingTask>(this.#options.dispatch, this.#options.concurrency, (task, slot) => {
      const handle = this.#supervisor.handles[slot] as WorkerHandle;
      handle.sendTask(task);
      this.#outcomes.armTimeout(handle, task);
      task.onDispatch?.({ worker: handle.number, pid: handle.pid });
      if (handle.sent >= this.#options.maxTasksPerWorker) this.#supervisor.recycle(handle);
    });
    dispatcher.slots = this.#supervisor.handles;
    this.#queue = new TaskQueue(dispatcher, this.#options.maxQueue);
  }

  /** Number of worker processes. */
  get size(): number {
    return this.#options.size;
  }

  /** Tasks in flight per worker process at most. */
  get concurrency(): number {
    return this.#options.concurrency;
  }

  /** The pool's name (process titles, metric names). */
  get name(): string {
    return this.#options.name;
  }

  /**
   * Report extra per-interval metrics under the pool's statsd scope (with the `statsd` option;
   * otherwise a no-op): `source` returns `{ gauges, counters }` each interval. Returns a remover.
   */
  addMetricSource(source: MetricSource): () => void {
    this.#metricSources.add(source);
    const remove = this.#metrics?.pool.addSource(source);
    return () => {
      this.#metricSources.delete(source);
      remove?.();
    };
  }

  get state(): PoolState {
    return this.#state;
  }

  /**
   * Start every worker process; resolves once each one's `initialize()` finished. Rejects with a
   * `WorkerInitError` (and leaves no process behind) if one fails. Called by the first
   * `put`/`run` if you have not.
   */
  start(): Promise<void> {
    this.#startPromise ??= this.#start();
    return this.#startPromise;
  }

  async #start(): Promise<void> {
    if (this.#state !== 'created') throw new PoolStoppedError();
    this.#state = 'starting';
    if (this.#options.sentry) await initSentry({ ...this.#options.sentry, role: 'parent' });
    if (this.#options.statsd) {
      this.#metrics = startPoolMetrics(this, this.#options.statsd, { name: this.#options.name, interval: this.#options.reportInterval });
      this.#supervisor.initExtras = { metrics: this.#metrics.workerConfig };
      for (const source of this.#metricSources) this.#metrics.pool.addSource(source);
    }
    try {
      await this.#supervisor.start();
    } catch (error) {
      await Promise.all([this.#metrics?.close(), flushSentry(2000)]);
      this.#state = 'stopped';
      this.#rejectQueued(error as Error);
      this.#endStreams();
      throw error;
    }
    if (this.#state === 'starting') this.#state = 'running';
    this.#pump();
  }

  /**
   * Queue a task, waiting while the queue holds `maxQueue` tasks (backpressure). Resolves with the
   * task id once queued. Its return value (if not undefined) arrives as a `'result'` event, a
   * failure as `'taskError'`.
   */
  put(task: TTask, options: PutOptions = {}): Promise<number> {
    try {
      const pending = this.#create('put', task, options);
      if (!this.#queue.full) return Promise.resolve(this.#enqueue(pending));
      return new Promise((resolve, reject) => this.#queue.waitForRoom(pending, resolve, reject));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Like `put`, but throws `QueueFullError` instead of waiting. Returns the task id. */
  putNowait(task: TTask, options: PutOptions = {}): number {
    const pending = this.#create('put', task, options);
    if (this.#queue.full) throw new QueueFullError(this.#options.maxQueue);
    return this.#enqueue(pending);
  }

  /**
   * Run a task and wait for its result: resolves with `processMessage`'s return value, rejects
   * with a `TaskError` whose `cause` is the worker's error (name, message, stack, own properties).
   */
  run(task: TTask, options: RunOptions = {}): Promise<TResult> {
    return new Promise<TResult>((resolve, reject) => {
      const signal = options.signal;
      if (signal?.aborted) throw new TaskAbortedError(0, { cause: signal.reason });
      const pending = this.#create('run', task, options, { resolve: resolve as (v: unknown) => void, reject });
      if (signal) this.#watchSignal(pending, signal);
      if (options.onDispatch) pending.onDispatch = options.onDispatch;
      if (!this.#queue.full) this.#enqueue(pending);
      else this.#queue.waitForRoom(pending, () => {}, reject);
    });
  }

  /**
   * Run every item of `input` through the pool with at most `window` tasks in flight, yielding
   * results in input order (`ordered: true`, the default) or as they finish.
   */
  map(input: Iterable<TTask> | AsyncIterable<TTask>, options: MapOptions = {}): AsyncIterableIterator<TResult> {
    const window = options.window ?? this.#options.size * this.#options.concurrency;
    return mapTasks((task) => this.run(task), input, { ...options, window });
  }

  /** An async iterator over the result stream (the same values as `'result'` events), ending when the pool stops. */
  results(): AsyncIterableIterator<StreamedResult<TResult>> {
    const stream = new ResultStream<TResult>((s) => this.#streams.delete(s));
    if (this.#state === 'stopped') stream.end();
    else this.#streams.add(stream);
    return stream;
  }

  /**
   * Deliver `message` once to every live worker's `onBroadcast`; resolves when all have finished
   * it, with their return values by worker number (a barrier).
   */
  async broadcast(message: unknown): Promise<unknown[]> {
    if (this.#state === 'stopping' || this.#state === 'stopped') throw new PoolStoppedError();
    await this.start();
    const json = encodePayload(message, 'message', this.#options.maxMessageBytes);
    // Ready workers, and workers draining before a recycle: every process that will still run tasks.
    const live = this.#supervisor.live().filter((h) => h.state === 'ready' || h.state === 'stopping');
    return this.#broadcaster.send(live, json, message, this.size);
  }

  /**
   * Poison-pill shutdown: queued tasks are dispatched and finished first (unless `drain: false`),
   * then each worker gets the pill. A `Worker` exits at once (its in-flight tasks reject with
   * `WorkerStoppedError`); a `SafeWorker` finishes them. After `timeout` ms the workers left are
   * killed. Resolves when every worker process has exited.
   */
  stop(options: StopOptions = {}): Promise<void> {
    this.#stopPromise ??= this.#stop(options);
    return this.#stopPromise;
  }

  async #stop({ drain = true, timeout = this.#options.stopTimeout }: StopOptions): Promise<void> {
    if (typeof timeout !== 'number' || !(timeout >= 0)) throw new TypeError(`Expected \`timeout\` to be a number >= 0, got ${show(timeout)}`);
    if (this.#state === 'created') {
      this.#state = 'stopped';
      this.#endStreams();
      return;
    }
    if (this.#state === 'starting') await this.#startPromise?.catch(() => {});
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    this.#queue.rejectWaiting(new PoolStoppedError());
    if (!drain) this.#rejectQueued(new PoolStoppedError('The pool was stopped before the task was dispatched'));
    const timer = setTimeout(() => this.#forceStop('the stop timeout passed'), timeout);
    if (this.#terminating) this.#forceStop('the pool was terminated');
    else this.#maybePill();
    await this.#supervisor.whenEmpty();
    clearTimeout(timer);
    await Promise.all([this.#metrics?.close(), flushSentry(2000)]);
    this.#state = 'stopped';
    this.#endStreams();
  }

  /**
   * Stop at once: kill every worker (SIGKILL), reject every unfinished task (queued:
   * `PoolStoppedError`, running: `WorkerStoppedError`). Resolves when every process is gone.
   * Also escalates a `stop()` already under way.
   */
  terminate(): Promise<void> {
    this.#terminating = true;
    const stopping = this.stop({ drain: false });
    if (this.#state === 'stopping') this.#forceStop('the pool was terminated');
    return stopping;
  }

  /**
   * Stop on the process's signals (the library installs no handler unless you call this): the
   * first SIGINT/SIGTERM drains (`stop()`), the second terminates. Returns a function that
   * removes the handlers.
   */
  stopOnSignals(options: StopOnSignalsOptions = {}): () => void {
    return installSignalHandlers(this, options);
  }

  /** A plain snapshot of the pool's counters and of each worker. */
  stats(): PoolStats {
    const workers = this.#supervisor.handles.map((h, n) =>
      h
        ? { worker: n, pid: h.pid, state: h.state, inFlight: h.inFlight, done: h.done, failed: h.failed }
        : { worker: n, pid: -1, state: 'respawning' as const, inFlight: 0, done: 0, failed: 0 },
    );
    const o = this.#outcomes;
    return {
      state: this.#state,
      healthy: !this.#unhealthy,
      size: this.size,
      queued: this.#queue.length,
      inFlight: workers.reduce((sum, w) => sum + w.inFlight, 0),
      done: o.done,
      failed: o.failed,
      retried: o.retried,
      timedOut: o.timedOut,
      restarts: this.#supervisor.restarts,
      workers,
    };
  }

  #create(mode: TaskMode, task: TTask, options: PutOptions, settler?: Settler): PendingTask {
    if (this.#state === 'stopping' || this.#state === 'stopped') throw new PoolStoppedError();
    if (this.#unhealthy) throw this.#unhealthy;
    const target = options.worker ?? -1;
    if (target !== -1 && !(Number.isInteger(target) && target >= 0 && target < this.size)) {
      throw new TypeError(`Expected \`worker\` to be an integer from 0 to ${this.size - 1}, got ${show(target)}`);
    }
    const timeout = taskTimeoutOption(options.timeout) ?? this.#options.taskTimeout;
    const json = encodePayload(task, 'task', this.#options.maxMessageBytes);
    if (this.#state === 'created') void this.start().catch(() => {});
    const pending = new PendingTask(this.#nextId++, mode, json, task, target, settler);
    pending.timeout = timeout;
    return pending;
  }

  #enqueue(task: PendingTask): number {
    this.#queue.add(task);
    if (this.#state === 'running' || this.#state === 'stopping') this.#pump();
    return task.id;
  }

  #pump(): void {
    this.#queue.pump();
    if (this.#state === 'stopping') this.#maybePill();
  }

  #watchSignal(task: PendingTask, signal: AbortSignal): void {
    const onAbort = (): void => {
      if (task.worker < 0) this.#queue.cancel(task);
      else this.#supervisor.handles[task.worker]?.abortTask(task.id, 'abort');
      task.fail(new TaskAbortedError(task.id, { cause: signal.reason }));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    task.cleanup = () => signal.removeEventListener('abort', onAbort);
  }

  #maybePill(): void {
    if (this.#pilled || this.#queue.length > 0) return;
    this.#pilled = true;
    this.#supervisor.beginStop();
    this.#supervisor.pillAll();
  }

  #forceStop(why: string): void {
    this.#pilled = true;
    this.#killedBecause ??= why;
    this.#rejectQueued(new PoolStoppedError(`The pool stopped (${why}) before the task was dispatched`));
    this.#supervisor.killAll('stop');
  }

  #rejectQueued(error: Error): void {
    this.#queue.clear(error, (task, e) => this.#outcomes.fail(task, e));
  }

  #endStreams(): void {
    for (const stream of this.#streams) stream.end();
    this.#streams.clear();
  }

  #emitResult(value: unknown, info: { worker: number; pid: number; taskId: number | null }): void {
    for (const stream of this.#streams) stream.push(value as TResult, info);
    this.emit('result', value as TResult, info);
  }

  #report(event: 'taskError' | 'workerError', error: Error, info: Record<string, unknown>): void {
    if (this.listenerCount(event) > 0) (this.emit as (e: string, ...a: unknown[]) => boolean)(event, error, info);
    else process.stderr.write(`looppool ${this.#options.name}: ${event} ${JSON.stringify(info)}: ${error.stack ?? String(error)}\n`);
  }

  #host(): SupervisorHost {
    const o = (): TaskOutcomes => this.#outcomes;
    return {
      workerStarted: (h) => {
        this.emit('workerStart', { worker: h.number, pid: h.pid });
        this.#pump();
      },
      workerExited: (h, details, tasks) => {
        const expected = details.reason === 'stop' || details.reason === 'recycle';
        if (details.reason === 'crash' || details.reason === 'protocol') {
          captureCrash(new WorkerCrashedError({ worker: h.number, pid: h.pid, exitCode: details.exitCode, signal: details.signal }), { ...this.#tags(h), exitCode: details.exitCode, signal: details.signal });
        }
        this.emit('workerExit', { worker: h.number, pid: h.pid, exitCode: details.exitCode, signal: details.signal, expected, reason: details.reason });
        o().workerExited(h, details, tasks, this.#state === 'running' || this.#state === 'starting' || (this.#state === 'stopping' && !this.#pilled), this.#killedBecause);
        this.#broadcaster.workerGone(h, new PoolStoppedError(`Worker ${h.number} exited before it answered the broadcast`));
        this.#pump();
      },
      healthChanged: (error) => {
        this.#unhealthy = error;
        if (error) this.#rejectQueued(error);
        else this.#pump();
      },
      taskDone: (h, task, value) => {
        h.done++;
        o().succeeded(h, task, value);
        this.#pump();
      },
      taskFailed: (h, task, error, unsendable) => {
        h.failed++;
        o().threw(h, task, error, unsendable);
        this.#pump();
      },
      result: (h, taskId, value) => this.#emitResult(value, { worker: h.number, pid: h.pid, taskId }),
      broadcastReply: (h, id, outcome) =>
        this.#broadcaster.reply(h, id, 'error' in outcome ? { error: new BroadcastError(outcome.error, { worker: h.number, pid: h.pid }) } : outcome),
      uncaught: (h, error, origin) => this.#report('workerError', error, { worker: h.number, pid: h.pid, origin }),
      loopBlocked: (h, report) => this.#onLoopBlocked(h, report),
    };
  }

  #onLoopBlocked(h: WorkerHandle, report: LoopBlockedReport): void {
    h.lastBlocked = report;
    const info = { worker: h.number, pid: h.pid, blockedMs: report.blockedMs, frames: report.frames, stack: formatBlockedStack(report.frames), ...(report.stackUnavailable ? { stackUnavailable: report.stackUnavailable } : {}) };
    this.#metrics?.pool.countBlockedLoop(h.number);
    captureBlockedLoop(report, { ...this.#tags(h), taskIds: h.taskIds() });
    if (this.listenerCount('loopBlocked') > 0) this.emit('loopBlocked', info);
    else {
      const where = info.stack || `  (no stack: ${report.stackUnavailable ?? 'unknown'})`;
      process.stderr.write(`looppool ${this.#options.name}: worker ${h.number} (pid ${h.pid}) event loop blocked for ${report.blockedMs} ms at\n${where}\n`);
    }
  }

  #tags(h: WorkerHandle): { pool: string; worker: number; pid: number } {
    return { pool: this.#options.name, worker: h.number, pid: h.pid };
  }

}
