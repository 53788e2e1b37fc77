/**
 * How tasks end: results and failures turned into promise settlements and events, crash
 * handling (retry or fail, poison tasks), and task timeouts (soft signal, then a kill if the
 * worker's loop is blocked). Every path goes through `PendingTask.fulfil/fail`, which settle once.
 */
import {
  PoisonTaskError, TaskError, TaskTimeoutError, WorkerCrashedError, WorkerStoppedError, type TaskAbortedError, type TaskFailure,
} from '../errors.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import type { ResultInfo, TaskErrorInfo } from './events.ts';
import { rebuildSerializationError } from './rebuild-error.ts';
import type { ExitDetails } from './supervisor.ts';
import type { ExitReason } from './handle-events.ts';
import type { PendingTask } from './task.ts';
import { TaskDeadlines } from './task-deadlines.ts';
import { monotonicMs } from '../internal/monotonic.ts';
import type { WorkerHandle } from './worker-handle.ts';

export interface OutcomeSink {
  /** A streamed result or a `put` task's return value. */
  result(value: unknown, info: ResultInfo): void;
  /** A failure nobody awaits (a `put` task's). */
  taskError(error: TaskFailure, info: TaskErrorInfo): void;
  /**
   * Put a task back at the head of the queue: a retry after a crash, or a task worker `from`
   * handed back unstarted (it goes to another worker when one has a free credit).
   */
  requeue(task: PendingTask, from?: number): void;
  /** A task that reached a worker settled (for wait/run time metrics). */
  settled(task: PendingTask, ok: boolean): void;
  /** A task crossed its soft timeout. */
  timedOut(task: PendingTask): void;
  /** A task `h` holds failed without an answer (timed out; its loop turns): it may never end there. */
  abandoned(h: WorkerHandle): void;
  /** A task failed with a `TaskTimeoutError`, in either phase (reported to Sentry, once a task). */
  timeoutFailed(h: WorkerHandle, task: PendingTask, error: TaskTimeoutError): void;
}

/**
 * The least time a worker has to answer the ping of a timeout check before it counts as blocked,
 * whatever `timeoutGrace` is: a free loop answers within milliseconds, but not within none.
 */
const MIN_PING_WAIT = 100;

/** What a crash error says of a worker that did not exit for a stop (`exited unexpectedly` when nobody knows why). */
const CRASH_REASONS: Partial<Record<ExitReason, string>> = {
  // A recycle that kills a worker with tasks still live: one over maxMemoryPerWorker that had not exited within stopTimeout.
  recycle: 'was killed: its recycle had not ended within stopTimeout',
  error: 'exited after an error escaped its tasks',
  protocol: 'was killed: it broke the protocol',
  timeout: 'was killed: its event loop was blocked past a task timeout',
};

export class TaskOutcomes {
  done = 0;
  failed = 0;
  retried = 0;
  timedOut = 0;
  /** Tasks a worker handed back unstarted and the parent sent again. */
  handedBack = 0;
  readonly #options: ResolvedPoolOptions;
  readonly #sink: OutcomeSink;
  readonly #deadlines = new TaskDeadlines<PendingTask, WorkerHandle>((task, h) => this.#softTimeout(h, task));

  constructor(options: ResolvedPoolOptions, sink: OutcomeSink) {
    this.#options = options;
    this.#sink = sink;
  }

  succeeded(h: WorkerHandle, task: PendingTask, value: unknown): void {
    if (!task.fulfil(value)) return; // an answer to a task that failed already (aborted, timed out) counts nowhere
    this.done++;
    h.tasks.counts.done++;
    this.#sink.settled(task, true);
    if (task.mode === 'put' && value !== undefined) this.#sink.result(value, { worker: h.number, pid: h.pid, taskId: task.id });
  }

  /** The worker answered with a failure (`unsendable`: the result could not be sent). */
  threw(h: WorkerHandle, task: PendingTask, remote: Error, unsendable: boolean): void {
    const ref = { worker: h.number, pid: h.pid };
    const error = unsendable ? rebuildSerializationError(remote) : new TaskError(task.id, remote, ref);
    if (task.timedOut) this.#failTimedOut(h, task, 'soft', error);
    else this.#failIn(h, task, error);
  }

  /** Fail a task `h` holds or held, counted in that worker's `failed` too (its stats() add up to the pool's). */
  #failIn(h: WorkerHandle, task: PendingTask, error: TaskFailure): void {
    if (this.fail(task, error, h.pid)) h.tasks.counts.failed++;
  }

  /**
   * Settle with an error, counting it and reporting it when nobody awaits it (unless `report` is
   * false: a put() told by its own promise). `pid`: that of the worker holding it; a task failed
   * in the queue reports the last worker that may have run it.
   */
  fail(task: PendingTask, error: TaskFailure, pid = -1, report = true): boolean {
    if (!this.#settleFailed(task, error)) return false;
    if (task.mode !== 'put' || !report) return true;
    const last = task.worker < 0 ? task.lastWorker : undefined;
    this.#sink.taskError(error, { taskId: task.id, worker: last?.worker ?? task.worker, pid: last?.pid ?? pid });
    return true;
  }

  /** Settle with an error and count it; false if it had settled already. */
  #settleFailed(task: PendingTask, error: Error): boolean {
    if (!task.fail(error)) return false;
    this.failed++;
    if (task.dispatched) this.#sink.settled(task, false);
    return true;
  }

  /**
   * A task its caller aborted while no worker holds it (queued). Only `run` takes a signal: its
   * caller hears of it through its promise, never an event.
   */
  abortQueued(task: PendingTask, error: TaskAbortedError): void {
    this.#settleFailed(task, error);
  }

  /**
   * A task its caller aborted while `h` holds it: it settles now, but its timeout, when it has
   * one, goes on watching `h`, which has yet to answer it. A task blocking the loop cannot read
   * the abort either: without this, its worker and every other task it holds would wait for good.
   */
  abortHeld(task: PendingTask, error: TaskAbortedError, holder: WorkerHandle | undefined): void {
    const { deadline, timer } = task;
    task.deadline = undefined; // kept past the settlement (which would cancel them)
    task.timer = undefined;
    if (this.#settleFailed(task, error) && holder) holder.tasks.counts.failed++;
    task.deadline = deadline;
    task.timer = timer;
  }

  /** The tasks a worker held when it exited: stopped, retried, or failed as crashed. */
  workerExited(h: WorkerHandle, details: ExitDetails, tasks: PendingTask[], mayRetry: boolean, killedBecause?: string): void {
    const ref = { worker: h.number, pid: h.pid };
    if (details.reason === 'stop') {
      const error = new WorkerStoppedError(ref, killedBecause && `Worker ${h.number} (pid ${h.pid}) was killed: ${killedBecause}`);
      for (const task of tasks) this.#failLost(h, task, error);
      return;
    }
    const crash = { ...ref, exitCode: details.exitCode, signal: details.signal };
    const reason = CRASH_REASONS[details.reason];
    const error = new WorkerCrashedError(reason ? { ...crash, reason } : crash, h.exitCause && { cause: h.exitCause });
    // Alone: the worker held no other task, settled or not (one killed for its hard timeout, one
    // its caller aborted, still runs there and may be what killed it).
    const alone = tasks.length === 1;
    const failing: [PendingTask, WorkerCrashedError][] = [];
    // Each retry goes to the head of the queue: the newest first, so that they are sent again
    // oldest first. The failures come after: a listener's new task goes behind the retries.
    for (let i = tasks.length - 1; i >= 0; i--) {
      const task = tasks[i] as PendingTask;
      if (task.settled) continue;
      if (alone && ++task.soloCrashes >= 2) failing.push([task, new PoisonTaskError(crash)]);
      else if (mayRetry && task.attempt <= this.#options.retries) {
        this.#disarm(task); // its clock starts again when it is sent again
        this.retried++;
        task.lastWorker = ref; // it may have run there: a failure before it is sent again says so
        this.#requeue(task);
      } else failing.push([task, error]);
    }
    for (let i = failing.length - 1; i >= 0; i--) this.#failLost(h, ...(failing[i] as [PendingTask, WorkerCrashedError]));
  }

  /**
   * Fail a task its worker's exit took, with `error`; one past its soft limit fails as its
   * answer would have (see `threw`): a `TaskTimeoutError` whose `cause` is `error`.
   */
  #failLost(h: WorkerHandle, task: PendingTask, error: WorkerCrashedError | WorkerStoppedError): void {
    if (task.timedOut) this.#failTimedOut(h, task, 'soft', error);
    else this.#failIn(h, task, error);
  }

  /**
   * Tasks `h` handed back without starting them (oldest first): queued again at the head of the
   * queue with their place and attempt count, unless they settled meanwhile (a caller's abort) or
   * timed out; `requeue` false (every worker was sent its stop pill or killed): they fail as if
   * still in `h`.
   */
  reclaimed(h: WorkerHandle, tasks: PendingTask[], requeue: boolean): void {
    const ref = { worker: h.number, pid: h.pid };
    for (let i = tasks.length - 1; i >= 0; i--) {
      const task = tasks[i] as PendingTask;
      this.#disarm(task);
      if (task.settled) continue;
      if (task.timedOut) this.#failTimedOut(h, task, 'soft');
      else if (!requeue) this.#failIn(h, task, new WorkerStoppedError(ref));
      else {
        task.attempt--;
        this.handedBack++;
        this.#requeue(task, h.number); // it did not start in h: `lastWorker` stays where it may have run
      }
    }
  }

  /**
   * Back to the head of the queue. No worker holds it now: with `worker` -1 an abort drops it
   * from the queue (aimed at its last worker, an abort missed it and the task was sent again).
   * `from`: the worker that handed it back (-1: a retry).
   */
  #requeue(task: PendingTask, from = -1): void {
    task.worker = -1;
    task.timedOut = false; // a new attempt, with a clock of its own (a crash during the grace)
    this.#sink.requeue(task, from);
  }

  /** Start the task's timeout clock (called when it is sent to `h`). */
  armTimeout(h: WorkerHandle, task: PendingTask): void {
    const ms = task.timeout;
    if (ms === undefined) return;
    task.deadline = this.#deadlines.arm(task, h, ms);
  }

  /** The pool stopped: its tasks' timeout clocks, which have no worker left to watch, let go of it. */
  poolStopped(): void {
    this.#deadlines.clear();
  }

  /** Stop the task's timeout clock: it left its worker without settling (handed back, or to be retried). */
  #disarm(task: PendingTask): void {
    const deadline = task.deadline;
    if (deadline) {
      deadline.cancel();
      task.deadline = undefined;
    }
    const timer = task.timer;
    if (timer) {
      clearTimeout(timer);
      task.timer = undefined;
    }
  }

  #softTimeout(h: WorkerHandle, task: PendingTask): void {
    task.deadline = undefined;
    if (h.state === 'exited') return;
    if (task.settled) {
      if (h.tasks.has(task.id)) this.#checkLoop(h, task, h.ping(), monotonicMs(), this.#options.timeoutGrace); // aborted by its caller (abortHeld)
      return;
    }
    task.timedOut = true;
    this.timedOut++;
    this.#sink.timedOut(task);
    h.tasks.abort(task.id, 'timeout');
    this.#checkLoop(h, task, h.ping(), monotonicMs(), this.#options.timeoutGrace);
  }

  /** In `wait` ms (the grace; then what is left of MIN_PING_WAIT), see whether `h` answered the ping. */
  #checkLoop(h: WorkerHandle, task: PendingTask, answered: () => boolean, pinged: number, wait: number): void {
    // Judged after the next poll of the loop's I/O: a pong already in the pipe, unread while the parent was busy, counts.
    task.timer = setTimeout(() => setImmediate(() => this.#hardTimeout(h, task, answered, pinged)), wait);
    task.timer.unref(); // the workers' pipes keep a running pool's process alive; a stopped one's must not wait for this
  }

  #hardTimeout(h: WorkerHandle, task: PendingTask, answered: () => boolean, pinged: number): void {
    task.timer = undefined;
    if (h.state === 'exited' || !h.tasks.has(task.id)) return; // gone, or the task left it (handed back) meanwhile
    const blocked = !answered();
    const waited = monotonicMs() - pinged;
    if (blocked && waited < MIN_PING_WAIT) return this.#checkLoop(h, task, answered, pinged, MIN_PING_WAIT - waited);
    if (task.settled) {
      // Its caller aborted it (abortHeld): nobody awaits it, but a blocked loop still holds the others.
      if (blocked) h.kill('timeout'); // it still holds the task (checked above)
      return;
    }
    const error = this.#failTimedOut(h, task, blocked ? 'hard' : 'soft');
    if (blocked) {
      h.exitCause ??= error; // the tasks beside it fail for it
      h.kill('timeout');
    } else this.#sink.abandoned(h);
  }

  /** Fail a task past its soft limit with a `TaskTimeoutError` (`cause`: the error it failed with). */
  #failTimedOut(h: WorkerHandle, task: PendingTask, phase: 'soft' | 'hard', cause?: Error): TaskTimeoutError | undefined {
    if (task.settled) return undefined;
    const error = new TaskTimeoutError(task.id, phase, task.timeout ?? 0, { worker: h.number, pid: h.pid }, cause && { cause });
    this.#failIn(h, task, error);
    this.#sink.timeoutFailed(h, task, error);
    return error;
  }
}
