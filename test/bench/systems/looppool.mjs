/** looppool, imported by name (the built dist/), with its benchmark worker. */
import { Pool } from 'looppool';

const WORKERS = {
  js: new URL('../workers/looppool.mjs', import.meta.url),
  ts: new URL('../workers/looppool-echo.ts', import.meta.url),
  fn: new URL('../workers/looppool-function.mjs', import.meta.url),
};

export function create({ workers, concurrency, queue, worker = 'js', options = {} }) {
  const pool = new Pool({
    worker: WORKERS[worker],
    size: workers,
    concurrency,
    ...(queue === undefined ? {} : { maxQueue: queue }),
    ...options,
  });
  return {
    run: (task) => pool.run(task),
    ready: () => pool.start(),
    stop: ({ abandon = false } = {}) => pool.stop(abandon ? { drain: false, timeout: 10_000 } : {}),
  };
}
