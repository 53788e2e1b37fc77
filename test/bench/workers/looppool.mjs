import { Worker } from 'looppool/worker';
import { handle } from '../handler.mjs';

/** looppool's benchmark worker (plain JavaScript). */
export default class BenchWorker extends Worker {
  processMessage(task) {
    return handle(task);
  }
}
