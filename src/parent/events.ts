/** The pool's public event and snapshot types. */
import type { TaskFailure, WorkerInitError } from '../errors.ts';

/**
 * Where an error that escaped a worker's tasks came from: its uncaught exception or unhandled
 * rejection, its `dispose()` (during its stop), or a message of its that broke the protocol.
 */
export type WorkerErrorOrigin = 'uncaughtException' | 'unhandledRejection' | 'dispose' | 'protocol';

/** Where a streamed result came from. */
export interface ResultInfo {
  /** Worker number. */
  readonly worker: number;
  readonly pid: number;
  /** The task it belongs to (the id `put`/`putNowait` returned), or null for `this.putResult` outside a task. */
  readonly taskId: number | null;
}

export interface TaskErrorInfo {
  readonly taskId: number;
  /**
   * The worker that ran it, or -1 if it never ran. A task retried after its worker died that
   * fails before it is sent again (the pool stops, say) names the worker that died with it.
   */
  readonly worker: number;
  /** That worker's process id (for a retried task, the process that died), or -1 with `worker`. */
  readonly pid: number;
}

export interface WorkerInfo {
  readonly worker: number;
  readonly pid: number;
}

export interface WorkerExitInfo extends WorkerInfo {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when the pool asked it to go (stop or recycle). */
  readonly expected: boolean;
  /** Why it ended: 'stop', 'recycle', 'timeout' (hard task timeout, or not ready within `startTimeout`), 'protocol', 'error' (an error escaped its tasks), 'crash'. */
  readonly reason: 'stop' | 'recycle' | 'timeout' | 'protocol' | 'error' | 'crash';
  /** Set when it ended before it was ever ready (a start or a replacement's start failed): why, its `cause` the worker's own error. */
  readonly startError?: WorkerInitError;
}

/** A worker's event loop is blocked (reported while it still is, by the worker's watchdog thread). */
export interface LoopBlockedInfo extends WorkerInfo {
  /** How long the loop had been blocked when it was reported, in ms (the block may go on). */
  readonly blockedMs: number;
  /** The blocking stack, innermost first: function name, file URL, 1-based line and column. */
  readonly frames: readonly { readonly functionName: string; readonly url: string; readonly line: number; readonly column: number }[];
  /** The same frames as text, one `    at fn (file:line:column)` line each. */
  readonly stack: string;
  /** Why there are no frames: a debugger is attached, the block is inside native code, or it ended before the stack was read. */
  readonly stackUnavailable?: 'inspectorInUse' | 'captureTimeout' | 'captureFailed' | 'blockEnded';
}

/** Listener signatures of `pool.on(…)`. */
export interface PoolEvents<TResult = unknown> {
  /** A result streamed with `putResult`, or the return value of a `put` task (when not undefined). */
  result: [value: TResult, info: ResultInfo];
  /** A `put` task failed (`run` tasks reject their promise instead): switch on `error.code`. Logged to stderr when nobody listens. */
  taskError: [error: TaskFailure, info: TaskErrorInfo];
  /** A worker process finished `initialize()` and takes tasks. */
  workerStart: [info: WorkerInfo];
  /** A worker process exited. */
  workerExit: [info: WorkerExitInfo];
  /** An error escaped every task in a worker (uncaught exception, unhandled rejection, protocol breach). Logged to stderr when nobody listens. */
  workerError: [error: Error, info: WorkerInfo & { origin: WorkerErrorOrigin }];
  /** A worker's event loop was blocked longer than `blockedLoopThreshold`. Logged to stderr when nobody listens. */
  loopBlocked: [info: LoopBlockedInfo];
}

export interface WorkerStats {
  readonly worker: number;
  readonly pid: number;
  readonly state: 'starting' | 'ready' | 'stopping' | 'exited' | 'respawning';
  readonly inFlight: number;
  readonly done: number;
  readonly failed: number;
}

/** `pool.stats()`: a plain snapshot. */
export interface PoolStats {
  readonly state: PoolState;
  /** False while workers keep failing to start (tasks fail fast with PoolUnhealthyError). */
  readonly healthy: boolean;
  readonly size: number;
  readonly queued: number;
  readonly inFlight: number;
  /** Tasks settled with a value. */
  readonly done: number;
  /** Tasks settled with an error, those aborted by their caller's signal too. */
  readonly failed: number;
  /** Tasks queued again after their worker died (`retries`), counted when queued: one the pool then rejects (unhealthy, stopped) counts too. */
  readonly retried: number;
  /** Tasks that crossed their `taskTimeout`. */
  readonly timedOut: number;
  /** Tasks a busy worker handed back unstarted, sent again to a worker that ran out of tasks. */
  readonly handedBack: number;
  /** Replacement processes started (after a crash, a failed start or a recycle); one that was due but cancelled is not. */
  readonly restarts: number;
  readonly workers: readonly WorkerStats[];
}

export type PoolState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';
