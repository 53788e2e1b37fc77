/**
 * One submitted task, from `put`/`run` until it settles. It settles exactly once: `settle*`
 * return false (and do nothing) when it already has.
 */

/** `run` tasks resolve a promise; `put` tasks report to the pool's result and taskError events. */
export type TaskMode = 'run' | 'put';

export interface TaskSettler {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class PendingTask {
  readonly id: number;
  readonly mode: TaskMode;
  /** JSON text of the payload, or null when it travels through V8's serializer as `payload`. */
  readonly json: string | null;
  readonly payload: unknown;
  /** Worker number this task must run on, or -1. */
  readonly target: number;
  readonly enqueuedAt: number;
  attempt = 0;
  /** Worker number it was last sent to, or -1. */
  worker = -1;
  startedAt = 0;
  /** Dropped from the queue (aborted); the dispatcher skips it. */
  cancelled = false;
  settled = false;
  readonly #settler: TaskSettler | undefined;
  /** Detaches the caller's AbortSignal listener, when there is one. */
  cleanup: (() => void) | undefined;

  constructor(id: number, mode: TaskMode, json: string | null, payload: unknown, target: number, settler?: TaskSettler) {
    this.id = id;
    this.mode = mode;
    this.json = json;
    this.payload = json === null ? payload : undefined;
    this.target = target;
    this.#settler = settler;
    this.enqueuedAt = performance.now();
  }

  /** Settle with a value: resolves a `run` promise; returns false if already settled. */
  fulfil(value: unknown): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.cleanup?.();
    this.#settler?.resolve(value);
    return true;
  }

  /** Settle with an error: rejects a `run` promise; returns false if already settled. */
  fail(error: Error): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.cleanup?.();
    this.#settler?.reject(error);
    return true;
  }
}
