/**
 * One submitted task, from `put`/`run` until it settles. It settles exactly once: `settle*`
 * return false (and do nothing) when it already has.
 */

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
  /** Worker number it was last sent to, or -1. */
  worker = -1;
  /** When it was last sent to a worker, stamped like `enqueuedS`/`enqueuedUs`. */
  startedS = 0;
  startedUs = 0;
  /** It was sent to a worker at least once. */
  dispatched = false;
  /** Dropped from the queue (aborted); the dispatcher skips it. */
  cancelled = false;
  settled = false;
  /** Times it was the only task on a worker that died (two make it a poison task). */
  soloCrashes = 0;
  /** Its `taskTimeout` in ms, or undefined. */
  timeout: number | undefined;
  /** The pending soft or grace timer of its timeout. */
  timer: NodeJS.Timeout | undefined;
  /** `run`'s `onDispatch` option. */
  onDispatch: ((info: { worker: number; pid: number }) => void) | undefined;
  /** Its soft timeout fired (the signal was aborted): a failure from now on is a timeout. */
  timedOut = false;
  readonly #resolve: ((value: unknown) => void) | undefined;
  readonly #reject: ((error: Error) => void) | undefined;
  /** Detaches the caller's AbortSignal listener, when there is one. */
  cleanup: (() => void) | undefined;

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

  #release(): void {
    this.cleanup?.();
    if (this.timer) clearTimeout(this.timer);
  }
}
