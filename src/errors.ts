/**
 * The error hierarchy of looppool. Every error the library raises is a {@link PoolError}
 * with a stable `name` and `code`; the names and codes are part of the public contract.
 * Errors thrown inside a worker come back as {@link TaskError} whose `cause` is the remote
 * error rebuilt with its name, message, stack and own properties.
 */

/** What a pool error says about the worker process involved, when one was. */
export interface WorkerRef {
  /** Worker number, `0..size-1`; kept by a replacement process. */
  readonly worker?: number | undefined;
  /** Process id of the child, for diagnostics only. */
  readonly pid?: number | undefined;
}

/** Base class of every error looppool raises. */
export class PoolError extends Error {
  /** Stable machine-readable code, e.g. `ERR_POOL_STOPPED`. */
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, 'name', { value: new.target.name, configurable: true, writable: true });
  }
}

/** `put`/`run`/`broadcast` after `stop()`, or a queued task dropped by `stop({ drain: false })`. */
export class PoolStoppedError extends PoolError {
  declare readonly code: 'ERR_POOL_STOPPED';
  constructor(message = 'The pool is stopped or stopping', options?: ErrorOptions) {
    super(message, 'ERR_POOL_STOPPED', options);
  }
}

/** `putNowait` while the parent's queue holds `maxQueue` tasks (at 0: while no worker has a free credit for the task). */
export class QueueFullError extends PoolError {
  declare readonly code: 'ERR_QUEUE_FULL';
  readonly maxQueue: number;
  constructor(maxQueue: number) {
    super(`The pool's queue is full (maxQueue ${maxQueue})`, 'ERR_QUEUE_FULL');
    this.maxQueue = maxQueue;
  }
}

/**
 * A worker process could not start. `stage`: `'load'`: the module is missing, does not load,
 * exports no Worker, or the Worker's constructor threw; `'initialize'`: its `initialize()`
 * threw; `'exit'`: the process died before it was ready; `'timeout'`: it was not ready within
 * `startTimeout` and was killed; `'spawn'`: its process could not be started at all (the cause is
 * spawn()'s error: ENOENT, EAGAIN, EMFILE, Node's permission model's ERR_ACCESS_DENIED, and so on).
 */
export class WorkerInitError extends PoolError implements WorkerRef {
  declare readonly code: 'ERR_WORKER_INIT';
  readonly worker: number | undefined;
  readonly pid: number | undefined;
  readonly module: string;
  readonly stage: 'load' | 'initialize' | 'exit' | 'timeout' | 'spawn';
  constructor(message: string, ref: WorkerRef & { module: string; stage: 'load' | 'initialize' | 'exit' | 'timeout' | 'spawn' }, options?: ErrorOptions) {
    super(message, 'ERR_WORKER_INIT', options);
    this.worker = ref.worker;
    this.pid = ref.pid;
    this.module = ref.module;
    this.stage = ref.stage;
  }
}

/** The worker process running the task exited or was killed before the task settled. */
export class WorkerCrashedError extends PoolError implements WorkerRef {
  declare readonly code: 'ERR_WORKER_CRASHED' | 'ERR_POISON_TASK';
  readonly worker: number | undefined;
  readonly pid: number | undefined;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  constructor(
    ref: WorkerRef & { exitCode: number | null; signal: NodeJS.Signals | null; reason?: string },
    options?: ErrorOptions,
  ) {
    const how = ref.signal === null ? `exit code ${ref.exitCode}` : `signal ${ref.signal}`;
    super(
      `Worker ${ref.worker} (pid ${ref.pid}) ${ref.reason ?? 'exited unexpectedly'} (${how})`,
      'ERR_WORKER_CRASHED',
      options,
    );
    this.worker = ref.worker;
    this.pid = ref.pid;
    this.exitCode = ref.exitCode;
    this.signal = ref.signal;
  }
}

/** A plain `Worker` received the poison pill (or the stop timeout passed) while the task ran. */
export class WorkerStoppedError extends PoolError implements WorkerRef {
  declare readonly code: 'ERR_WORKER_STOPPED';
  readonly worker: number | undefined;
  readonly pid: number | undefined;
  constructor(ref: WorkerRef, message?: string) {
    super(
      message ?? `Worker ${ref.worker} (pid ${ref.pid}) was stopped before the task finished`,
      'ERR_WORKER_STOPPED',
    );
    this.worker = ref.worker;
    this.pid = ref.pid;
  }
}

/**
 * The task's `AbortSignal` fired. `cause` is the signal's reason. `taskId` is 0 when no task had
 * an id yet: a signal already aborted when `run()` was called, or a `map()` cancelled as a whole.
 */
export class TaskAbortedError extends PoolError {
  declare readonly code: 'ERR_TASK_ABORTED';
  readonly taskId: number;
  constructor(taskId: number, options?: ErrorOptions, message = `Task ${taskId} was aborted`) {
    super(message, 'ERR_TASK_ABORTED', options);
    this.taskId = taskId;
  }
}

/**
 * An error rebuilt from a worker's: an `Error`, with the own properties it had (`code`, ...).
 * `code` is named, so that `error.cause.code` compiles under `noPropertyAccessFromIndexSignature`.
 */
export type RemoteError = Error & { readonly code?: unknown } & Readonly<Record<string, unknown>>;

/** The task threw or its promise rejected inside the worker. `cause` is the remote error, rebuilt. */
export class TaskError extends PoolError implements WorkerRef {
  declare readonly code: 'ERR_TASK_FAILED';
  /** The worker's error, rebuilt: its class where it is a built-in one, its own properties (`code`...) kept. */
  declare readonly cause: RemoteError;
  readonly taskId: number;
  readonly worker: number | undefined;
  readonly pid: number | undefined;
  constructor(taskId: number, remote: Error, ref: WorkerRef) {
    super(remote.message, 'ERR_TASK_FAILED', { cause: remote });
    this.taskId = taskId;
    this.worker = ref.worker;
    this.pid = ref.pid;
    // The useful stack is the worker's: show it, under our name. Its header is the remote
    // `name: message`, of as many lines as the message has: kept once, not its lines again.
    const stack = remote.stack ?? '';
    const header = remote.message ? `${remote.name}: ${remote.message}` : remote.name;
    const frames = stack.startsWith(`${header}\n`) ? stack.slice(header.length + 1) : stack.split('\n').slice(1).join('\n');
    if (frames) this.stack = `TaskError: ${header}\n${frames}`;
  }
}

/** The reasons a value cannot cross the channel. */
export type SerializationReason = 'function' | 'symbol' | 'class' | 'depth' | 'size' | 'unsupported';

/** A task, result or broadcast message cannot be carried between processes without being altered. */
export class SerializationError extends PoolError {
  declare readonly code: 'ERR_SERIALIZATION';
  readonly reason: SerializationReason;
  /** Where the offending value sits, e.g. `task.items[3].callback` (a long key, or a path many levels deep, shortened). */
  readonly path: string;
  constructor(reason: SerializationReason, path: string, detail: string, options?: ErrorOptions) {
    super(`Cannot send ${path}: ${detail}`, 'ERR_SERIALIZATION', options);
    this.reason = reason;
    this.path = path;
  }
}

/**
 * Thrown in the worker, to the caller of `putResult`, when the result would not be delivered:
 * `ctx.putResult` once its task has settled (or a plain `Worker`'s stop abandoned it),
 * `this.putResult` before `initialize()` has returned or once `dispose()` has begun, and either
 * while the process exits after an error that escaped its tasks.
 */
export class ResultClosedError extends PoolError {
  declare readonly code: 'ERR_RESULT_CLOSED';
  /** The task whose `ctx.putResult` was called; null for the worker's own `this.putResult`. */
  readonly taskId: number | null;
  constructor(taskId: number | null, why: string) {
    super(`Cannot put a result ${taskId === null ? 'outside a task' : `for task ${taskId}`}: ${why}`, 'ERR_RESULT_CLOSED');
    this.taskId = taskId;
  }
}

/** The getters of `Worker` that only a pool can give a value. */
export type WorkerPoolProperty = 'number' | 'workerData' | 'poolName';

/**
 * Thrown in the worker by `this.number`, `this.workerData` and `this.poolName` read where no pool
 * has given them a value: in the worker's constructor (the pool binds the instance just after),
 * or in an instance made outside a pool (`new MyWorker()` in a unit test). They are set from
 * `initialize()` on, in a worker a `Pool` started.
 */
export class WorkerNotInPoolError extends PoolError {
  declare readonly code: 'ERR_WORKER_NOT_IN_POOL';
  /** The getter that was read. */
  readonly property: WorkerPoolProperty;
  constructor(property: WorkerPoolProperty) {
    super(
      `Cannot read this.${property}: this worker is not running in a pool (in its constructor, or made with new outside one, as in a unit test). ` +
        `A worker a Pool started has it from initialize() on: read it there or later`,
      'ERR_WORKER_NOT_IN_POOL',
    );
    this.property = property;
  }
}

/** A child broke the message protocol (malformed, foreign or unknown message); it is replaced. */
export class ProtocolError extends PoolError implements WorkerRef {
  declare readonly code: 'ERR_PROTOCOL';
  readonly worker: number | undefined;
  readonly pid: number | undefined;
  constructor(message: string, ref: WorkerRef = {}) {
    super(message, 'ERR_PROTOCOL');
    this.worker = ref.worker;
    this.pid = ref.pid;
  }
}

/** A worker's `onBroadcast` threw; `cause` is its error, rebuilt. */
export class BroadcastError extends PoolError implements WorkerRef {
  declare readonly code: 'ERR_BROADCAST_FAILED';
  /** The worker's error, rebuilt (as a {@link TaskError}'s). */
  declare readonly cause: RemoteError;
  readonly worker: number | undefined;
  readonly pid: number | undefined;
  constructor(remote: Error, ref: WorkerRef) {
    super(`Worker ${ref.worker} failed the broadcast: ${remote.name}: ${remote.message}`, 'ERR_BROADCAST_FAILED', { cause: remote });
    this.worker = ref.worker;
    this.pid = ref.pid;
  }
}

/**
 * `broadcast(message, { timeout })`: some workers had not answered within `timeout` ms. `workers`:
 * their numbers. Their `onBroadcast` calls go on (nothing stops them); their late answers are dropped.
 */
export class BroadcastTimeoutError extends PoolError {
  declare readonly code: 'ERR_BROADCAST_TIMEOUT';
  readonly timeout: number;
  readonly workers: readonly number[];
  constructor(timeout: number, workers: readonly number[]) {
    const who = workers.length === 1 ? `worker ${workers[0]}` : `workers ${workers.join(', ')}`;
    super(`The broadcast was not answered within ${timeout} ms by ${who}`, 'ERR_BROADCAST_TIMEOUT');
    this.timeout = timeout;
    this.workers = Object.freeze([...workers]);
  }
}

/**
 * A task crossed its `taskTimeout`. `phase` `'soft'`: its signal was aborted and it then failed
 * (`cause` is its error: a `TaskError`, or the `WorkerCrashedError` or `WorkerStoppedError` of its
 * worker's exit) or did not settle within the grace while its worker's loop kept turning;
 * `'hard'`: the worker's loop was blocked, so the worker was killed and replaced.
 */
export class TaskTimeoutError extends PoolError implements WorkerRef {
  declare readonly code: 'ERR_TASK_TIMEOUT';
  readonly taskId: number;
  readonly phase: 'soft' | 'hard';
  readonly timeout: number;
  readonly worker: number | undefined;
  readonly pid: number | undefined;
  constructor(taskId: number, phase: 'soft' | 'hard', timeout: number, ref: WorkerRef, options?: ErrorOptions) {
    const cause = options?.cause;
    const what =
      phase === 'hard'
        ? 'its worker was blocked and has been killed'
        : cause instanceof WorkerCrashedError
          ? 'its worker died after its signal was aborted'
          : cause instanceof WorkerStoppedError
            ? 'its worker was stopped after its signal was aborted'
            : cause
              ? 'it failed after its signal was aborted'
              : 'it did not stop when its signal was aborted';
    super(`Task ${taskId} timed out after ${timeout} ms (${what})`, 'ERR_TASK_TIMEOUT', options);
    this.taskId = taskId;
    this.phase = phase;
    this.timeout = timeout;
    this.worker = ref.worker;
    this.pid = ref.pid;
  }
}

/** Ran alone on workers that died twice: the task is failed instead of killing the pool one worker at a time. */
export class PoisonTaskError extends WorkerCrashedError {
  declare readonly code: 'ERR_POISON_TASK';
  constructor(ref: WorkerRef & { exitCode: number | null; signal: NodeJS.Signals | null }) {
    super({ ...ref, reason: 'died running this task alone, for the second time (poison task)' });
    Object.defineProperty(this, 'code', { value: 'ERR_POISON_TASK' });
  }
}

/**
 * What a `put` task fails with: the error of the pool's `'taskError'` event. Each class has a
 * `code` of its own, so `switch (error.code)` narrows it to its class: its task's error
 * (`ERR_TASK_FAILED`), a result that could not be sent (`ERR_SERIALIZATION`), a timeout, its
 * worker crashed (`ERR_POISON_TASK`: crashed twice running it alone) or stopped, or it never ran:
 * the pool stopped, turned unhealthy, or failed to start (`ERR_WORKER_INIT`). A `put` task takes
 * no signal, so it is never a {@link TaskAbortedError}.
 */
export type TaskFailure =
  | TaskError | SerializationError | TaskTimeoutError | WorkerCrashedError | PoisonTaskError | WorkerStoppedError
  | PoolStoppedError | PoolUnhealthyError | WorkerInitError;

/** Workers keep failing to start: the pool stopped respawning for a while. `cause` is the last start failure. */
export class PoolUnhealthyError extends PoolError {
  declare readonly code: 'ERR_POOL_UNHEALTHY';
  /** Worker starts in a row that had failed when the pool turned unhealthy. */
  readonly failures: number;
  constructor(failures: number, cause: Error | undefined) {
    super(
      `The pool is unhealthy: ${failures} worker starts in a row failed${cause ? ` (last: ${cause.message})` : ''}`,
      'ERR_POOL_UNHEALTHY',
      cause ? { cause } : undefined,
    );
    this.failures = failures;
  }
}
