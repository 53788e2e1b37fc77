/**
 * The results workers stream in a `looppool run --bullmq` (`ctx.putResult`, `this.putResult`):
 * written as records as they come, so a job's go before that attempt's own record (which waits
 * for BullMQ to store the job). Never stored in Redis: a job keeps one value, what its task returns.
 */
import type { BullmqConsumer } from '../../bullmq/index.ts';
import type { Pool } from '../../index.ts';
import { extraRecord } from './job-records.ts';

/** Write each streamed result with `write`, after `counted()`. */
export function writeStreamedResults(pool: Pool<unknown, unknown>, consumer: BullmqConsumer<unknown, unknown>, counted: () => void, write: (text: string) => void): void {
  consumer.on('result', (value, info) => {
    counted();
    write(extraRecord(info, value));
  });
  // `this.putResult` outside any task: of no job (the consumer emits those of its jobs' tasks).
  pool.on('result', (value, info) => {
    if (info.taskId !== null) return;
    counted();
    write(extraRecord(null, value));
  });
}
