import { describe, expect, it, vi } from 'vitest';
import { MAX_EMPTY_ANSWERS, RETRY_MS, Rebalancer } from '../../src/parent/rebalancer.ts';
import type { WorkerHandle } from '../../src/parent/worker-handle.ts';

/** The parts of a handle the rebalancer reads; `asked` records its reclaim requests. */
function handle(inFlight: number, movable = inFlight, reclaiming = false) {
  const asked: number[] = [];
  const h = { state: 'ready', inFlight, tasks: { movable, reclaiming, counts: { sent: inFlight }, reclaim: (idle: number) => asked.push(idle) } };
  return { h: h as unknown as WorkerHandle, asked };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function look(handles: ReturnType<typeof handle>[], wanted = true): Promise<void> {
  const rebalancer = new Rebalancer(
    handles.map((x) => x.h),
    () => wanted,
  );
  rebalancer.workerIdle();
  rebalancer.workerIdle(); // one look per turn however many workers went idle
  await turn();
}

describe('the rebalancer', () => {
  it('asks the worker with the most tasks it may hand back, for every idle worker', async () => {
    const handles = [handle(0), handle(5), handle(9), handle(0)];
    await look(handles);
    expect(handles.map((x) => x.asked)).toEqual([[], [], [2], []]);
  });

  it('asks a worker draining for a recycle too, but not one stopping for the pool or being killed', async () => {
    const recycling = handle(9);
    Object.assign(recycling.h, { state: 'stopping', recycling: true, dying: false });
    const killed = handle(20);
    Object.assign(killed.h, { state: 'stopping', recycling: true, dying: true });
    const stopping = handle(30);
    Object.assign(stopping.h, { state: 'stopping', recycling: false, dying: false });
    const handles = [handle(0), recycling, killed, stopping];
    await look(handles);
    expect(handles.map((x) => x.asked)).toEqual([[], [1], [], []]);
  });

  it('counts only tasks that may move: a worker holding tasks given to it by number is not asked for them', async () => {
    const handles = [handle(0), handle(50, 0), handle(3, 2), handle(8, 1)];
    await look(handles);
    expect(handles.map((x) => x.asked)).toEqual([[], [], [1], []]);
  });

  it('asks nobody when no worker is idle, when the busy ones hold one movable task or are already asked, or when the pool is not running', async () => {
    const none = [handle(2), handle(4)];
    await look(none);
    const single = [handle(0), handle(1), handle(6, 1)];
    await look(single);
    const asked = [handle(0), handle(6, 6, true)];
    await look(asked);
    const stopped = [handle(0), handle(6)];
    await look(stopped, false);
    for (const x of [...none, ...single, ...asked, ...stopped]) expect(x.asked).toEqual([]);
  });

  describe('after an empty answer', () => {
    /** A rebalancer over `handles`, worker 0 idle; `answer(x)` answers x's request with no task. */
    function setup(handles: ReturnType<typeof handle>[]) {
      const rebalancer = new Rebalancer(
        handles.map((x) => x.h),
        () => true,
      );
      const answer = (x: ReturnType<typeof handle>, count = 0) => rebalancer.answered(x.h, count);
      return { rebalancer, answer };
    }

    it('asks the next busiest worker at once, and not the one that had none, while it is sent no task', async () => {
      const handles = [handle(0), handle(9), handle(6)];
      const { rebalancer, answer } = setup(handles);
      rebalancer.workerIdle();
      await turn();
      expect(handles.map((x) => x.asked)).toEqual([[], [1], []]);
      answer(handles[1]!); // all 9 had started
      await turn();
      expect(handles.map((x) => x.asked)).toEqual([[], [1], [1]]);
      answer(handles[2]!, 2); // it had tasks waiting: nobody is passed over for it
      rebalancer.workerIdle();
      await turn();
      expect(handles.map((x) => x.asked)).toEqual([[], [1], [1, 1]]);
    });

    it('asks the same worker again once it is sent a task, and later unasked, a bounded number of times', () => {
      vi.useFakeTimers();
      try {
        const handles = [handle(0), handle(9)];
        const busy = handles[1]!;
        const { rebalancer, answer } = setup(handles);
        rebalancer.workerIdle();
        vi.runOnlyPendingTimers();
        answer(busy);
        vi.runOnlyPendingTimers(); // the look at once: it had none
        expect(busy.asked).toHaveLength(1);
        (busy.h.tasks.counts as { sent: number }).sent++; // a task sent since may wait there
        rebalancer.workerIdle();
        vi.runOnlyPendingTimers();
        expect(busy.asked).toHaveLength(2);
        // Sent no task, it is asked again after each empty answer but the last of MAX_EMPTY_ANSWERS, each wait twice the one before.
        const waits: number[] = [];
        for (let k = 1; k <= MAX_EMPTY_ANSWERS; k++) {
          answer(busy);
          const before = Date.now();
          vi.runAllTimers();
          if (k < MAX_EMPTY_ANSWERS) waits.push(Date.now() - before);
          expect(busy.asked).toHaveLength(k < MAX_EMPTY_ANSWERS ? 2 + k : 1 + k);
        }
        expect(waits.map((w, i) => w >= RETRY_MS * 2 ** i && w < RETRY_MS * 2 ** (i + 1))).toEqual(waits.map(() => true)); // on the fake clock (an immediate counts 1 ms)
        rebalancer.workerIdle();
        vi.runAllTimers();
        expect(busy.asked).toHaveLength(1 + MAX_EMPTY_ANSWERS); // until it is sent a task
        (busy.h.tasks.counts as { sent: number }).sent++;
        rebalancer.workerIdle();
        vi.runAllTimers();
        expect(busy.asked).toHaveLength(2 + MAX_EMPTY_ANSWERS);
      } finally {
        vi.useRealTimers();
      }
    });
  });
});
