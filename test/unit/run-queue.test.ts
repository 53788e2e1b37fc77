import { describe, expect, it } from 'vitest';
import { MAX_HOLD_MS, RunQueue, TURN_BUDGET_MS } from '../../src/child/run-queue.ts';

/** Block the thread until the clock has moved `ms` (a CPU-bound task). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A queue whose tasks take the ms given as their payload. By default on a clock of the test's
 * own, which only those tasks move: what the queue decides cannot depend on how busy the machine
 * is. `realClock`: on the queue's default clock, the tasks busy for real.
 */
function setup({ realClock = false } = {}) {
  const started: number[] = [];
  const holds: boolean[] = [];
  const dead = new Set<number>();
  let flushes = 0;
  let emptied = 0;
  let now = 0;
  const hooks = {
    start: (id: number, ms: unknown) => {
      started.push(id);
      if (realClock) busy(ms as number);
      else now += ms as number;
    },
    isLive: (id: number) => !dead.has(id),
    hold: (held: boolean) => holds.push(held),
    flush: () => flushes++,
    emptied: () => emptied++,
  };
  const q = realClock ? new RunQueue<number>(hooks) : new RunQueue<number>(hooks, () => now);
  return { q, started, holds, dead, flushes: () => flushes, emptied: () => emptied };
}

describe('the run queue of a worker', () => {
  it('starts tasks as they arrive while the turn is short', async () => {
    const { q, started, holds } = setup();
    for (let id = 0; id < 100; id++) q.submit(id, 0);
    expect(started).toHaveLength(100);
    expect(q.length).toBe(0);
    expect(holds).toEqual([]);
  });

  it('once a turn has run past its budget, queues the rest, holds answers, and starts them in order over the next turns', async () => {
    const { q, started, holds, emptied } = setup();
    for (let id = 0; id < 12; id++) q.submit(id, TURN_BUDGET_MS + 1);
    // The clock is read before the second start: the first task ran past the budget, the rest wait.
    expect(started).toEqual([0]);
    expect(q.length).toBe(11);
    expect(holds).toEqual([true]);
    // Not in the check phase right after (the loop reads its I/O first: an abort sent for a waiting task), but in the next one.
    await turn();
    expect(started).toEqual([0]);
    await turn();
    // Each later turn starts at least one, and stops once past the budget.
    expect(started).toEqual([0, 1]);
    q.submit(99, 0); // an arrival waits behind them
    while (q.length > 0) await turn();
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 99]);
    expect(holds).toEqual([true, false]);
    expect(emptied()).toBe(1); // once the last waiting task started (a stopping plain Worker waits for it)
  });

  it('after a few short tasks, reads the clock before every fourth start only', () => {
    const { q, started } = setup();
    // Tasks 0-5 are short; 6 runs past the budget. The clock is read before starts 2-5, 9, 13...
    // (every fourth once four have started): task 7 still starts, 8 waits.
    for (let id = 0; id < 12; id++) q.submit(id, id === 6 ? TURN_BUDGET_MS + 1 : 0);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(q.length).toBe(4);
  });

  it('hands back the newest live tasks that wait, and skips tasks dropped meanwhile', async () => {
    const { q, started, holds, dead } = setup();
    for (let id = 0; id < 10; id++) q.submit(id, id === 0 ? TURN_BUDGET_MS + 1 : 0);
    expect(q.length).toBe(9); // 1..9 wait
    dead.add(9); // aborted while it waited
    expect(q.takeBack(2)).toEqual([7, 8]);
    dead.add(5);
    while (q.length > 0) await turn();
    expect(started).toEqual([0, 1, 2, 3, 4, 6]);
    expect(holds).toEqual([true, false]);
    expect(q.takeBack(3)).toEqual([]);
  });

  it('never hands back a task it is told to keep, and kept tasks keep their places', async () => {
    const { q, started, holds } = setup();
    for (let id = 0; id < 10; id++) q.submit(id, id === 0 ? TURN_BUDGET_MS + 1 : 0);
    const keep = new Set([5, 7, 9]);
    expect(q.takeBack(3, (id) => keep.has(id))).toEqual([4, 6, 8]);
    expect(q.takeBack(3, (id) => keep.has(id))).toEqual([1, 2, 3]);
    expect(q.takeBack(3, (id) => keep.has(id))).toEqual([]); // only kept ones wait
    expect(q.length).toBe(3);
    while (q.length > 0) await turn();
    expect(started).toEqual([0, 5, 7, 9]);
    expect(holds).toEqual([true, false]);
  });

  it('releases the hold when every waiting task is handed back or cleared', () => {
    const first = setup();
    for (let id = 0; id < 6; id++) first.q.submit(id, TURN_BUDGET_MS + 1);
    expect(first.q.takeBack(10)).toEqual([1, 2, 3, 4, 5]);
    expect(first.holds).toEqual([true, false]);
    expect(first.emptied()).toBe(1);
    const second = setup();
    for (let id = 0; id < 6; id++) second.q.submit(id, TURN_BUDGET_MS + 1);
    second.q.clear();
    expect(second.q.length).toBe(0);
    expect(second.holds).toEqual([true, false]);
    expect(second.emptied()).toBe(0); // clear() is the stop itself
  });
});

describe('answers held while tasks wait', () => {
  it(`go out every ${MAX_HOLD_MS} ms or so while the queue does not empty`, async () => {
    const { q, flushes, holds } = setup();
    // 1 starts now, 13 wait: each ~1/4 of the hold's limit, so the queue lasts well past it.
    const ms = Math.ceil(MAX_HOLD_MS / 4);
    for (let id = 0; id < 14; id++) q.submit(id, ms);
    expect(flushes()).toBe(0);
    while (q.length > 0) await turn();
    // The 14 tasks took about 3.5 limits: written out at least twice on the way, then released.
    expect(flushes()).toBeGreaterThanOrEqual(2);
    expect(holds).toEqual([true, false]);
  });

  it('go out on time when the wall clock is stepped back an hour while they are held', async () => {
    const { q, flushes, holds } = setup({ realClock: true }); // the queue's own clock, not Date.now
    const ms = Math.ceil(MAX_HOLD_MS / 4);
    for (let id = 0; id < 14; id++) q.submit(id, ms);
    const wallClock = Date.now;
    Date.now = () => wallClock() - 3_600_000; // as a time daemon or a resumed VM may do
    try {
      while (q.length > 0) await turn();
    } finally {
      Date.now = wallClock;
    }
    // Measured on the wall clock, the hold would have seemed to start an hour in the future.
    expect(flushes()).toBeGreaterThanOrEqual(2);
    expect(holds).toEqual([true, false]);
  });
});
