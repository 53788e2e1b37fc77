import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'looppool/worker';

/** The soak's worker: echoes, sleeps, or fails on purpose, by task kind. */
export default class SoakWorker extends Worker {
  async processMessage(task) {
    if (task.kind === 'fail') throw new Error('failing on purpose');
    if (task.kind === 'sleep') await sleep(task.ms);
    return task.data ?? null;
  }
}
