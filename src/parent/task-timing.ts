/**
 * Tasks' wait and run times for the pool's metrics, at a cost the hot path can carry:
 *
 * - Two clock reads per task, not three: a task dispatched within its own submission (the usual
 *   case when a worker has room) started when it was submitted.
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
  /** Set by the pool around a submission's dispatch: this task, if sent now, starts at its submission. */
  submitting: PendingTask | undefined;
  readonly #sink: TimingSink;

  constructor(sink: TimingSink) {
    this.#sink = sink;
  }

  /** Stamp a task being submitted. */
  submitted(task: PendingTask): void {
    const ms = performance.now();
    task.enqueuedS = seconds(ms);
    task.enqueuedUs = micros(ms);
  }

  /** Stamp a task being sent to a worker. */
  dispatched(task: PendingTask): void {
    if (task === this.submitting) {
      task.startedS = task.enqueuedS;
      task.startedUs = task.enqueuedUs;
    } else {
      const ms = performance.now();
      task.startedS = seconds(ms);
      task.startedUs = micros(ms);
    }
  }

  /** A task that was dispatched settled: record its times. */
  settled(task: PendingTask, ok: boolean): void {
    const ms = performance.now();
    this.#sink(
      elapsedMs(task.enqueuedS, task.enqueuedUs, task.startedS, task.startedUs),
      elapsedMs(task.startedS, task.startedUs, seconds(ms), micros(ms)),
      ok,
    );
  }
}

/** Whole seconds of a `performance.now()` reading (a small integer for 68 years). */
const seconds = (ms: number): number => Math.floor(ms / 1000);

/** Microseconds within the second of a `performance.now()` reading: 0 to 999,999. */
const micros = (ms: number): number => Math.floor((ms % 1000) * 1000);

/** Milliseconds from one stamp to a later one. */
export function elapsedMs(fromS: number, fromUs: number, toS: number, toUs: number): number {
  return (toS - fromS) * 1000 + (toUs - fromUs) / 1000;
}
