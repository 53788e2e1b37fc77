/** A worker's answer to a hand-back request (src/child/hand-back.ts), over a real run queue. */
import { describe, expect, it } from 'vitest';
import { handBack } from '../../src/child/hand-back.ts';
import { RunQueue, TURN_BUDGET_MS } from '../../src/child/run-queue.ts';
import { RuntimeTaskContext } from '../../src/child/task-context.ts';
import { IdTable } from '../../src/internal/id-table.ts';

/**
 * A worker holding `running` started tasks (ids from 1), then `waiting` tasks that wait in its
 * run queue behind one that ran past the next turn's budget; on a clock only the tasks move.
 */
async function worker(running: number, waiting: number) {
  let now = 0;
  const tasks = new IdTable<RuntimeTaskContext>();
  const queue = new RunQueue<RuntimeTaskContext>(
    {
      start: (ctx, ms) => {
        ctx.markStarted();
        now += ms as number;
      },
      isLive: (ctx) => tasks.get(ctx.id) === ctx,
      hold: () => {},
      flush: () => {},
      emptied: () => {},
    },
    () => now,
  );
  const submit = (id: number, ms: number) => {
    const ctx = new RuntimeTaskContext(id, 1, () => {});
    tasks.set(id, ctx);
    queue.submit(ctx, ms);
  };
  for (let id = 1; id <= running; id++) submit(id, 0);
  await null; // a turn of their own
  submit(running + 1, TURN_BUDGET_MS + 1); // started; it ends the turn
  for (let id = running + 2; id <= running + 1 + waiting; id++) submit(id, 1);
  return { queue, tasks };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('handBack', async () => {
  it('counts only the kept tasks still waiting against the share: kept ones already running take no place in the run queue', async () => {
    // 30 running tasks sent to it by number, 20 movable ones waiting: 10 go back for one idle worker.
    const { queue, tasks } = await worker(30, 20);
    expect(queue.length).toBe(20);
    const ids = handBack(queue, tasks, 1, range(1, 30));
    expect(ids).toEqual(range(42, 51)); // before: none (the share was max(0, 20 - 30) / 2)
    expect(queue.length).toBe(10);
    for (const id of ids) expect(tasks.has(id)).toBe(false);
  });

  it('keeps the kept tasks still waiting in their places, and leaves them out of the share', async () => {
    const { queue, tasks } = await worker(0, 20);
    const keep = range(12, 21); // the last 10 waiting ones
    const ids = handBack(queue, tasks, 1, keep);
    expect(ids).toEqual(range(7, 11)); // half of the 10 movable ones, the last to arrive
    expect(queue.length).toBe(15);
    for (const id of keep) expect(tasks.has(id)).toBe(true);
  });
});
