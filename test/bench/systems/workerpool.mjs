/** workerpool 10 with `workerType: 'process'` (one task at a time per process: no option for more). */
import { fileURLToPath } from 'node:url';
import workerpool from 'workerpool';

export function create({ workers, queue }) {
  const pool = workerpool.pool(fileURLToPath(new URL('../workers/workerpool.mjs', import.meta.url)), {
    workerType: 'process',
    minWorkers: workers,
    maxWorkers: workers,
    ...(queue === undefined ? {} : { maxQueueSize: queue }),
  });
  return {
    run: (task) => pool.exec('h', [task]),
    ready: async () => {},
    stop: () => pool.terminate(true),
  };
}
