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
  const kept = new Set(keep);
  // `keep` names every such task the worker holds, those already running too: only the ones
  // still waiting take places in the run queue (counting all, 30 running ones left a backlog of
  // 20 movable tasks a share of 0).
  let keptWaiting = 0;
  for (const id of kept) if (tasks.get(id)?.started === false) keptWaiting++;
  const share = Math.floor((Math.max(0, runQueue.length - keptWaiting) * idle) / (idle + 1));
  for (const ctx of runQueue.takeBack(share, (c) => kept.has(c.id))) {
    tasks.delete(ctx.id);
    ids.push(ctx.id);
  }
  return ids;
}
