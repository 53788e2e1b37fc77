/**
 * Tasks' wait and run times for the pool's metrics, at a cost the hot path can carry:
 *
 * - One clock reading per run of synchronous code (one callback of the event loop, or one drain
 *   of the promise jobs), shared by every submission, dispatch and settlement in it. The results
 *   of one incoming chunk settle together, and the tasks submitted and dispatched in one run are
 *   written to the workers together when it ends, so sharing costs little accuracy: a time is
 *   exact to within the length of one run of the parent's code (microseconds in a healthy
 *   parent). A reading per submission (the earlier design) went with 5x more of the parent's
 *   young objects surviving each scavenge (promoted, then mark-compacts) and a third less
 *   throughput on tiny tasks; why the reads had that effect was not found. manual/performance.md
 *   ("Metrics overhead") has the numbers.
 * - No floats on the task: a stamp is two small integers (whole seconds, and microseconds within
 *   the second). V8 keeps small integers in the object itself, but a float field is a heap number
 *   of its own: two more objects per task, promoted with it, and more work for the collector.
 */
import type { PendingTask } from './task.ts';

/** Where the times go: `waitMs` from submission to dispatch, `runMs` from dispatch to the answer. */
export type TimingSink = (waitMs: number, runMs: number, ok: boolean) => void;

export class TaskTiming {
  readonly #sink: TimingSink;
  /** The latest reading: whole seconds and microseconds within the second. */
  #s = 0;
  #us = 0;
  /** Whether it was taken in the run of synchronous code going on now. */
  #current = false;
  readonly #expire = (): void => {
    this.#current = false;
  };

  constructor(sink: TimingSink) {
    this.#sink = sink;
  }

  /** Stamp a task being submitted. */
  submitted(task: PendingTask): void {
    if (!this.#current) this.#read();
    task.enqueuedS = this.#s;
    task.enqueuedUs = this.#us;
  }

  /** Stamp a task being sent to a worker. */
  dispatched(task: PendingTask): void {
    if (!this.#current) this.#read();
    task.startedS = this.#s;
    task.startedUs = this.#us;
  }

  /** A task that was dispatched settled: record its times. */
  settled(task: PendingTask, ok: boolean): void {
    if (!this.#current) this.#read();
    this.#sink(
      elapsedMs(task.enqueuedS, task.enqueuedUs, task.startedS, task.startedUs),
      elapsedMs(task.startedS, task.startedUs, this.#s, this.#us),
      ok,
    );
  }

  #read(): void {
    const ms = performance.now(); // the global: importing node:perf_hooks loads eight more modules
    this.#s = Math.floor(ms / 1000);
    this.#us = Math.floor((ms % 1000) * 1000);
    this.#current = true;
    // Runs once the code going on now has returned: scheduled from a callback, before the promise
    // jobs it queued; scheduled from a promise job, after the last job queued.
    process.nextTick(this.#expire);
  }
}

/** Milliseconds from one stamp to a later one. */
export function elapsedMs(fromS: number, fromUs: number, toS: number, toUs: number): number {
  return (toS - fromS) * 1000 + (toUs - fromUs) / 1000;
}
