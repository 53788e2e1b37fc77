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
  /** One slot per worker number; empty while that worker is being replaced. */
  readonly handles: readonly (WorkerHandle | undefined)[];
  readonly counts: TaskCounts;
}

export function poolStats(source: StatsSource): PoolStats {
  const workers = source.handles.map((h, n): WorkerStats =>
    h
      ? { worker: n, pid: h.pid, state: h.state, inFlight: h.inFlight, done: h.tasks.counts.done, failed: h.tasks.counts.failed }
      : { worker: n, pid: -1, state: 'respawning', inFlight: 0, done: 0, failed: 0 },
  );
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
