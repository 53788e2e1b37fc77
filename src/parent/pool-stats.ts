/** `pool.stats()`: a plain snapshot of the pool's state, its queue, its counters and each worker. */
import type { PoolState, PoolStats, WorkerStats } from './events.ts';
import type { WorkerHandle } from './worker-handle.ts';

/** The pool-wide task counters (TaskOutcomes keeps them). */
export interface TaskCounts {
  readonly done: number;
  readonly failed: number;
  readonly retried: number;
  readonly timedOut: number;
  readonly handedBack: number;
}

/** What a snapshot is read from. */
export interface StatsSource {
  readonly state: PoolState;
  readonly healthy: boolean;
  readonly size: number;
  readonly queued: number;
  readonly restarts: number;
  /** One slot per worker number; empty before its first process, while it is replaced, and once it exited for good. */
  readonly handles: readonly (WorkerHandle | undefined)[];
  /** An empty slot: whether a replacement is due, and the process that exited there last. */
  emptySlot(n: number): { readonly replacing: boolean; readonly last: WorkerHandle | undefined };
  readonly counts: TaskCounts;
}

export function poolStats(source: StatsSource): PoolStats {
  const workers = source.handles.map((h, n): WorkerStats => (h ? worker(n, h) : emptySlot(n, source)));
  const c = source.counts;
  return {
    state: source.state,
    healthy: source.healthy,
    size: source.size,
    queued: source.queued,
    inFlight: workers.reduce((sum, w) => sum + w.inFlight, 0),
    done: c.done,
    failed: c.failed,
    retried: c.retried,
    timedOut: c.timedOut,
    handedBack: c.handedBack,
    restarts: source.restarts,
    workers,
  };
}

function worker(n: number, h: WorkerHandle): WorkerStats {
  return { worker: n, pid: h.pid, state: h.state, inFlight: h.inFlight, done: h.tasks.counts.done, failed: h.tasks.counts.failed };
}

/**
 * A slot with no process: `respawning` while a replacement is due; else the process that exited
 * there last (`exited`, its pid and counts: a stopped pool's workers); else, before the pool's
 * start, `starting` with no pid, or `exited` with none if the pool stopped before any started.
 */
function emptySlot(n: number, source: StatsSource): WorkerStats {
  const { replacing, last } = source.emptySlot(n);
  if (replacing || (!last && (source.state === 'created' || source.state === 'starting' || source.state === 'running'))) {
    return { worker: n, pid: -1, state: replacing ? 'respawning' : 'starting', inFlight: 0, done: 0, failed: 0 };
  }
  if (!last) return { worker: n, pid: -1, state: 'exited', inFlight: 0, done: 0, failed: 0 };
  return { ...worker(n, last), state: 'exited', inFlight: 0 };
}
