/**
 * Looks prices up in a pool of stateful workers, refreshes every worker's table with one
 * broadcast, and looks them up again.
 *
 *   npx tsx manual/examples/broadcast/main.ts
 */
import { Pool } from 'looppool';
import type { PriceTable } from './worker.ts';

const first: PriceTable = { version: 1, prices: { apple: 1.2, pear: 0.9 } };
const pool = new Pool<string, { item: string; price: number | null; version: number; worker: number }>({
  worker: new URL('./worker.ts', import.meta.url),
  size: 2,
  workerData: first, // the table every worker starts with
});
try {
  await pool.start();
  // `worker: n` sends a lookup to worker n, to show that both hold the same table.
  console.log(await pool.run('apple', { worker: 0 }), await pool.run('apple', { worker: 1 }));

  const versions = await pool.broadcast({ version: 2, prices: { apple: 1.5, pear: 1.0, plum: 2.25 } });
  console.log('every worker now holds version', versions); // [2, 2]: a barrier, all have it

  console.log(await pool.run('apple', { worker: 0 }), await pool.run('plum', { worker: 1 }));
} finally {
  await pool.stop();
}
