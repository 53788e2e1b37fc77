// The looppool worker of the BullMQ benchmark: `{ n, ms }` → waits `ms` (if any), returns n.
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'looppool/worker';

export default class BenchWorker extends Worker {
  async processMessage(task) {
    if (task.ms) await sleep(task.ms);
    return task.n;
  }
}
