/** A worker's answer to `reclaim`: which of its waiting tasks go back to the parent for an idle worker. */
import type { IdTable } from '../internal/id-table.ts';
import type { RunQueue } from './run-queue.ts';
import type { RuntimeTaskContext } from './task-context.ts';

/**
 * Take `idle / (idle + 1)` of the tasks waiting in `runQueue` that are not in `keep` (tasks given
 * `worker: n`) out of it and out of `tasks`, the ones that arrived last; their ids.
 */
export function handBack(runQueue: RunQueue<RuntimeTaskContext>, tasks: IdTable<RuntimeTaskContext>, idle: number, keep: number[]): number[] {
  const ids: number[] = [];
  const kept = new Set(keep); // some may be running: the share below then rounds low
  const share = Math.floor((Math.max(0, runQueue.length - kept.size) * idle) / (idle + 1));
  for (const ctx of runQueue.takeBack(share, (c) => kept.has(c.id))) {
    tasks.delete(ctx.id);
    ids.push(ctx.id);
  }
  return ids;
}
