/** The tasks a worker holds, seen from the parent (src/parent/held-tasks.ts), over a channel that sends nowhere. */
import { describe, expect, it } from 'vitest';
import { HeldTasks } from '../../src/parent/held-tasks.ts';
import type { PendingTask } from '../../src/parent/task.ts';
import type { Channel } from '../../src/transport/channel.ts';

const channel = { sendTuple() {}, sendTupleWithClone() {}, sendJson() {}, flush() {} } as unknown as Channel;

/** A task whose `settled` counts how often it is read. */
function task(id: number, reads: { n: number }, settled = false): PendingTask {
  return {
    id,
    target: -1,
    payload: '0',
    attempt: 0,
    worker: -1,
    get settled() {
      reads.n++;
      return settled;
    },
  } as unknown as PendingTask;
}

describe('HeldTasks.beforePill', () => {
  it('holds the pill back while a task sent during the drain is unsettled, and not for one that settled without an answer', () => {
    const reads = { n: 0 };
    const tasks = new HeldTasks(0, channel);
    tasks.send(task(1, reads), false); // sent before the stop: a plain Worker abandons it at the pill
    expect(tasks.beforePill).toBe(false);
    tasks.send(task(2, reads, true), true); // timed out, or aborted by its caller: awaited by nobody
    expect(tasks.beforePill).toBe(false);
    tasks.send(task(3, reads), true);
    expect(tasks.beforePill).toBe(true);
    tasks.take(3);
    expect(tasks.beforePill).toBe(false);
  });

  it('is asked on every answer of a drain at no cost growing with the tasks held: it stops at the first unsettled one', () => {
    const reads = { n: 0 };
    const tasks = new HeldTasks(0, channel);
    const held = 2_000; // concurrency 2,000
    for (let id = 1; id <= held; id++) tasks.send(task(id, reads), true);
    for (let id = 1; id < held; id++) {
      expect(tasks.beforePill).toBe(true);
      tasks.take(id); // its answer came: the pool looks again
      tasks.send(task(held + id, reads), true); // the next queued task goes out
    }
    // Before: every look read every task held, 2,000 × 2,000.
    expect(reads.n).toBeLessThan(2 * held);
  });
});
