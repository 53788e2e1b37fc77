import { describe, expect, it } from 'vitest';
import { Rebalancer } from '../../src/parent/rebalancer.ts';
import type { WorkerHandle } from '../../src/parent/worker-handle.ts';

/** The parts of a handle the rebalancer reads; `asked` records its reclaim requests. */
function handle(inFlight: number, movable = inFlight, reclaiming = false) {
  const asked: number[] = [];
  const h = { state: 'ready', inFlight, tasks: { movable, reclaiming, reclaim: (idle: number) => asked.push(idle) } };
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
});
