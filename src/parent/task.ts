/**
 * One submitted task, from `put`/`run` until it settles. It settles exactly once: `settle*`
 * return false (and do nothing) when it already has.
 */

import type { TaskDeadline } from './task-deadlines.ts';

/** `run` tasks resolve a promise; `put` tasks report to the pool's result and taskError events. */
export type TaskMode = 'run' | 'put';

export class PendingTask {
  readonly id: number;
  readonly mode: TaskMode;
  /**
   * The payload as it travels, made when it was submitted: JSON text, or the bytes V8's
   * serializer made of it (outside the JS heap; see `encodePayload`).
   */
  readonly payload: string | Buffer;
  /** Worker number this task must run on, or -1. */
  readonly target: number;
  /**
   * When it was submitted, stamped only when the pool reports metrics (see task-timing.ts): whole
   * seconds of `performance.now()`, and microseconds within that second.
   */
  enqueuedS = 0;
  enqueuedUs = 0;
  attempt = 0;
  /**
   * Worker number that holds it, or -1 while it waits in the parent (also when queued again after
   * a crash or a hand-back): where an abort goes looking for it.
   */
  worker = -1;
  /** When it was last sent to a worker, stamped like `enqueuedS`/`enqueuedUs`. */
  startedS = 0;
  startedUs = 0;
  /** Out of the queue without being sent: dropped (aborted; the dispatcher skips it), or taken out to fail. */
  cancelled = false;
  settled = false;
  readonly #resolve: ((value: unknown) => void) | undefined;
  readonly #reject: ((error: Error) => void) | undefined;
  /** What few tasks need (a timeout, a signal, `onDispatch`, a crash), made when first set. */
  #extra: TaskExtras | undefined;

  constructor(
    id: number,
    mode: TaskMode,
    payload: string | Buffer,
    target: number,
    resolve?: (value: unknown) => void,
    reject?: (error: Error) => void,
  ) {
    this.id = id;
    this.mode = mode;
    this.payload = payload;
    this.target = target;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** Settle with a value: resolves a `run` promise; returns false if already settled. */
  fulfil(value: unknown): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.#release();
    this.#resolve?.(value);
    return true;
  }

  /** Settle with an error: rejects a `run` promise; returns false if already settled. */
  fail(error: Error): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.#release();
    this.#reject?.(error);
    return true;
  }

  /** It was sent to a worker at least once. */
  get dispatched(): boolean {
    return this.attempt > 0;
  }

  /** Its `taskTimeout` in ms, or undefined. */
  get timeout(): number | undefined {
    return this.#extra?.timeout;
  }
  set timeout(ms: number | undefined) {
    if (ms !== undefined || this.#extra) this.#extras().timeout = ms;
  }

  /** Its soft timeout's deadline, from its dispatch until it settles, expires or leaves its worker. */
  get deadline(): TaskDeadline | undefined {
    return this.#extra?.deadline;
  }
  set deadline(deadline: TaskDeadline | undefined) {
    this.#extras().deadline = deadline;
  }

  /** The grace timer, once its soft timeout expired. */
  get timer(): NodeJS.Timeout | undefined {
    return this.#extra?.timer;
  }
  set timer(timer: NodeJS.Timeout | undefined) {
    this.#extras().timer = timer;
  }

  /** Its soft timeout fired (the signal was aborted): a failure from now on is a timeout. */
  get timedOut(): boolean {
    return this.#extra?.timedOut ?? false;
  }
  set timedOut(value: boolean) {
    this.#extras().timedOut = value;
  }

  /** Times it was the only task on a worker that died (two make it a poison task). */
  get soloCrashes(): number {
    return this.#extra?.soloCrashes ?? 0;
  }
  set soloCrashes(n: number) {
    this.#extras().soloCrashes = n;
  }

  /**
   * The last worker that may have run it, and its pid then: set when that worker died holding it
   * and it was queued again for a retry (`worker` back to -1); a hand-back leaves it as it was,
   * since the task had not started there. What a failure in the queue reports.
   */
  get lastWorker(): WorkerRef | undefined {
    return this.#extra?.lastWorker;
  }
  set lastWorker(ref: WorkerRef | undefined) {
    this.#extras().lastWorker = ref;
  }

  /** `run`'s `onDispatch` option. */
  get onDispatch(): OnDispatch | undefined {
    return this.#extra?.onDispatch;
  }
  set onDispatch(callback: OnDispatch | undefined) {
    this.#extras().onDispatch = callback;
  }

  /** Detaches the caller's AbortSignal listener, when there is one. */
  get cleanup(): (() => void) | undefined {
    return this.#extra?.cleanup;
  }
  set cleanup(callback: (() => void) | undefined) {
    this.#extras().cleanup = callback;
  }

  #extras(): TaskExtras {
    return (this.#extra ??= { timeout: undefined, deadline: undefined, timer: undefined, timedOut: false, soloCrashes: 0, lastWorker: undefined, onDispatch: undefined, cleanup: undefined });
  }

  #release(): void {
    const extra = this.#extra;
    if (extra === undefined) return;
    extra.cleanup?.();
    extra.deadline?.cancel();
    if (extra.timer) clearTimeout(extra.timer);
  }
}

interface WorkerRef {
  readonly worker: number;
  readonly pid: number;
}

type OnDispatch = (info: WorkerRef) => void;

/**
 * The fields few tasks use, in an object of their own: a task waiting or running in the parent
 * is then 7 fields smaller (the first 6 saved 48 of the 456 bytes a queued task cost), and every
 * young-generation collection has fewer bytes to copy while thousands are in flight.
 */
interface TaskExtras {
  timeout: number | undefined;
  deadline: TaskDeadline | undefined;
  timer: NodeJS.Timeout | undefined;
  timedOut: boolean;
  soloCrashes: number;
  lastWorker: WorkerRef | undefined;
  onDispatch: OnDispatch | undefined;
  cleanup: (() => void) | undefined;
}
