/** What the live progress display shows of a `looppool run --bullmq`: the pool, headed by its queue. */
import type { ConsumerStats } from '../../bullmq/index.ts';
import type { PoolStats } from '../../index.ts';
import type { ProgressSnapshot } from '../run/progress.ts';
import type { RunStats } from '../run/run-stats.ts';

/** One frame's numbers; `outputFull`: the run takes no jobs until stdout drains. */
export function consumeSnapshot(name: string, pool: PoolStats, consumer: ConsumerStats, run: RunStats, outputFull: boolean): ProgressSnapshot {
  // Not taking jobs because --max-jobs has the jobs it needs is no pause: the last ones run.
  const paused = outputFull ? 'paused: the output is full' : pool.healthy ? undefined : 'paused: the pool is unhealthy';
  const state = consumer.paused && paused ? paused : consumer.state === 'closing' ? 'closing' : pool.state;
  return { name: `${name} (queue ${consumer.queue})`, finished: run.finished, failed: run.failed, total: undefined, restarts: pool.restarts, state, workers: pool.workers };
}
