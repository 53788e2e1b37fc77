/**
 * poolifier 5 `FixedClusterPool` (cluster = child processes). Its tasks queue is off by default:
 * every task is posted to a child at once, and the benchmark's window is what bounds the tasks in
 * flight. The memory workload (`queue` set) turns the queue on so tasks wait in the parent.
 */
import { fileURLToPath } from 'node:url';
import { FixedClusterPool } from 'poolifier';

export function create({ workers, concurrency, queue }) {
  const pool = new FixedClusterPool(workers, fileURLToPath(new URL('../workers/poolifier.cjs', import.meta.url)), {
    errorHandler: (e) => console.error('poolifier worker error', e),
    ...(queue === undefined
      ? {}
      : { enableTasksQueue: true, tasksQueueOptions: { concurrency, size: Number.isFinite(queue) ? queue : 2 ** 30 } }),
  });
  return {
    run: (task) => pool.execute(task),
    ready: async () => {},
    stop: () => pool.destroy(),
  };
}
