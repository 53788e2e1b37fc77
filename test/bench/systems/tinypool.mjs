/**
 * tinypool 2 with `runtime: 'child_process'`. By default tinypool starts its children with an
 * almost empty environment; the `env` option (`inheritEnv`) hands them the parent's instead.
 */
import { Tinypool } from 'tinypool';

export function create({ workers, concurrency, queue, inheritEnv = false }) {
  const pool = new Tinypool({
    filename: new URL('../workers/function.mjs', import.meta.url).href,
    runtime: 'child_process',
    minThreads: workers,
    maxThreads: workers,
    concurrentTasksPerWorker: concurrency,
    idleTimeout: 60_000,
    isolateWorkers: false,
    ...(inheritEnv ? { env: { ...process.env } } : {}),
    ...(queue === undefined ? {} : { maxQueue: queue }),
  });
  return {
    run: (task) => pool.run(task),
    ready: async () => {},
    stop: () => pool.destroy(),
  };
}
