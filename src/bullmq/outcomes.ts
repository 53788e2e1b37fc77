/**
 * The consumer's completed and failed counts: an attempt is counted (and its event emitted) once
 * BullMQ has moved its job in Redis, not when its task settles, so that a job whose lock was lost
 * meanwhile (it runs again) is not counted twice.
 */
import type { Job } from 'bullmq';
import type { JobEventInfo } from './consumer-types.ts';

/** A job whose task has settled, waiting for BullMQ to move it. */
export type Settled<TResult> =
  | { readonly outcome: 'completed'; readonly value: TResult; readonly info: JobEventInfo }
  | { readonly outcome: 'failed'; readonly error: Error; readonly info: JobEventInfo };

/** How long an attempt counts as being stored: a store is one Redis round trip (BullMQ retries it while Redis is away). */
export const STORE_GRACE_MS = 5_000;

export class Outcomes<TResult> {
  /**
   * By BullMQ's job object (the one its Worker's 'completed' and 'failed' events pass): a job that
   * BullMQ could not move (its lock lost, Redis gone) is never counted, and its entry goes with it.
   */
  readonly #settled = new WeakMap<Job, Settled<TResult>>();
  readonly #emit: (settled: Settled<TResult>) => void;
  completed = 0;
  failed = 0;
  /** Attempts settled and not yet moved, in the order they settled, with when (performance.now()). */
  readonly #storing = new Map<Job, number>();

  /** @param emit called with each attempt once counted */
  constructor(emit: (settled: Settled<TResult>) => void) {
    this.#emit = emit;
  }

  /** The task of `job` settled; BullMQ is about to complete or fail it. */
  settled(job: Job, settled: Settled<TResult>): void {
    this.#settled.set(job, settled);
    this.#storing.delete(job);
    this.#storing.set(job, this.#forgetOld());
  }

  /** Whether `job`'s task settled here and waits for BullMQ to move it. */
  awaits(job: Job): boolean {
    return this.#settled.has(job);
  }

  /**
   * Attempts being stored in Redis now: settled, not moved yet, and for less than
   * {@link STORE_GRACE_MS} (one whose lock was lost is never moved: it is forgotten then).
   */
  get storing(): number {
    this.#forgetOld();
    return this.#storing.size;
  }

  /** Drop the attempts settled {@link STORE_GRACE_MS} ago or more (so a lost one is not kept either); returns now. */
  #forgetOld(): number {
    const now = performance.now();
    for (const [job, at] of this.#storing) {
      if (now - at < STORE_GRACE_MS) break;
      this.#storing.delete(job);
    }
    return now;
  }

  /**
   * BullMQ moved `job` to completed (`error` undefined) or failed. A job whose task returned fails
   * instead when BullMQ cannot store its completion (BullMQ then passes its own error).
   */
  moved(job: Job | undefined, error: Error | undefined): void {
    const settled = job && this.#settled.get(job);
    if (!job || !settled) return;
    this.#settled.delete(job);
    this.#storing.delete(job);
    if (error === undefined) {
      if (settled.outcome !== 'completed') return;
      this.completed++;
      this.#emit(settled);
    } else {
      this.failed++;
      this.#emit(settled.outcome === 'failed' ? settled : { outcome: 'failed', error, info: settled.info });
    }
  }
}
