import { describe, expect, it } from 'vitest';
import type { Pool } from 'looppool';
import { prng } from '../helpers/prng.ts';
import { makePool, pidsOf } from '../helpers/pools.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';
import type { StormTask } from '../fixtures/workers/storm.ts';

type Answer = { value: number; worker: number };

/** After a storm: nothing in flight or queued, then size x concurrency long sleeps all go out at once. */
async function expectWhole(pool: Pool<StormTask, Answer>, size: number, concurrency: number, seed: number): Promise<void> {
  await waitFor(() => {
    const s = pool.stats();
    return s.queued === 0 && s.inFlight === 0 && s.workers.every((w) => w.state === 'ready');
  }, `the pool to be idle and whole after the storm (seed ${seed}): ${JSON.stringify(pool.stats())}`, 8_000);
  const wave = Array.from({ length: size * concurrency }, (_, i) => pool.run({ value: -1 - i, ms: 1_500, deaf: true }).then(() => 'ok', (e: Error) => e.name));
  await waitFor(() => {
    const s = pool.stats();
    return s.queued === 0 && s.workers.every((w) => w.inFlight === concurrency);
  }, `every credit to be taken by one wave (seed ${seed}): ${JSON.stringify(pool.stats())}`, 5_000);
  expect(new Set(await Promise.all(wave))).toEqual(new Set(['ok']));
}

/**
 * A seeded storm on one pool: run/put/putNowait at random under maxQueue, with tasks that fail,
 * stream, block the loop, ignore their signal past a timeout, go to a worker by number, are
 * aborted before or after dispatch, plus SIGKILLs and broadcasts.
 * Then every put task must have settled once, and the pool be whole again (expectWhole).
 */
interface StormShape {
  size: number;
  concurrency: number;
  maxQueue: number;
  /** The share of tasks that block their worker's loop a while. */
  cpuShare: number;
  tasks: number;
}

async function storm(seed: number, { size, concurrency, maxQueue, cpuShare, tasks }: StormShape) {
  const random = prng(seed);
  console.log(`storm seed ${seed} (replay: STORM_SEED=${seed})`);
  // No maxTasksPerWorker: a worker recycled during the last check's wave could not take its share of it.
  const pool = makePool<StormTask, Answer>({ worker: 'storm.ts', size, concurrency, retries: 1, maxQueue, timeoutGrace: 200 });
  const putSettled = new Map<number, number>();
  pool.on('result', (value, info) => {
    if (info.taskId !== null && !('streamed' in (value as object))) putSettled.set(info.taskId, (putSettled.get(info.taskId) ?? 0) + 1);
  });
  pool.on('taskError', (_e, info) => putSettled.set(info.taskId, (putSettled.get(info.taskId) ?? 0) + 1));
  pool.on('workerError', () => {});
  await pool.start();
  const runs: Promise<unknown>[] = [];
  const putIds: Promise<number>[] = [];
  let kills = 0;
  for (let i = 0; i < tasks; i++) {
    const r = random();
    const task: StormTask = { value: i, ms: Math.floor(random() * 30) };
    if (r < cpuShare) task.cpu = Math.floor(random() * 20);
    if (random() < 0.05) task.fail = true;
    if (random() < 0.05) task.stream = 3;
    if (random() < 0.05) { task.deaf = true; task.ms = 150; }
    const options: { worker?: number; timeout?: number; signal?: AbortSignal } = {};
    if (random() < 0.1) options.worker = Math.floor(random() * size);
    if (random() < 0.1) options.timeout = 20 + Math.floor(random() * 40);
    const kind = random();
    if (kind < 0.2) {
      putIds.push(pool.put(task, options));
    } else if (kind < 0.25) {
      try { putIds.push(Promise.resolve(pool.putNowait(task, options))); } catch (e) { expect((e as Error).name).toBe('QueueFullError'); }
    } else {
      const controller = new AbortController();
      if (random() < 0.15) {
        const at = Math.floor(random() * 40);
        setTimeout(() => controller.abort(), at);
      }
      runs.push(pool.run(task, { ...options, signal: controller.signal }).then(() => 'ok', (e: Error) => e.name));
    }
    if (random() < 0.01) {
      const live = pool.stats().workers.filter((w) => w.state === 'ready' && isAlive(w.pid));
      const victim = live[Math.floor(random() * live.length)];
      if (victim && kills < 6) { process.kill(victim.pid, 'SIGKILL'); kills++; }
    }
    if (random() < 0.01) runs.push(pool.broadcast('hi').then(() => 'ok', (e: Error) => e.name));
    if (random() < 0.2) await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 5)));
  }
  const outcomes = await Promise.all(runs);
  const ids = await Promise.all(putIds);
  await waitFor(() => ids.every((id) => putSettled.has(id)), `every put task to settle (seed ${seed})`, 8_000);
  expect(ids.filter((id) => putSettled.get(id) !== 1), `seed ${seed}`).toEqual([]);
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o as string] = (counts[o as string] ?? 0) + 1;
  console.log(`storm seed ${seed}: outcomes ${JSON.stringify(counts)}, ${kills} kills`);
  await expectWhole(pool, size, concurrency, seed);
  await pool.stop();
  expect(pidsOf(pool).some(isAlive)).toBe(false);
}

describe('storm: aborts, timeouts, crashes, recycles, targeted tasks and backpressure at random', () => {
  const seed = Number(process.env.STORM_SEED ?? 1);
  it(`seed ${seed}: every task settles once, and every credit comes back`, async () => {
    await storm(seed, { size: 3, concurrency: 8, maxQueue: 40, cpuShare: 0.05, tasks: 1_000 });
  });
});
