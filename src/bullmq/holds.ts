/** Why a BullMQ consumer takes no new jobs: its pool is unhealthy, its owner called `pause()`, it has its `maxJobs`. */

export type HoldReason = 'unhealthy' | 'pause' | 'limit';

/** The reasons on now; the first one on pauses the BullMQ worker's fetching, the last one off resumes it. */
export class Holds {
  readonly #reasons = new Set<HoldReason>();
  readonly #worker: { pause(): void; resume(): void };

  constructor(worker: { pause(): void; resume(): void }) {
    this.#worker = worker;
  }

  /** True while any reason holds. */
  get on(): boolean {
    return this.#reasons.size > 0;
  }

  add(reason: HoldReason): void {
    if (this.#reasons.has(reason)) return;
    this.#reasons.add(reason);
    if (this.#reasons.size === 1) this.#worker.pause();
  }

  /** Add `reason` until `stillOn()` answers false, asked every `periodMs` (a timer that keeps no process alive). */
  addWhile(reason: HoldReason, stillOn: () => boolean, periodMs: number): void {
    if (this.#reasons.has(reason)) return;
    this.add(reason);
    const check = setInterval(() => {
      if (stillOn()) return;
      clearInterval(check);
      this.remove(reason);
    }, periodMs);
    check.unref();
  }

  /** Add `reason` when `on`, else remove it. */
  set(reason: HoldReason, on: boolean): void {
    if (on) this.add(reason);
    else this.remove(reason);
  }

  remove(reason: HoldReason): void {
    if (this.#reasons.delete(reason) && this.#reasons.size === 0) this.#worker.resume();
  }

  /** Why a job taken now goes back, for the `requeued` event. */
  describe(): string {
    if (this.#reasons.has('pause')) return 'the consumer is paused';
    return this.#reasons.has('limit') ? 'the consumer has the jobs its maxJobs needs' : 'the pool is unhealthy';
  }
}
