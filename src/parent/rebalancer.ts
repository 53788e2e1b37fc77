/**
 * No worker idles while another holds tasks it has not started. A worker starts its tasks as they
 * arrive until a loop turn has run long (CPU-bound tasks); the rest wait in it for their turn
 * (child/run-queue.ts). When a worker runs out of tasks and stays idle (the parent has no task it
 * may take: none queued, or only tasks sent to other workers), the busiest other worker (by the
 * tasks it may hand back: not those given to it by number), ready or draining for a recycle, is
 * asked to hand back a share of its waiting tasks (`reclaim`), which the pool then dispatches again.
 * Without this, the last tasks of a CPU-bound batch run on one worker while the others wait.
 */
import type { WorkerHandle } from './worker-handle.ts';

export class Rebalancer {
  readonly #handles: readonly (WorkerHandle | undefined)[];
  /** Whether to look at all (the pool runs). */
  readonly #wanted: () => boolean;
  #scheduled = false;
  readonly #look = (): void => {
    this.#scheduled = false;
    if (this.#wanted()) this.#reclaim();
  };

  constructor(handles: readonly (WorkerHandle | undefined)[], wanted: () => boolean) {
    this.#handles = handles;
    this.#wanted = wanted;
  }

  /**
   * A worker holds no task (after a read of its pipe). Look once this turn's callbacks have run:
   * the code awaiting the answers may submit more tasks, and a worker still idle then has nothing
   * it may take.
   */
  workerIdle(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#look);
  }

  #reclaim(): void {
    let idle = 0;
    let busiest: WorkerHandle | undefined;
    for (const h of this.#handles) {
      if (h === undefined) continue;
      if (h.state === 'ready' && h.inFlight === 0) idle++;
      // A worker draining for a recycle hands back too: its replacement and the others would idle while it works through them alone.
      else if ((h.state === 'ready' || (h.state === 'stopping' && h.recycling && !h.dying)) && h.tasks.movable > 1 && !h.tasks.reclaiming && (busiest === undefined || h.tasks.movable > busiest.tasks.movable)) busiest = h;
    }
    if (idle > 0 && busiest !== undefined) busiest.tasks.reclaim(idle);
  }
}
