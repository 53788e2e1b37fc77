/**
 * `Pool`: the facade users hold. It owns the state machine and wires the collaborators — the
 * dispatcher (fair credits), the worker set (processes), the broadcaster and the result
 * streams — and settles every task exactly once.
 */
import { EventEmitter } from 'node:events';
import {
  BroadcastError, PoolStoppedError, QueueFullError, TaskAbortedError, TaskError, WorkerCrashedError,
  WorkerInitError, WorkerStoppedError,
} from '../errors.ts';
import { Deque } from '../internal/deque.ts';
import { rebuildSerializationError } from './rebuild-error.ts';
import { resolvePoolOptions, show, type PoolOptions, type ResolvedPoolOptions } from '../options.ts';
import { encodePayload } from '../transport/encode.ts';
import { Broadcaster } from './broadcaster.ts';
import { Dispatcher } from './dispatcher.ts';
import type { PoolEvents, PoolState, PoolStats } from './events.ts';
import { mapTasks, type MapOptions } from './map.ts';
import { ResultStream, type StreamedResult } from './result-stream.ts';
import { PendingTask, type TaskMode } from './task.ts';
import type { HandleEvents, WorkerHandle } from './worker-handle.ts';
import { WorkerSet } from './worker-set.ts';

export interface PutOptions {
  /** Send the task to this worker number (`0..size-1`) rather than the least busy one. */
  worker?: number;
}
export interface RunOptions extends PutOptions {
  /** Cancels the task: a queued one is dropped, a running one sees its `ctx.signal` aborted. */
  signal?: AbortSignal;
}
export interface StopOptions {
  /** Dispatch and finish the queued tasks first (`false`: reject them with PoolStoppedError). @default true */
  drain?: boolean;
  /** Milliseconds before the workers left are killed. @default the pool's `stopTimeout` */
  timeout?: number;
}

interface SpaceWaiter {
  readonly task: PendingTask;
  readonly resolve: (id: number) => void;
  readonly reject: (error: Error) => void;
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
  readonly #options: ResolvedPoolOptions;
  readonly #workers: WorkerSet;
  readonly #dispatcher: Dispatcher<PendingTask>;
  readonly #broadcaster = new Broadcaster();
  readonly #waiters = new Deque<SpaceWaiter>();
  readonly #streams = new Set<ResultStream<TResult>>();
  #state: PoolState = 'created';
  #nextId = 1;
  #done = 0;
  #failed = 0;
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  #pilled = false;
  #forced = false;
  #onStopped: (() => void) | undefined;
  #onStartSettled: ((error?: Error) => void) | undefined;

  constructor(options: PoolOptions) {
    super();
    this.#options = resolvePoolOptions(options);
    this.#workers = new WorkerSet(this.#options, this.#handleEvents());
    this.#dispatcher = new Dispatcher(this.#options.dispatch, this.#options.concurrency, (task, slot) =>
      (this.#workers.handles[slot] as WorkerHandle).sendTask(task),
    );
    this.#dispatcher.slots = this.#workers.handles;
  }

  /** Number of worker processes. */
  get size(): number {
    return this.#options.size;
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
    const settled = new Promise<Error | undefined>((resolve) => (this.#onStartSettled = resolve));
    this.#workers.spawnAll();
    const error = await settled;
    this.#onStartSettled = undefined;
    if (!error) {
      if (this.#state === 'starting') this.#state = 'running';
      this.#pump();
      return;
    }
    this.#state = 'stopping';
    this.#pilled = true; // no replacements: the pool is being taken down
    for (const handle of this.#workers.live()) handle.kill(true);
    await this.#whenAllExited();
    this.#state = 'stopped';
    this.#rejectQueued(error);
    this.#endStreams();
    throw error;
  }

  /**
   * Queue a task, waiting while the queue holds `maxQueue` tasks (backpressure). Resolves with the
   * task id once queued. Its return value (if not undefined) arrives as a `'result'` event, a
   * failure as `'taskError'`.
   */
  put(task: TTask, options: PutOptions = {}): Promise<number> {
    try {
      const pending = this.#create('put', task, options);
      if (!this.#queueFull()) return Promise.resolve(this.#enqueue(pending));
      return new Promise((resolve, reject) => this.#waiters.push({ task: pending, resolve, reject }));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Like `put`, but throws `QueueFullError` instead of waiting. Returns the task id. */
  putNowait(task: TTask, options: PutOptions = {}): number {
    const pending = this.#create('put', task, options);
    if (this.#queueFull()) throw new QueueFullError(this.#options.maxQueue);
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
      if (!this.#queueFull()) this.#enqueue(pending);
      else this.#waiters.push({ task: pending, resolve: () => {}, reject });
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
    const ready = this.#workers.live().filter((h) => h.state === 'ready');
    return this.#broadcaster.send(ready, json, message, this.size);
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
    const stopped = this.#whenAllExited();
    for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) this.#settleFailed(w.task, new PoolStoppedError(), w.reject);
    if (!drain) this.#rejectQueued(new PoolStoppedError('The pool was stopped before the task was dispatched'));
    const timer = setTimeout(() => this.#forceStop(), timeout);
    this.#maybePill();
    await stopped;
    clearTimeout(timer);
    this.#state = 'stopped';
    this.#endStreams();
  }

  /** A plain snapshot of the pool's counters and of each worker. */
  stats(): PoolStats {
    const workers = this.#workers.handles.map((h, n) =>
      h
        ? { worker: n, pid: h.pid, state: h.state, inFlight: h.inFlight, done: h.done, failed: h.failed }
        : { worker: n, pid: -1, state: 'respawning' as const, inFlight: 0, done: 0, failed: 0 },
    );
    return {
      state: this.#state,
      size: this.size,
      queued: this.#dispatcher.queued + this.#waiters.length,
      inFlight: workers.reduce((sum, w) => sum + w.inFlight, 0),
      done: this.#done,
      failed: this.#failed,
      restarts: this.#workers.restarts,
      workers,
    };
  }

  #create(mode: TaskMode, task: TTask, options: PutOptions, settler?: { resolve(v: unknown): void; reject(e: Error): void }): PendingTask {
    if (this.#state === 'stopping' || this.#state === 'stopped') throw new PoolStoppedError();
    const target = options.worker ?? -1;
    if (target !== -1 && !(Number.isInteger(target) && target >= 0 && target < this.size)) {
      throw new TypeError(`Expected \`worker\` to be an integer from 0 to ${this.size - 1}, got ${show(target)}`);
    }
    const json = encodePayload(task, 'task', this.#options.maxMessageBytes);
    if (this.#state === 'created') void this.start().catch(() => {});
    return new PendingTask(this.#nextId++, mode, json, task, target, settler);
  }

  #queueFull(): boolean {
    return this.#dispatcher.queued + this.#waiters.length >= this.#options.maxQueue;
  }

  #enqueue(task: PendingTask): number {
    this.#dispatcher.enqueue(task);
    if (this.#state === 'running' || this.#state === 'stopping') this.#pump();
    return task.id;
  }

  #pump(): void {
    this.#dispatcher.pump();
    while (this.#waiters.length > 0 && this.#dispatcher.queued < this.#options.maxQueue) {
      const waiter = this.#waiters.shift() as SpaceWaiter;
      if (waiter.task.settled) continue;
      this.#dispatcher.enqueue(waiter.task);
      waiter.resolve(waiter.task.id);
      this.#dispatcher.pump();
    }
    if (this.#state === 'stopping') this.#maybePill();
  }

  #watchSignal(task: PendingTask, signal: AbortSignal): void {
    const onAbort = (): void => {
      if (task.worker < 0) this.#dispatcher.cancel(task);
      else this.#workers.handles[task.worker]?.abortTask(task.id);
      task.fail(new TaskAbortedError(task.id, { cause: signal.reason }));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    task.cleanup = () => signal.removeEventListener('abort', onAbort);
  }

  #maybePill(): void {
    if (this.#pilled || this.#dispatcher.queued > 0 || this.#waiters.length > 0) return;
    this.#pilled = true;
    this.#workers.cancelRespawns();
    for (const handle of this.#workers.live()) handle.poisonPill();
    this.#checkStopped();
  }

  #forceStop(): void {
    this.#forced = true;
    this.#pilled = true;
    this.#workers.cancelRespawns();
    this.#rejectQueued(new PoolStoppedError('The pool stopped (timeout) before the task was dispatched'));
    for (const handle of this.#workers.live()) handle.kill(true);
    this.#checkStopped();
  }

  #whenAllExited(): Promise<void> {
    return new Promise((resolve) => {
      this.#onStopped = resolve;
      this.#checkStopped();
    });
  }

  #checkStopped(): void {
    if (this.#onStopped && this.#workers.empty) {
      const done = this.#onStopped;
      this.#onStopped = undefined;
      done();
    }
  }

  #rejectQueued(error: Error): void {
    for (const task of this.#dispatcher.takeAll()) this.#settleFailed(task, error);
  }

  #endStreams(): void {
    for (const stream of this.#streams) stream.end();
    this.#streams.clear();
  }

  #emitResult(value: unknown, worker: number, pid: number, taskId: number | null): void {
    const info = { worker, pid, taskId };
    for (const stream of this.#streams) stream.push(value as TResult, info);
    this.emit('result', value as TResult, info);
  }

  #settleFailed(task: PendingTask, error: Error, reject?: (e: Error) => void, pid = -1): void {
    if (!task.fail(error)) return;
    this.#failed++;
    reject?.(error);
    if (task.mode === 'put') this.#report('taskError', error, { taskId: task.id, worker: task.worker, pid });
  }

  #report(event: 'taskError' | 'workerError', error: Error, info: Record<string, unknown>): void {
    if (this.listenerCount(event) > 0) (this.emit as (e: string, ...a: unknown[]) => boolean)(event, error, info);
    else process.stderr.write(`looppool ${this.#options.name}: ${event} ${JSON.stringify(info)}: ${error.stack ?? String(error)}\n`);
  }

  #handleEvents(): HandleEvents {
    return {
      ready: (h) => {
        this.#workers.started(h);
        this.emit('workerStart', { worker: h.number, pid: h.pid });
        if (this.#state === 'starting' && this.#workers.handles.every((x) => x?.state === 'ready')) this.#onStartSettled?.();
        if (this.#state === 'stopping' && this.#pilled) h.poisonPill();
        this.#pump();
      },
      taskDone: (h, task, value) => {
        h.done++;
        if (task.fulfil(value)) {
          this.#done++;
          if (task.mode === 'put' && value !== undefined) this.#emitResult(value, h.number, h.pid, task.id);
        }
        this.#pump();
      },
      taskFailed: (h, task, error, unsendable) => {
        h.failed++;
        this.#settleFailed(task, unsendable ? rebuildSerializationError(error) : new TaskError(task.id, error, { worker: h.number, pid: h.pid }), undefined, h.pid);
        this.#pump();
      },
      result: (h, taskId, value) => this.#emitResult(value, h.number, h.pid, taskId),
      broadcastReply: (h, id, outcome) =>
        this.#broadcaster.reply(h, id, 'error' in outcome ? { error: new BroadcastError(outcome.error, { worker: h.number, pid: h.pid }) } : outcome),
      uncaught: (h, error, origin) => this.#report('workerError', error, { worker: h.number, pid: h.pid, origin }),
      exit: (h, exitCode, signal, tasks) => this.#onWorkerExit(h, exitCode, signal, tasks),
    };
  }

  #onWorkerExit(h: WorkerHandle, exitCode: number | null, signal: NodeJS.Signals | null, tasks: PendingTask[]): void {
    this.#workers.exited(h);
    const expected = h.expectedExit;
    this.emit('workerExit', { worker: h.number, pid: h.pid, exitCode, signal, expected });
    const ref = { worker: h.number, pid: h.pid };
    const error = expected
      ? new WorkerStoppedError(ref, this.#forced ? `Worker ${h.number} (pid ${h.pid}) was killed when the stop timeout passed` : undefined)
      : new WorkerCrashedError({ ...ref, exitCode, signal });
    for (const task of tasks) this.#settleFailed(task, error, undefined, h.pid);
    this.#broadcaster.workerGone(h, error);
    if (this.#state === 'starting' && h.initError) this.#onStartSettled?.(h.initError);
    else if (this.#state === 'starting') this.#onStartSettled?.(new WorkerInitError(error.message, { ...ref, module: this.#options.workerUrl }, { cause: error }));
    else if (!expected && (this.#state === 'running' || (this.#state === 'stopping' && !this.#pilled))) this.#workers.respawn(h.number);
    this.#checkStopped();
    this.#pump();
  }
}
