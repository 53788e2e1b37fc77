/**
 * Jobs whose data BullMQ cannot read. BullMQ stores a job's data as JSON and parses it as it
 * fetches the job; data that is not JSON (written by a producer other than BullMQ) made that fetch
 * throw after Redis had made the job active, and nobody renewed its lock or finished it: the
 * stalled-job check put it back, the next fetch threw again, for ever (BullMQ's own "stalled more
 * than allowable limit" is read from the same job, so it never came either). Such a job is now
 * fetched with no data and failed by the consumer, like data that cannot be sent to a worker.
 */
import type { Job, JobJson } from 'bullmq';
import { SerializationError } from '../errors.ts';
import type { BullmqModule } from './load.ts';

/** The jobs fetched with unreadable data, and why. */
const unreadable = new WeakMap<object, SerializationError>();

/** Why `job`'s data could not be read, if it could not (its task must not run: it has no data). */
export function unreadableData(job: Job): SerializationError | undefined {
  return unreadable.get(job);
}

/** BullMQ's `Worker`, made to fetch a job whose data is not JSON (see {@link unreadableData}) instead of throwing. */
export function readingWorker(bullmq: BullmqModule): BullmqModule['Worker'] {
  return class ReadingWorker<D, R, N extends string> extends bullmq.Worker<D, R, N> {
    protected override createJob(json: JobJson, jobId: string): Job<D, R, N> {
      try {
        return super.createJob(json, jobId);
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        const job = super.createJob({ ...json, data: 'null' }, jobId);
        unreadable.set(job, new SerializationError('unsupported', 'job data', `Redis holds no JSON for it (${error.message})`, { cause: error }));
        return job;
      }
    }
  };
}
