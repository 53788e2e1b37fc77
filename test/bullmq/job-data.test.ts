/** Jobs whose data Redis holds as something BullMQ cannot read (a producer other than BullMQ wrote it), against the real Redis. */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { BullmqConsumer } from 'looppool/bullmq';
import { makePool } from '../helpers/pools.ts';
import { waitFor } from '../helpers/processes.ts';
import { bullmqFixture, closeAfterTest, openQueue, REDIS_URL, uniqueQueueName, useRedis } from './helpers.ts';

useRedis();

describe('BullmqConsumer: job data that is not JSON', () => {
  it('fails such a job for good with a SerializationError, counted, and runs the jobs before and after it', async () => {
    // Before: BullMQ's fetch threw on the data and left the job active with nobody renewing its
    // lock; the stalled-job check put it back, the next fetch threw again, for ever (BullMQ's own
    // "stalled more than allowable limit" is read from the same job, so it never came either).
    // Fetched in the completion of the job before it, it also made BullMQ try to fail that
    // completed job: a spurious 'Missing lock' error.
    const name = uniqueQueueName('bad-data');
    const queue = openQueue(name);
    const [before, bad, after] = await queue.addBulk([
      { name: 't', data: { id: 1, ms: 0 } },
      { name: 't', data: { id: 2, ms: 0 }, opts: { attempts: 3 } },
      { name: 't', data: { id: 3, ms: 0 } },
    ]);
    const redis = new Redis(REDIS_URL);
    try {
      await redis.hset(`bull:${name}:${bad?.id}`, 'data', 'not JSON {'); // as a producer of its own might write it

      const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 1, concurrency: 1 });
      const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 1, workerOptions: { lockDuration: 2_000, stalledInterval: 500 } }));
      const errors: string[] = [];
      const failed: Array<{ jobId: string; message: string; attempt: number; error: string | undefined }> = [];
      consumer.on('error', (error) => errors.push(error.message));
      consumer.on('failed', (error, info) => failed.push({ jobId: info.jobId, message: error.message, attempt: info.meta.attempt, error: info.meta.error }));
      await consumer.start();

      await waitFor(() => consumer.stats().completed === 2 && consumer.stats().failed === 1, 'two jobs completed and the bad one failed', 30_000);
      expect(await queue.getJobState(bad?.id as string)).toBe('failed');
      const [reason, attemptsMade] = await redis.hmget(`bull:${name}:${bad?.id}`, 'failedReason', 'atm');
      expect(reason).toMatch(/^SerializationError: Cannot send job data: Redis holds no JSON for it \(.*not valid JSON/);
      expect(attemptsMade).toBe('1'); // not retried: the same again on every attempt
      expect(failed).toEqual([{ jobId: bad?.id, message: reason, attempt: 1, error: 'SerializationError' }]);
      for (const job of [before, after]) expect(await queue.getJobState(job?.id as string)).toBe('completed');
      expect(consumer.stats()).toMatchObject({ taken: 3, completed: 2, failed: 1, requeued: 0, active: 0 });
      expect(errors).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
