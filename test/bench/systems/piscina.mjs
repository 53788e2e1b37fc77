/** piscina 5 (worker threads), at the same per-worker concurrency as everyone else. */
import { Piscina } from 'piscina';

export function create({ workers, concurrency, queue }) {
  const pool = new Piscina({
    filename: new URL('../workers/function.mjs', import.meta.url).href,
    minThreads: workers,
    maxThreads: workers,
    concurrentTasksPerWorker: concurrency,
    idleTimeout: 60_000,
    ...(queue === undefined ? {} : { maxQueue: queue }),
  });
  return {
    run: (task) => pool.run(task),
    ready: async () => {},
    stop: () => pool.destroy(),
  };
}
