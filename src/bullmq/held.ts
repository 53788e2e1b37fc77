/**
 * The jobs a consumer holds: from BullMQ handing one over until BullMQ has finished with it (its
 * result stored in Redis, the job put back in the queue, or given up: a lost lock). A task that has
 * returned still holds its job while BullMQ stores the result, which waits for Redis when it is
 * down (for ever once a forced close dropped the connection: the job stays active in Redis until a
 * stalled-job check puts it back). Counting the tasks running instead hid those jobs.
 */
import type { Job } from 'bullmq';
import type { BullmqModule } from './load.ts';

export class HeldJobs {
  readonly #jobs = new Set<Job>();

  /** Jobs held now. */
  get count(): number {
    return this.#jobs.size;
  }

  /** Hold `job` while `work` (BullMQ's whole handling of it) runs. */
  async hold<T>(job: Job, work: () => Promise<T>): Promise<T> {
    this.#jobs.add(job);
    try {
      return await work();
    } finally {
      this.#jobs.delete(job);
    }
  }

  /**
   * BullMQ is done with `job` before its handling returns: its `completed` or `failed` event (so
   * that their listeners see it counted, not held), or it went back to the queue.
   */
  release(job: Job): void {
    this.#jobs.delete(job);
  }
}

/** `Base` (a BullMQ `Worker` class) made to hold each job in `held` while it handles it (`processJob`, public in BullMQ 6). */
export function holdingWorker(Base: BullmqModule['Worker'], held: HeldJobs): BullmqModule['Worker'] {
  return class HoldingWorker<D, R, N extends string> extends Base<D, R, N> {
    override processJob(job: Job<D, R, N>, token: string, fetchNextCallback?: () => boolean): Promise<void | Job<D, R, N>> {
      return held.hold(job, () => super.processJob(job, token, fetchNextCallback));
    }
  };
}
