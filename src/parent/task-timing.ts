/**
 * Tasks' wait and run times for the pool's metrics, at a cost the hot path can carry:
 *
 * - A submission reads the clock; a dispatch or a settlement reuses the latest reading if it was
 *   taken in the same run of synchronous code (one callback of the event loop, or one drain of
 *   the promise jobs), else reads it. The results of one incoming chunk settle together, and the
 *   tasks dispatched in one run are written together when it ends, so the reading they share is
 *   as true as one per task. A task dispatched within its own submission waited 0 ms. About one
 *   clock read per task instead of three.
 * - No floats on the task: a stamp is two small integers (whole seconds, and microseconds within
 *   the second). V8 keeps small integers in the object itself, but a float field is a heap number
 *   of its own: two more objects per task, promoted with it, and more work for the collector.
 *
 * manual/performance.md ("Metrics overhead") has the measurements.
 */
import { performance } from 'node:perf_hooks';
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

  /** Stamp a task being submitted (always a new reading: its wait starts now). */
  submitted(task: PendingTask): void {
    this.#read();
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
    const ms = performance.now();
    this.#s = Math.floor(ms / 1000);
    this.#us = Math.floor((ms % 1000) * 1000);
    if (this.#current) return;
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
