// The same job for BullMQ's sandboxed processors (a child process per concurrent job).
import { setTimeout as sleep } from 'node:timers/promises';

export default async function process(job) {
  if (job.data.ms) await sleep(job.data.ms);
  return job.data.n;
}
