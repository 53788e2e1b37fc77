/**
 * The BullMQ `Worker` flags of `looppool run --bullmq` reach the consuming worker, against the
 * real Redis on 127.0.0.1:6379: `--remove-on-complete` / `--remove-on-fail` (which finished jobs
 * Redis keeps), `--stalled-interval` and `--max-stalled-count` (how a job whose lock was lost is
 * found and failed).
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.ts';
import { openQueue, REDIS_URL, uniqueQueueName, useRedis } from '../bullmq/helpers.ts';
import { expectNoPoolLeft, fixture, runCli, startCli, uniqueName } from './helpers.ts';

useRedis();

/** Add one job per line with `looppool enqueue` (ids 1, 2, …). */
async function enqueue(queue: string, lines: readonly unknown[]): Promise<void> {
  const run = await runCli(['enqueue', queue, '--redis', REDIS_URL, '-q'], { input: lines.map((l) => `${JSON.stringify(l)}\n`).join('') });
  expect(run.code).toBe(0);
}

describe('looppool run --bullmq: BullMQ worker flags', () => {
  it('--remove-on-complete 1 keeps the latest completed job, --remove-on-fail 0 none of the failed ones', async () => {
    const queueName = uniqueQueueName('cli-remove');
    const queue = openQueue(queueName);
    await enqueue(queueName, [{ key: 'a' }, { fail: true, key: 'x' }, { key: 'b' }, { fail: true, key: 'y' }, { key: 'c' }]);
    const name = uniqueName('bq');

    const run = await runCli(['run', fixture('fail.mjs'), '--bullmq', queueName, '--size', '1', '--concurrency', '1', '--max-jobs', '5', '--name', name,
      '--remove-on-complete', '1', '--remove-on-fail', '0', '-q']);

    expect(run.code).toBe(1); // two attempts failed
    expect(run.records().map((r) => r.job)).toEqual(['1', '2', '3', '4', '5']); // one at a time, in order
    expect(await queue.getJobCounts('active', 'waiting', 'completed', 'failed')).toEqual({ active: 0, waiting: 0, completed: 1, failed: 0 });
    const kept = await Promise.all(['1', '2', '3', '4', '5'].map(async (id) => (await queue.getJob(id)) !== undefined));
    expect(kept).toEqual([false, false, false, false, true]); // before: every job kept (BullMQ's default)
    await expectNoPoolLeft(name);
  });

  it('--remove-on-complete age:1 removes a completed job once another completes a second or more after it', async () => {
    const queueName = uniqueQueueName('cli-remove-age');
    const queue = openQueue(queueName);
    await enqueue(queueName, [{ ms: 0, id: 1 }, { ms: 1_500, id: 2 }]); // the second starts after the first has completed
    const run = await runCli(['run', fixture('sleep.mjs'), '--bullmq', queueName, '--size', '1', '--concurrency', '1', '--max-jobs', '2', '--remove-on-complete', 'age:1', '-q']);
    expect(run.code).toBe(0);
    expect(await queue.getJob('1')).toBeUndefined();
    expect(await (await queue.getJob('2'))?.getState()).toBe('completed');
  });

  it('--stalled-interval and --max-stalled-count 0: a job whose lock is lost is found stalled within the interval and fails for good', async () => {
    const queueName = uniqueQueueName('cli-stalled');
    const queue = openQueue(queueName);
    await enqueue(queueName, [{ ms: 3_000, id: 1 }]);
    const name = uniqueName('bq');
    const cli = startCli(['run', fixture('sleep.mjs'), '--bullmq', queueName, '--size', '1', '--max-jobs', '1', '--name', name,
      '--stalled-interval', '300', '--max-stalled-count', '0']);
    await cli.waitForStderr(/consuming queue/);
    await waitFor(async () => (await queue.getActiveCount()) === 1, 'the job to be running', 20_000);
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.del(`bull:${queueName}:1:lock`)).toBe(1); // as when it expires under a blocked process
    } finally {
      redis.disconnect();
    }

    // BullMQ's default (a check every 30 s, one stall allowed) would put the job back to run again.
    expect((await cli.exit(20_000)).code).toBe(1);
    const [record] = cli.records();
    // The attempt that ran and stalled, the first (before: 2; BullMQ fails the job as it fetches it again).
    expect(record).toMatchObject({ job: '1', attempt: 1, error: { message: expect.stringMatching(/job stalled more than allowable limit/) } });
    const job = await queue.getJob('1');
    expect({ attemptsMade: job?.attemptsMade, attemptsStarted: job?.attemptsStarted, stalledCounter: job?.stalledCounter })
      .toEqual({ attemptsMade: 1, attemptsStarted: 2, stalledCounter: 1 });
    expect(await job?.getState()).toBe('failed');
    expect(job?.failedReason).toMatch(/job stalled more than allowable limit/);
    await expectNoPoolLeft(name);
  });
});

