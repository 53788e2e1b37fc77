/**
 * Counts a worker's tasks for its `ResourceReporter`: the runtime calls `started()` and
 * `settled(ok)`, and `source` turns that into `tasks.in_flight` (gauge) and `tasks.done` /
 * `tasks.failed` (counters for the interval).
 */
import type { MetricSource } from './resource-reporter.ts';

export class TaskCounters {
  #inFlight = 0;
  #done = 0;
  #failed = 0;

  /** A task arrived (it runs now or waits for its turn in this worker). */
  started(): void {
    this.#inFlight++;
  }

  /** A task that `started()` finished: `ok` false if it failed. */
  settled(ok: boolean): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (ok) this.#done++;
    else this.#failed++;
  }

  /** `n` tasks that `started()` went back to the parent unstarted (to run on another worker). */
  handedBack(n: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - n);
  }

  /** `n` tasks that `started()` were abandoned at a stop: no longer in flight, neither done nor failed here. */
  abandoned(n: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - n);
  }

  /** Tasks in flight now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The reporter source: in flight now, done and failed since the previous call. */
  readonly source: MetricSource = () => {
    const result = {
      gauges: { 'tasks.in_flight': this.#inFlight },
      counters: { 'tasks.done': this.#done, 'tasks.failed': this.#failed },
    };
    this.#done = 0;
    this.#failed = 0;
    return result;
  };
}
