/** Pools made by tests: created through `makePool`, always stopped and checked after the test. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, type PoolOptions } from 'looppool';
import { isAlive, waitFor } from './processes.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const tracked = new Set<Pool<any, any>>();
const seenPids = new Map<Pool<any, any>, Set<number>>();

/** Absolute path of a fixture worker under test/fixtures/workers. */
export function fixture(name: string): string {
  return path.resolve(here, '../fixtures/workers', name);
}

/** A pool whose processes are tracked, stopped after the test and checked to be gone. */
export function makePool<TTask = any, TResult = any>(options: Omit<PoolOptions, 'worker'> & { worker: string }): Pool<TTask, TResult> {
  const worker = options.worker.includes('/') ? options.worker : fixture(options.worker);
  const pool = new Pool<TTask, TResult>({ size: 2, ...options, worker });
  const pids = new Set<number>();
  pool.on('workerStart', ({ pid }) => pids.add(pid));
  tracked.add(pool);
  seenPids.set(pool, pids);
  return pool;
}

/** Every pid a tracked pool has started so far. */
export function pidsOf(pool: Pool<any, any>): number[] {
  return [...(seenPids.get(pool) ?? [])];
}

export async function stopTrackedPools(): Promise<void> {
  const pools = [...tracked];
  tracked.clear();
  await Promise.all(pools.map((pool) => pool.stop({ drain: false, timeout: 5_000 }).catch(() => {})));
  for (const pool of pools) {
    const pids = pidsOf(pool);
    seenPids.delete(pool);
    await waitFor(() => pids.every((pid) => !isAlive(pid)), `the workers of pool ${pool.stats().state} (${pids.join(', ')}) to exit`, 5_000);
  }
}
