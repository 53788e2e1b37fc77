import { describe, expect, it } from 'vitest';
import type { Pool } from 'looppool';
import { makePool, pidsOf } from '../helpers/pools.ts';
import { isAlive } from '../helpers/processes.ts';

describe('await using: a pool stops when its block ends', () => {
  it('stops the pool as stop() does: the tasks still queued and running finish first, and no worker is left', async () => {
    let pool!: Pool<number, number>;
    let answers!: Promise<number[]>;
    {
      await using p = makePool<number, number>({ worker: 'safe-sleep.ts', size: 1, concurrency: 1 });
      pool = p;
      expect(await p.run(1)).toBe(1);
      // Not awaited in the block: the stop at its end drains them (a SafeWorker finishes what it holds).
      answers = Promise.all([p.run(200), p.run(50), p.run(10)]);
    }
    expect(pool.state).toBe('stopped');
    await expect(answers).resolves.toEqual([200, 50, 10]);
    expect(pidsOf(pool)).toHaveLength(1);
    expect(pidsOf(pool).filter(isAlive)).toEqual([]);
  });

  it('stops the pool when the block throws, and the error goes on', async () => {
    let pool!: Pool;
    const failure = new Error('the block failed');
    const block = async (): Promise<void> => {
      await using p = makePool({ worker: 'echo.mjs', size: 2 });
      pool = p;
      expect(await p.run('x')).toBe('x');
      throw failure;
    };
    await expect(block()).rejects.toBe(failure);
    expect(pool.state).toBe('stopped');
    expect(pidsOf(pool)).toHaveLength(2);
    expect(pidsOf(pool).filter(isAlive)).toEqual([]);
  });

  it('a pool that never started, or was stopped in the block, is disposed of without error', async () => {
    let unused!: Pool;
    let stopped!: Pool;
    {
      await using a = makePool({ worker: 'echo.mjs' });
      await using b = makePool({ worker: 'echo.mjs' });
      unused = a;
      stopped = b;
      await b.run(1);
      await b.stop();
    }
    expect(unused.state).toBe('stopped');
    expect(pidsOf(unused)).toEqual([]);
    expect(stopped.state).toBe('stopped');
  });
});
