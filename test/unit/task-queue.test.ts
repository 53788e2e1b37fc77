/** The parent's backpressure (src/parent/task-queue.ts) over a real Dispatcher and fake worker slots. */
import { describe, expect, it } from 'vitest';
import { COMPACT_AFTER, Dispatcher, type WorkerSlot } from '../../src/parent/dispatcher.ts';
import { TaskQueue } from '../../src/parent/task-queue.ts';
import { PendingTask } from '../../src/parent/task.ts';
import { survivorsAfterGc } from '../helpers/gc.ts';

class Slot implements WorkerSlot {
  inFlight = 0;
  accepting = true;
}

function setup(slots: number, maxQueue: number) {
  const sent: [id: number, slot: number][] = [];
  const s = Array.from({ length: slots }, () => new Slot());
  const dispatcher = new Dispatcher<PendingTask>('least-busy', 1, (task, slot) => {
    sent.push([task.id, slot]);
    (s[slot] as Slot).inFlight++;
  });
  dispatcher.slots = s;
  const queue = new TaskQueue(dispatcher, maxQueue);
  let nextId = 1;
  /** Submit as a running pool's put() does: queued and pumped when there is room, else waiting for it. */
  const submit = (target = -1): number => {
    const task = new PendingTask(nextId++, 'run', '', target);
    if (queue.hasRoom(task.target)) {
      queue.add(task);
      queue.pump();
    } else queue.waitForRoom(task, () => {}, () => {});
    return task.id;
  };
  /** Slot `i` answered its task. */
  const free = (i: number): void => {
    (s[i] as Slot).inFlight--;
    queue.pump();
  };
  return { queue, sent, submit, free };
}

describe('TaskQueue at maxQueue 0', () => {
  it('a submission waiting for a busy worker by number holds back no untargeted one, waiting or new', () => {
    const { queue, sent, submit, free } = setup(2, 0);
    submit(0); // 1 → worker 0
    submit(1); // 2 → worker 1
    submit(0); // 3 waits for worker 0
    submit(); // 4 waits for any worker
    expect(queue.length).toBe(2);
    free(1);
    expect(sent).toEqual([[1, 0], [2, 1], [4, 1]]);
    free(1);
    submit(); // 5: worker 1 is free, and only a task for worker 0 waits
    expect(sent).toEqual([[1, 0], [2, 1], [4, 1], [5, 1]]);
    expect(queue.length).toBe(1);
  });

  it('a credit its worker frees goes to the older of the submission waiting for it and the oldest untargeted one', () => {
    const { queue, sent, submit, free } = setup(2, 0);
    submit(); // 1 → a worker
    submit(); // 2 → the other
    submit(0); // 3 waits for worker 0
    submit(); // 4 waits for any
    submit(0); // 5 waits for worker 0, behind 4
    free(0);
    expect(sent.slice(2)).toEqual([[3, 0]]); // older than 4
    free(0);
    expect(sent.slice(3)).toEqual([[4, 0]]); // older than 5
    free(0);
    expect(sent.slice(4)).toEqual([[5, 0]]);
    expect(queue.length).toBe(0);
  });

  it('a submission for a worker by number waits behind an untargeted one that waits (it would take that credit first)', () => {
    const { queue, sent, submit, free } = setup(1, 0);
    submit(); // 1 → worker 0
    submit(); // 2 waits
    submit(0); // 3 waits
    free(0);
    expect(sent.slice(1)).toEqual([[2, 0]]);
    free(0);
    expect(sent.slice(2)).toEqual([[3, 0]]);
    expect(queue.length).toBe(0);
  });

  it('an aborted waiter is passed over, and leaves nothing behind', () => {
    const { queue, sent, submit, free } = setup(1, 0);
    submit(); // 1 → worker 0
    const dropped = new PendingTask(100, 'run', '', 0);
    queue.waitForRoom(dropped, () => {}, () => {});
    submit(); // 2 waits
    queue.cancel(dropped);
    expect(queue.length).toBe(1);
    free(0);
    expect(sent).toEqual([[1, 0], [2, 0]]);
    expect(queue.length).toBe(0);
  });
});

describe('TaskQueue below maxQueue', () => {
  it('lets waiters in strictly oldest first, whatever their target, as room frees up', () => {
    const { queue, sent, submit, free } = setup(1, 1);
    submit(); // 1 → worker 0
    submit(); // 2 queued (the queue is full)
    submit(0); // 3 waits
    submit(); // 4 waits
    expect(queue.length).toBe(3);
    free(0); // 2 goes out; 3 is queued
    expect(sent).toEqual([[1, 0], [2, 0]]);
    expect(queue.length).toBe(2);
    free(0);
    free(0);
    expect(sent.slice(2)).toEqual([[3, 0], [4, 0]]);
    expect(queue.length).toBe(0);
  });

  it('rejects every waiter, oldest first, at a stop', () => {
    const { queue, submit } = setup(2, 0);
    submit(0);
    submit(1);
    const order: number[] = [];
    [1, -1, 0, -1].forEach((target, i) => {
      const task = new PendingTask(10 + i, 'run', '', target);
      queue.waitForRoom(task, () => {}, () => order.push(task.id));
    });
    const failed: [number, boolean][] = [];
    queue.clear(new Error('stopped'), (task, _error, waiting) => failed.push([task.id, waiting]));
    expect(order).toEqual([10, 11, 12, 13]);
    expect(failed).toEqual([[10, true], [11, true], [12, true], [13, true]]); // each counted as failed
    expect(queue.length).toBe(0);
  });
});

describe('TaskQueue at maxQueue, full of tasks for a busy worker by number', () => {
  it('takes a task another worker takes at once, new or waiting for room; one no worker can take waits', () => {
    const { queue, sent, submit, free } = setup(2, 2);
    submit(0); // 1 → worker 0
    submit(0); // 2 queued for worker 0
    submit(0); // 3 queued for worker 0: the queue is full
    expect(queue.hasRoom(-1)).toBe(true); // before: false, although worker 1 is free
    submit(); // 4 → worker 1 at once
    expect(sent).toEqual([[1, 0], [4, 1]]);
    expect(queue.hasRoom(-1)).toBe(false); // every credit taken
    expect(queue.hasRoom(1)).toBe(false);
    submit(); // 5 waits for room
    submit(1); // 6 waits for room
    expect(queue.length).toBe(4);
    free(1); // worker 1's credit: to the oldest submission it can take, though the queue is still full
    expect(sent.slice(2)).toEqual([[5, 1]]);
    free(1);
    expect(sent.slice(3)).toEqual([[6, 1]]);
    expect(queue.length).toBe(2);
    free(0);
    expect(sent.slice(4)).toEqual([[2, 0]]);
  });
});

describe('TaskQueue: submissions waiting for a worker by number', () => {
  it('only for a higher-numbered worker (no lane for the lower ones): they are let in as room frees, and rejected at a stop', () => {
    const { queue, sent, submit, free } = setup(2, 1);
    submit(1); // 1 → worker 1
    submit(1); // 2 queued for worker 1 (maxQueue 1)
    submit(1); // 3 waits for room, in worker 1's lane; worker 0 has none
    submit(1); // 4 the same
    expect(queue.length).toBe(3);
    free(1); // 2 goes out, 3 is let into the queue
    expect(sent).toEqual([[1, 1], [2, 1]]);
    expect(queue.length).toBe(2);
    const rejected: string[] = [];
    const task = new PendingTask(99, 'run', '', 1);
    queue.waitForRoom(task, () => {}, (e) => rejected.push(e.message));
    const failed: [number, boolean][] = [];
    queue.clear(new Error('stopped'), (t, _error, waiting) => failed.push([t.id, waiting]));
    expect(rejected).toEqual(['stopped']);
    expect(failed).toEqual([[4, true], [99, true], [3, false]]); // the waiting ones first, then the queued
    expect(queue.length).toBe(0);
  });
});

describe('TaskQueue: submissions aborted while they wait for room', () => {
  it('are let go of once they outnumber the live ones, and the live ones still get in, oldest first', async () => {
    const { queue, sent, free } = setup(1, 1);
    const waitFor = (target = -1): PendingTask => {
      const t = new PendingTask(nextWaiterId++, 'run', '', target);
      queue.waitForRoom(t, () => {}, () => {});
      return t;
    };
    let nextWaiterId = 1000;
    const live = [waitFor(), waitFor(0)];
    const refs: WeakRef<PendingTask>[] = [];
    for (let i = 0; i < 20_000; i++) {
      const t = waitFor(i % 2 === 0 ? 0 : -1);
      queue.cancel(t);
      refs.push(new WeakRef(t));
    }
    expect(await survivorsAfterGc(refs)).toBeLessThanOrEqual(2 * COMPACT_AFTER);
    queue.pump(); // room for one: the oldest live waiter goes in and out to the worker
    free(0);
    expect(sent.map(([id]) => id)).toEqual(live.map((t) => t.id));
  });
});
