import { describe, expect, it } from 'vitest';
import { prng } from '../helpers/prng.ts';
import { WorkerCrashedError, type Pool } from 'looppool';
import { makePool, pidsOf } from '../helpers/pools.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';

const TASKS = 20_000;


/** At most this many kills in one run: on a loaded machine a slow run would otherwise see so many that a task is hit on every attempt. */
const MAX_KILLS = 25;

/**
 * With `settled` given, a kill waits until this many more tasks have settled since the last: more
 * than the pool holds in flight (4 x 64), so the tasks a kill sent back have run before the next
 * one. Without it, on a slow or loaded machine (2 spinning processes on a 2-core VM) a retried
 * task could be in flight at 4 kills in a row and fail with its retries spent: the rule working,
 * not a lost task.
 */
const SETTLED_BETWEEN_KILLS = 512;

/**
 * SIGKILL a random live worker every 100-200 ms until `until()` says stop (or MAX_KILLS), and,
 * when `settled` is given, only once SETTLED_BETWEEN_KILLS more tasks have settled. Kills stop
 * once 95% of the tasks have settled: at the very end a lone task could otherwise be killed on
 * two workers in a row and fail as a poison task, which is the rule working, not a lost task.
 */
function killAtRandom(pool: Pool<any, any>, random: () => number, until: () => boolean, settled?: () => number): Promise<number> {
  return new Promise((resolve) => {
    let kills = 0;
    let settledAtKill = -Infinity;
    const tick = (): void => {
      if (until() || kills >= MAX_KILLS) return resolve(kills);
      const live = pool.stats().workers.filter((w) => w.state === 'ready' && isAlive(w.pid));
      const victim = live[Math.floor(random() * live.length)];
      if (victim && (settled === undefined || settled() - settledAtKill >= SETTLED_BETWEEN_KILLS)) {
        process.kill(victim.pid, 'SIGKILL');
        kills++;
        settledAtKill = settled?.() ?? 0;
      }
      setTimeout(tick, 100 + random() * 100);
    };
    setTimeout(tick, 100);
  });
}

async function chaos(retries: number, seed: number) {
  const random = prng(seed);
  const pool = makePool<{ ms: number; value: number }, { value: number }>({ worker: 'sleep.ts', size: 4, concurrency: 64, retries });
  await pool.start();
  const settledOnce = new Uint8Array(TASKS);
  const failures: string[] = [];
  let settled = 0;
  const outcomes: Promise<void>[] = [];
  for (let i = 0; i < TASKS; i++) {
    outcomes.push(
      pool.run({ ms: Math.floor(random() * 3), value: i }).then(
        (answer) => {
          expect(answer.value).toBe(i);
          settledOnce[i] = (settledOnce[i] ?? 0) + 1;
          settled++;
        },
        (error: unknown) => {
          expect(error, `task ${i} (seed ${seed})`).toBeInstanceOf(WorkerCrashedError);
          failures.push(`task ${i}: ${(error as Error).name}: ${(error as Error).message}`);
          settledOnce[i] = (settledOnce[i] ?? 0) + 2;
          settled++;
        },
      ),
    );
  }
  const kills = killAtRandom(pool, random, () => settled >= TASKS * 0.95, () => settled);
  await Promise.all(outcomes);
  expect(await kills).toBeGreaterThan(0);
  await waitFor(() => pool.stats().workers.every((w) => w.state === 'ready'), 'the pool to be back to its full size');
  return { pool, settledOnce, failures };
}

describe('chaos: workers SIGKILLed at random while 20,000 tasks run', () => {
  it('every task settles exactly once, with its result or WorkerCrashedError, and the pool keeps its size', async () => {
    const { pool, settledOnce } = await chaos(0, 1234);
    expect(settledOnce.every((n) => n === 1 || n === 2)).toBe(true);
    const stats = pool.stats();
    expect(stats.done + stats.failed).toBe(TASKS);
    expect(stats.failed).toBeGreaterThan(0);
    expect(stats.workers).toHaveLength(4);
    await pool.stop();
    expect(pidsOf(pool).some(isAlive)).toBe(false);
  });

  it('with retries: 3 every task succeeds', async () => {
    const { pool, settledOnce, failures } = await chaos(3, 99);
    expect(failures).toEqual([]);
    expect(settledOnce.every((n) => n === 1)).toBe(true);
    expect(pool.stats()).toMatchObject({ done: TASKS, failed: 0 });
    expect(pool.stats().retried).toBeGreaterThan(0);
  });

  it('stop() during chaos resolves, settles every task and leaves no process', async () => {
    const random = prng(7);
    const pool = makePool({ worker: 'safe-sleep.ts', size: 3, concurrency: 20 });
    await pool.start();
    const outcomes = Promise.allSettled(Array.from({ length: 2_000 }, () => pool.run(Math.floor(random() * 20))));
    let stopping = false;
    const kills = killAtRandom(pool, random, () => stopping);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const stopped = pool.stop({ timeout: 5_000 });
    stopping = true;
    await stopped;
    await kills;
    const results = await outcomes;
    expect(results).toHaveLength(2_000);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as Error).name).toMatch(/WorkerCrashedError|WorkerStoppedError|PoolStoppedError/);
    expect(pidsOf(pool).some(isAlive)).toBe(false);
  });
});
