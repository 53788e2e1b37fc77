import { describe, expect, it } from 'vitest';
import { makePool } from '../helpers/pools.ts';
import { waitFor } from '../helpers/processes.ts';
import type { StormTask } from '../fixtures/workers/storm.ts';

describe('retries after a crash', () => {
  it('the tasks a dead worker held are sent again in the order they were submitted', async () => {
    const pool = makePool<StormTask, unknown>({ worker: 'storm.ts', size: 1, concurrency: 4, retries: 1 });
    await pool.start();
    const sent: { value: number; pid: number }[] = [];
    const runs = [0, 1, 2, 3].map((value) => pool.run({ value, ms: 400 }, { onDispatch: ({ pid }) => sent.push({ value, pid }) }));
    await waitFor(() => pool.stats().inFlight === 4, 'the worker to hold the four tasks');
    const first = pool.stats().workers[0]?.pid as number;
    process.kill(first, 'SIGKILL');
    await Promise.all(runs);
    expect(sent.filter((s) => s.pid !== first).map((s) => s.value)).toEqual([0, 1, 2, 3]);
  });
});
