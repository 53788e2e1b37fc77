/** The consumer's `result` event: what a job's task streams (`ctx.putResult`), with its job, against the real Redis. */
import { describe, expect, it } from 'vitest';
import { BullmqConsumer } from 'looppool/bullmq';
import { makePool } from '../helpers/pools.ts';
import { waitFor } from '../helpers/processes.ts';
import { bullmqFixture, closeAfterTest, openQueue, REDIS_URL, uniqueQueueName, useRedis } from './helpers.ts';

useRedis();

describe('BullmqConsumer: streamed results', () => {
  it('emits each result a job\'s task streams as `result` with the job, before its `completed`; not those of other tasks of the pool', async () => {
    const name = uniqueQueueName('streamed');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('../cli/streams-two.mjs'), size: 1, concurrency: 2 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL }));
    const events: unknown[] = [];
    consumer.on('result', (value, info) => events.push(['result', value, info]));
    consumer.on('completed', (value, info) => events.push(['completed', value, info.jobId]));
    await consumer.start();

    expect(await pool.run('not a job')).toBe('done'); // the pool's own task: its results are no job's
    const job = await queue.add('streamer', 'j');
    await waitFor(() => consumer.stats().completed === 1, 'the job to complete', 30_000);

    const info = { jobId: job.id, name: 'streamer', attempt: 1 };
    expect(events).toEqual([
      ['result', { task: 'j', n: 1 }, info],
      ['result', { task: 'j', n: 2 }, info],
      ['completed', 'done', job.id],
    ]);
  });
});
