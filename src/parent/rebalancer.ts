/**
 * No worker idles while another holds tasks it has not started. A worker starts its tasks as they
 * arrive until a loop turn has run long (CPU-bound tasks); the rest wait in it for their turn
 * (child/run-queue.ts). When a worker runs out of tasks and stays idle (the parent has no task it
 * may take: none queued, or only tasks sent to other workers), the busiest other worker (by the
 * tasks it may hand back: not those given to it by number), ready or draining for a recycle, is
 * asked to hand back a share of its waiting tasks (`reclaim`), which the pool then dispatches again.
 * Without this, the last tasks of a CPU-bound batch run on one worker while the others wait.
 *
 * The busiest worker may have started every task it holds (async ones all start at once), and
 * answer with none. It is then passed over, and the next busiest asked, until it is sent another
 * task, or until a wait that doubles from {@link RETRY_MS} with each empty answer: a task sent
 * before the request may reach it after (a big one waits in the pipe's bulk lane, which the
 * request passes: transport/frame-writer.ts). After {@link MAX_EMPTY_ANSWERS} empty answers in a
 * row it is asked again only once sent a task. Before, an idle worker whose one request came back
 * empty stayed idle while another worker still had a backlog.
 */
import type { WorkerHandle } from './worker-handle.ts';

/** The wait after a worker's first empty answer before it may be asked again with no task sent to it. */
export const RETRY_MS = 50;
/** Empty answers in a row (no task sent to it in between) after which a worker waits for a task before it is asked again. */
export const MAX_EMPTY_ANSWERS = 5;

/** What the rebalancer knows of a worker it asked. */
interface Asked {
  /** Its `tasks.counts.sent` when asked: a task sent since may wait there. */
  readonly sent: number;
  /** Empty answers in a row since it was last sent a task. */
  empty: number;
  /** Not to be asked again (while sent no task) until its wait ends. */
  resting: boolean;
}

export class Rebalancer {
  readonly #handles: readonly (WorkerHandle | undefined)[];
  /** Whether to look at all (the pool runs). */
  readonly #wanted: () => boolean;
  readonly #asked = new WeakMap<WorkerHandle, Asked>();
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

  /** `h` answered its request with `count` tasks; with none, another worker may be asked now, and `h` later. */
  answered(h: WorkerHandle, count: number): void {
    const asked = this.#asked.get(h);
    if (asked === undefined) return;
    if (count > 0) {
      this.#asked.delete(h);
      return;
    }
    asked.empty++;
    asked.resting = true;
    if (asked.empty < MAX_EMPTY_ANSWERS) {
      setTimeout(() => {
        asked.resting = false;
        this.workerIdle();
      }, RETRY_MS * 2 ** (asked.empty - 1)).unref();
    }
    this.workerIdle();
  }

  #reclaim(): void {
    let idle = 0;
    let busiest: WorkerHandle | undefined;
    for (const h of this.#handles) {
      if (h === undefined) continue;
      if (h.state === 'ready' && h.inFlight === 0) idle++;
      // A worker draining for a recycle hands back too: its replacement and the others would idle while it works through them alone.
      else if ((h.state === 'ready' || (h.state === 'stopping' && h.recycling && !h.dying)) && h.tasks.movable > 1 && !h.tasks.reclaiming && this.#mayAsk(h) && (busiest === undefined || h.tasks.movable > busiest.tasks.movable)) busiest = h;
    }
    if (idle > 0 && busiest !== undefined) this.#ask(busiest, idle);
  }

  /** Not resting after an empty answer, or sent a task since. */
  #mayAsk(h: WorkerHandle): boolean {
    const asked = this.#asked.get(h);
    return asked === undefined || !asked.resting || asked.sent !== h.tasks.counts.sent;
  }

  #ask(h: WorkerHandle, idle: number): void {
    const sent = h.tasks.counts.sent;
    if (this.#asked.get(h)?.sent !== sent) this.#asked.set(h, { sent, empty: 0, resting: false });
    h.tasks.reclaim(idle);
  }
}
