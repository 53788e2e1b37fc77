/** What a worker handle reports to its pool, its states, and why a worker process ended (types only). */
import type { LoopBlockedReport } from '../protocol/watchdog-report.ts';
import type { WorkerErrorOrigin } from './events.ts';
import type { PendingTask } from './task.ts';

/** A worker handle's states, in order; one that never was ready goes from starting to exited. */
export type HandleState = 'starting' | 'ready' | 'stopping' | 'exited';

/**
 * Why a worker process ended: `stop` (poison pill or killed while the pool stops), `recycle`
 * (maxTasksPerWorker/maxMemoryPerWorker: it drained and exited cleanly; one that dies or is
 * killed meanwhile ends for that, at a stop's pill too), `timeout` (killed by a hard task timeout, or not ready within `startTimeout`),
 * `protocol` (broke the protocol), `error` (exited after an error escaped its tasks),
 * `crash` (anything else: exit, signal, out of memory).
 */
export type ExitReason = 'stop' | 'recycle' | 'timeout' | 'protocol' | 'error' | 'crash';

/** What a handle (`WorkerHandle`, the type parameter so that this file needs none of it) reports to its pool. */
export interface HandleEvents<WorkerHandle> {
  ready(handle: WorkerHandle): void;
  taskDone(handle: WorkerHandle, task: PendingTask, value: unknown): void;
  /** `unsendable`: the task succeeded but its result could not be sent. */
  taskFailed(handle: WorkerHandle, task: PendingTask, error: Error, unsendable: boolean): void;
  result(handle: WorkerHandle, taskId: number | null, value: unknown): void;
  /** `unsendable`: onBroadcast returned, but its reply could not be sent (`error` is its SerializationError). */
  broadcastReply(handle: WorkerHandle, id: number, outcome: { value: unknown } | { error: Error; unsendable: boolean }): void;
  uncaught(handle: WorkerHandle, error: Error, origin: WorkerErrorOrigin): void;
  /** It answered the last task it held (checked once per read of its pipe, not per answer). */
  idle(handle: WorkerHandle): void;
  /** It handed back tasks it had not started (see `reclaim`); the handle no longer holds them. */
  reclaimed(handle: WorkerHandle, tasks: PendingTask[]): void;
  /**
   * Its watchdog saw the event loop blocked (reported while it still is). `quiet()` stays true
   * while nothing more comes from the worker's data pipe: its loop has not written since.
   */
  loopBlocked(handle: WorkerHandle, report: LoopBlockedReport, quiet: () => boolean): void;
  /** It is done with its tasks after a poison pill (`stopped`): its `dispose()` runs, then it exits. */
  disposing(handle: WorkerHandle): void;
  /** The process is gone; `tasks` are the ones it still held (not settled). */
  exit(handle: WorkerHandle, exitCode: number | null, signal: NodeJS.Signals | null, tasks: PendingTask[]): void;
}

/** Parts of the init message that the pool decides at start (e.g. the metrics config). */
export interface WorkerInitExtras {
  metrics?: unknown;
  /** The pool's number among the running pools of its name in this process, when it is not the first (pool-instances.ts): in its workers' titles. */
  instance?: number;
}
