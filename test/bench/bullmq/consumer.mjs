// One consuming pool of the BullMQ benchmark in its own process: argv[2] is JSON
// { queue, size, concurrency, metadata }. Prints "ready" once consuming; SIGTERM closes and exits.
import { fileURLToPath } from 'node:url';
import { Pool } from 'looppool';
import { consume } from 'looppool/bullmq';

const config = JSON.parse(process.argv[2]);
const pool = new Pool({ worker: fileURLToPath(new URL('./worker.mjs', import.meta.url)), size: config.size, concurrency: config.concurrency, name: 'bench' });
const consumer = await consume(pool, config.queue, {
  connection: 'redis://127.0.0.1:6379',
  concurrency: config.size * config.concurrency,
  poolName: 'bench',
  metadata: config.metadata,
});
process.once('SIGTERM', async () => {
  await consumer.close();
  await pool.stop();
  process.exit(0);
});
process.stdout.write('ready\n');
