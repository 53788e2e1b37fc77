import { Worker } from 'looppool/worker';

/** looppool's TypeScript benchmark worker (workload E: run through tsx in the child). */
export default class EchoWorker extends Worker<unknown, unknown> {
  override processMessage(task: unknown): unknown {
    return task;
  }
}
