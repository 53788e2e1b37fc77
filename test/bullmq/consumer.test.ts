/** One pool and its BullMQ consumer in the test process, against the real Redis. */
import os from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Worker as BullWorker, WaitingError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { PoolStoppedError, PoolUnhealthyError } from 'looppool';
import { makePool } from '../helpers/pools.ts';
import { waitFor } from '../helpers/processes.ts';
import { failureOf, throwingGetter } from '../helpers/getters.ts';
import { bullmqFixture, closeAfterTest, closedPortUrl, openQueue, REDIS_URL, uniqueQueueName, useRedis } from './helpers.ts';
import { BullmqConsumer, RedisUnavailableError, type JobMetadata } from 'looppool/bullmq';

useRedis();

const execFileAsync = promisify(execFile);

async function stateOf(queue: ReturnType<typeof openQueue>, id: string | undefined): Promise<string> {
  const job = await queue.getJob(id as string);
  return job ? job.getState() : 'missing';
}

/** Delete the lock of a running job in Redis, as when it expires under a blocked process; resolves with how many keys went (1). */
async function deleteLock(queueName: string, jobId: string | undefined): Promise<number> {
  const redis = new Redis(REDIS_URL);
  try {
    return await redis.del(`bull:${queueName}:${jobId}:lock`);
  } finally {
    redis.disconnect();
  }
}

describe('BullmqConsumer', () => {
  it('fails a job whose task throws with the error name and message, retried per attempts', async () => {
    const name = uniqueQueueName('throws');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('quota.ts'), size: 1, concurrency: 2 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 2, poolName: 'quota' }));
    const failures: Array<{ message: string; meta: JobMetadata }> = [];
    consumer.on('failed', (error, info) => failures.push({ message: error.message, meta: info.meta }));
    await consumer.start();

    const added = await queue.add('t', 'job-1', { attempts: 3 });
    await waitFor(async () => (await stateOf(queue, added.id)) === 'failed', 'the job to fail for good', 30_000);
    await waitFor(() => consumer.stats().failed === 3, 'the last failure to be counted', 30_000); // once BullMQ has moved the job

    const job = await queue.getJob(added.id as string);
    expect(job?.failedReason).toBe('QuotaError: quota exceeded for job-1');
    expect(job?.attemptsMade).toBe(3);
    expect(job?.stacktrace).toHaveLength(3);
    expect(job?.stacktrace?.[0]).toMatch(/^QuotaError: quota exceeded for job-1\n.*quota\.ts/s);
    expect(job?.progress).toMatchObject({
      host: os.hostname(), pid: process.pid, pool: 'quota', worker: 0, attempt: 3, outcome: 'failed', error: 'QuotaError',
    });
    expect((job?.progress as unknown as JobMetadata).workerPid).toBeGreaterThan(0);
    expect(failures.map((f) => f.message)).toEqual(Array(3).fill('QuotaError: quota exceeded for job-1'));
    expect(failures.map((f) => f.meta.attempt)).toEqual([1, 2, 3]);
    expect(consumer.stats()).toMatchObject({ taken: 3, completed: 0, failed: 3, requeued: 0, active: 0, capacity: 2 });
  });

  it('counts a job BullMQ fails without calling the processor (started more than maxStartedAttempts) as taken and failed, and says so: maxJobs is reached', async () => {
    // Before: no 'failed' event and no count, so a consumer (looppool run --max-jobs) waiting for
    // it waited for ever. BullMQ fails a job so when it fetches it (the same path as a job that
    // stalled more than maxStalledCount times).
    const name = uniqueQueueName('unrun');
    const queue = openQueue(name);
    const added = await queue.add('t', 'job-1', { attempts: 3 });
    // Another consumer starts the job and puts it back: one start used.
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    let back!: () => void;
    const wentBack = new Promise<void>((resolve) => (back = resolve));
    const other = new BullWorker(name, async (job, token) => {
      await job.moveToWait(token);
      back();
      throw new WaitingError();
    }, { connection: redis });
    try {
      await wentBack;
      await other.close();
    } finally {
      redis.disconnect();
    }

    const pool = makePool({ worker: bullmqFixture('quota.ts'), size: 1, concurrency: 1 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 1, maxJobs: 1, workerOptions: { maxStartedAttempts: 1 } }));
    const failures: Array<{ message: string; meta: JobMetadata }> = [];
    consumer.on('failed', (error, info) => failures.push({ message: error.message, meta: info.meta }));
    await consumer.start();
    await waitFor(async () => (await stateOf(queue, added.id)) === 'failed', 'BullMQ to fail the job at its second start', 30_000);
    await waitFor(() => consumer.stats().failed === 1, 'the failure to be counted', 30_000);
    expect(failures.map((f) => f.message)).toEqual(['job started more than allowable limit']);
    // attempt: the one the other consumer started (before: 2, from attemptsMade, which BullMQ had already raised to 1).
    expect(failures[0]?.meta).toMatchObject({ worker: null, workerPid: null, attempt: 1, outcome: 'failed', error: 'UnrecoverableError' });
    expect(consumer.stats()).toMatchObject({ taken: 1, completed: 0, failed: 1, requeued: 0, active: 0 });
    const job = await queue.getJob(added.id as string);
    expect({ attemptsMade: job?.attemptsMade, attemptsStarted: job?.attemptsStarted }).toEqual({ attemptsMade: 1, attemptsStarted: 2 });
  });

  it('fails, without a retry, a job whose result JSON cannot write (it was counted complete, then failed by BullMQ); JSON\'s rules apply to the rest', async () => {
    const name = uniqueQueueName('unstorable');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('unstorable.ts'), size: 1, concurrency: 2 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 2 }));
    const completed: unknown[] = [];
    consumer.on('completed', (value) => completed.push(value));
    await consumer.start();

    const jobs = await queue.addBulk(['bigint', 'cycle', 'everyday', 'plain'].map((data) => ({ name: 't', data, opts: { attempts: 3 } })));
    await waitFor(async () => (await queue.getFailedCount()) === 2 && (await queue.getCompletedCount()) === 2, 'two jobs failed, two completed', 30_000);
    await waitFor(() => consumer.stats().completed + consumer.stats().failed === 4, 'the four outcomes to be counted', 30_000);
    for (const added of jobs.slice(0, 2)) {
      const job = await queue.getJob(added.id as string);
      expect(job?.failedReason).toMatch(/^SerializationError: Cannot send job return value: BullMQ stores it as JSON, which cannot write it/);
      expect(job?.attemptsMade).toBe(1); // the same again on every attempt: not retried
    }
    expect((await queue.getJob(jobs[2]?.id as string))?.returnvalue).toEqual({ score: 0, at: '1970-01-01T00:00:00.000Z' });
    expect(completed).toHaveLength(2);
    expect(consumer.stats()).toMatchObject({ taken: 4, completed: 2, failed: 2 });
  });

  it('fails the job of a crashed worker so BullMQ retries it, and runs the other jobs', async () => {
    const name = uniqueQueueName('crash');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('crash.ts'), size: 2, concurrency: 1 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 2 }));
    await consumer.start();

    const crashing = await queue.add('t', 'exit', { attempts: 2 });
    const fine = await queue.addBulk(Array.from({ length: 5 }, () => ({ name: 't', data: 'fine' })));
    await waitFor(async () => (await stateOf(queue, crashing.id)) === 'failed', 'the crashing job to fail for good', 30_000);
    await waitFor(async () => (await queue.getCompletedCount()) === 5, 'the other jobs to complete', 30_000);
    await waitFor(() => consumer.stats().completed === 5 && consumer.stats().failed === 2, 'the outcomes to be counted', 30_000);

    const job = await queue.getJob(crashing.id as string);
    expect(job?.failedReason).toMatch(/^WorkerCrashedError: Worker [01] \(pid \d+\) exited unexpectedly \(exit code 3\)$/);
    expect(job?.attemptsMade).toBe(2);
    for (const { id } of fine) expect((await queue.getJob(id as string))?.returnvalue).toBe('ok');
    expect(consumer.stats()).toMatchObject({ taken: 7, completed: 5, failed: 2 });
  });

  it('counts a job completed, and says so, only once BullMQ has completed it: not when its lock was lost and it runs again', async () => {
    const name = uniqueQueueName('lost-lock');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 1, concurrency: 1 });
    const consumer = closeAfterTest(
      new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 1, workerOptions: { stalledInterval: 300 } }),
    );
    const completed: unknown[] = [];
    const errors: string[] = [];
    consumer.on('completed', (value) => completed.push(value));
    consumer.on('error', (error) => errors.push(error.message));
    await consumer.start();

    const added = await queue.add('t', { id: 1, ms: 1_500 });
    await waitFor(() => consumer.stats().active === 1, 'the job to be running', 30_000);
    expect(await deleteLock(name, added.id)).toBe(1); // as when the lock expires under a blocked process

    await waitFor(async () => consumer.stats().taken === 2 && (await stateOf(queue, added.id)) === 'completed', 'the job to run again and complete', 30_000);
    await waitFor(() => consumer.stats().completed === 1, 'the completion to be counted', 30_000);
    expect(consumer.stats()).toMatchObject({ taken: 2, completed: 1, failed: 0, active: 0 });
    expect(completed).toEqual([{ id: 1, consumerPid: process.pid, worker: 0 }]);
    expect(errors.some((message) => /lock/i.test(message))).toBe(true); // BullMQ could not complete the first attempt
  });

  it('counts both attempts of a job whose lock was lost and that it takes again while the first still runs', async () => {
    const name = uniqueQueueName('lost-lock-twice');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 1, concurrency: 2 });
    const consumer = closeAfterTest(
      new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 2, workerOptions: { stalledInterval: 300 } }),
    );
    consumer.on('error', () => {}); // BullMQ cannot store the first attempt: its lock is gone
    await consumer.start();
    const added = await queue.add('t', { id: 1, ms: 3_000 });
    await waitFor(() => consumer.stats().active === 1, 'the job to be running', 30_000);
    expect(await deleteLock(name, added.id)).toBe(1);

    await waitFor(() => consumer.stats().taken === 2, 'the job to be taken again', 30_000);
    expect(consumer.stats().active).toBe(2); // before: 1 (both attempts under one job id), then 0 while the second ran
    await waitFor(() => consumer.stats().completed === 1, 'the second attempt to complete', 30_000);
    await waitFor(() => consumer.stats().active === 0, 'both attempts to end', 30_000);
  });

  it('close() with bad options rejects with a TypeError and closes nothing: the consumer takes jobs on', async () => {
    // Before: close({ force: 'yes' }) started a forced close, close(null) threw a raw TypeError, a throwing getter surfaced raw.
    const name = uniqueQueueName('close-bad');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 1, concurrency: 2 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 2 }));
    await consumer.start();
    const bad: unknown[] = [{ force: 'yes' }, null, { forse: true }, throwingGetter({}, 'force', new Error('boom'))];
    for (const options of bad) {
      const error = await failureOf(() => consumer.close(options as { force?: boolean }));
      expect(error).toBeInstanceOf(TypeError);
    }
    expect((await failureOf(() => consumer.close(throwingGetter({}, 'force', new Error('boom'))))) as Error).toMatchObject({ message: expect.stringContaining('`force` to be readable'), cause: expect.objectContaining({ message: 'boom' }) });
    expect(consumer.stats().state).not.toBe('closed');
    await queue.add('t', { id: 1, ms: 10 });
    await waitFor(() => consumer.stats().completed === 1, 'a job to complete after the refused closes', 30_000);
    await consumer.close();
    await pool.stop();
  });

  it('close() stops taking jobs, lets the jobs in flight finish and leaves none active', async () => {
    const name = uniqueQueueName('close');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 2, concurrency: 2 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 4 }));
    await consumer.start();
    await queue.addBulk(Array.from({ length: 40 }, (_, id) => ({ name: 't', data: { id, ms: 300 } })));
    await waitFor(() => consumer.stats().completed >= 4 && consumer.stats().active > 0, 'jobs to be running', 30_000);

    await consumer.close();

    const stats = consumer.stats();
    expect(stats).toMatchObject({ state: 'closed', active: 0, failed: 0, requeued: 0 });
    expect(stats.completed).toBe(stats.taken);
    const counts = await queue.getJobCounts();
    expect(counts).toMatchObject({ active: 0, completed: stats.taken, waiting: 40 - stats.taken, failed: 0 });
    await pool.stop();
    expect(pool.stats().state).toBe('stopped');
  });

  it('await using closes the consumer, then stops its pool, when the block ends: no job is left active', async () => {
    const name = uniqueQueueName('using');
    const queue = openQueue(name);
    let pool!: ReturnType<typeof makePool>;
    let consumer!: BullmqConsumer;
    {
      await using p = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 2, concurrency: 2 });
      await using c = new BullmqConsumer(p, name, { connection: REDIS_URL, concurrency: 4 });
      pool = p;
      consumer = c;
      await c.start();
      await queue.addBulk(Array.from({ length: 40 }, (_, id) => ({ name: 't', data: { id, ms: 300 } })));
      await waitFor(() => c.stats().completed >= 4 && c.stats().active > 0, 'jobs to be running', 30_000);
    }
    expect(consumer.state).toBe('closed');
    expect(pool.state).toBe('stopped');
    const stats = consumer.stats();
    expect(stats).toMatchObject({ active: 0, failed: 0, requeued: 0 });
    expect(stats.completed).toBe(stats.taken);
    expect(await queue.getJobCounts()).toMatchObject({ active: 0, completed: stats.taken, waiting: 40 - stats.taken, failed: 0 });
  });

  it('pause() takes no new jobs and lets those in flight finish; resume() takes them again (paused before start() too)', async () => {
    const name = uniqueQueueName('pause');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 1, concurrency: 2 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 2 }));
    await queue.addBulk(Array.from({ length: 30 }, (_, id) => ({ name: 't', data: { id, ms: 100 } })));
    const pauseFor = async (ms: number): Promise<number> => {
      const taken = consumer.stats().taken;
      await new Promise((resolve) => setTimeout(resolve, ms));
      expect(consumer.stats()).toMatchObject({ taken, paused: true });
      return taken;
    };

    consumer.pause();
    await consumer.start();
    expect(await pauseFor(500)).toBe(0);

    consumer.resume();
    await waitFor(() => consumer.stats().completed >= 4 && consumer.stats().active > 0, 'jobs to be running', 30_000);
    consumer.pause();
    await waitFor(() => consumer.stats().active === 0 && consumer.stats().completed === consumer.stats().taken, 'the jobs in flight to finish', 30_000);
    const taken = await pauseFor(500);
    expect(consumer.stats().completed).toBe(taken);
    expect(await queue.getJobCounts('waiting', 'active')).toEqual({ waiting: 30 - taken, active: 0 });

    consumer.resume();
    await waitFor(() => consumer.stats().completed === 30, 'every job to complete', 30_000);
    expect(consumer.stats()).toMatchObject({ taken: 30, failed: 0, paused: false });
  });

  it('paused while idle, it takes none of the jobs added afterwards (the one its waiting fetch still gets goes back untouched)', async () => {
    const name = uniqueQueueName('pause-idle');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 1, concurrency: 2 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 2 }));
    const requeued: string[] = [];
    consumer.on('requeued', (info) => requeued.push(info.reason));
    await consumer.start();
    await new Promise((resolve) => setTimeout(resolve, 500)); // its fetch now waits in Redis for a job
    consumer.pause();
    await queue.addBulk(Array.from({ length: 5 }, (_, id) => ({ name: 't', data: { id, ms: 10 } })));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(consumer.stats()).toMatchObject({ taken: 0, completed: 0, paused: true });
    expect(await queue.getJobCounts('waiting', 'active', 'completed')).toEqual({ waiting: 5, active: 0, completed: 0 });
    expect(requeued.every((reason) => reason === 'the consumer is paused')).toBe(true);

    consumer.resume();
    await waitFor(() => consumer.stats().completed === 5, 'every job to complete', 30_000);
    expect(consumer.stats()).toMatchObject({ taken: 5, failed: 0 });
  });

  it('with maxJobs, takes no job beyond what they need: at most concurrency - 1 more, then it holds (those in flight finish)', async () => {
    const name = uniqueQueueName('max-jobs');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 1, concurrency: 20 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, maxJobs: 10 }));
    const requeued: string[] = [];
    consumer.on('requeued', (info) => requeued.push(info.reason));
    // The jobs of one batch end together: each that ends used to let BullMQ fetch the next one.
    await queue.addBulk(Array.from({ length: 100 }, (_, id) => ({ name: 't', data: { id, ms: 200 } })));
    await consumer.start();
    await waitFor(() => consumer.stats().completed >= 10 && consumer.stats().active === 0, 'the jobs to finish', 30_000);
    const { taken } = consumer.stats();
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(consumer.stats()).toMatchObject({ taken, completed: taken, failed: 0, active: 0, paused: true });
    expect(taken).toBeGreaterThanOrEqual(10);
    expect(taken).toBeLessThanOrEqual(10 + 20 - 1);
    expect(await queue.getJobCounts('waiting', 'active', 'completed')).toEqual({ waiting: 100 - taken, active: 0, completed: taken });
    // BullMQ fetches no more at once than the limit needs: at most the one it fetches as the last is stored goes back.
    expect(requeued.length).toBeLessThanOrEqual(1);
    expect(requeued.every((reason) => reason === 'the consumer has the jobs its maxJobs needs')).toBe(true);
  });

  it('close({ force: true }) puts the jobs in flight back in the queue without using an attempt', async () => {
    const name = uniqueQueueName('force');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 2, concurrency: 2 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 4 }));
    const requeued: string[] = [];
    consumer.on('requeued', (info) => requeued.push(info.jobId));
    await consumer.start();
    await queue.addBulk(Array.from({ length: 6 }, (_, id) => ({ name: 't', data: { id, ms: 60_000 } })));
    await waitFor(() => consumer.stats().active === 4, '4 jobs in flight', 30_000);

    await consumer.close({ force: true });

    expect(consumer.stats()).toMatchObject({ state: 'closed', active: 0, taken: 4, requeued: 4, failed: 0, completed: 0 });
    expect(requeued).toHaveLength(4);
    expect(await queue.getJobCounts()).toMatchObject({ active: 0, waiting: 6, failed: 0, completed: 0 });
    for (const job of await queue.getJobs(['waiting'])) expect(job.attemptsMade).toBe(0);
    await pool.stop();
  });

  it('puts the jobs back and closes itself when its pool is terminated under it', async () => {
    const name = uniqueQueueName('terminated');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 2, concurrency: 2 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 4 }));
    await consumer.start();
    await queue.addBulk(Array.from({ length: 10 }, (_, id) => ({ name: 't', data: { id, ms: 60_000 } })));
    await waitFor(() => consumer.stats().active === 4, '4 jobs in flight', 30_000);

    await pool.terminate();
    await waitFor(() => consumer.state === 'closed', 'the consumer to close itself', 30_000);

    // Each job once: what BullMQ's waiting fetch handed over while it closed went back uncounted (it was counted again).
    expect(consumer.stats()).toMatchObject({ active: 0, failed: 0, completed: 0, taken: 4, requeued: 4 });
    expect(await queue.getJobCounts()).toMatchObject({ active: 0, waiting: 10, failed: 0 });
    for (const job of await queue.getJobs(['waiting'])) expect(job.attemptsMade).toBe(0);
  });

  // With a slot free, BullMQ's fetch was waiting: it got the job the close had just put back, the
  // consumer ran it again in full, and close({ force: true }) waited for it (a stop of the pool
  // under it counted the job taken and put back twice).
  it.each(['close({ force: true })', 'pool.terminate()'])('%s with a slot free: the job goes back once and is not taken again', async (how) => {
    const name = uniqueQueueName('free-slot');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 1, concurrency: 2 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 2 }));
    const events: string[] = [];
    for (const event of ['completed', 'failed', 'requeued'] as const) consumer.on(event, () => events.push(event));
    await consumer.start();
    await queue.add('t', { id: 1, ms: 60_000 });
    await waitFor(() => consumer.stats().active === 1, 'the job in flight', 30_000);

    if (how === 'pool.terminate()') await pool.terminate();
    else await consumer.close({ force: true });
    await waitFor(() => consumer.state === 'closed', 'the consumer to close', 30_000);

    expect(consumer.stats()).toMatchObject({ active: 0, taken: 1, requeued: 1, completed: 0, failed: 0 });
    expect(events).toEqual(['requeued']);
    expect(await queue.getJobCounts()).toMatchObject({ active: 0, waiting: 1, completed: 0 });
    expect((await queue.getJobs(['waiting']))[0]?.attemptsMade).toBe(0);
    await pool.stop();
  });

  it('closed while it starts, it takes no job: start() rejects with PoolStoppedError', async () => {
    // Before: start() resolved, BullMQ took the job, the consumer ran it in full and close() waited.
    const name = uniqueQueueName('close-starting');
    const queue = openQueue(name);
    await queue.add('t', { id: 1, ms: 60_000 });
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 1, concurrency: 2 });
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 2 }));
    const started = consumer.start().then(() => 'started', (error: unknown) => error);
    await consumer.close({ force: true });
    expect(await started).toBeInstanceOf(PoolStoppedError);
    expect(consumer.stats()).toMatchObject({ state: 'closed', taken: 0, active: 0 });
    expect(await queue.getJobCounts()).toMatchObject({ active: 0, waiting: 1 });
    await pool.stop();
  });

  it("records the machine, pool and timings as the job's log with metadata: 'log', and names the consumer in processedBy", async () => {
    const name = uniqueQueueName('log');
    const queue = openQueue(name);
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 1, concurrency: 1 });
    const consumer = closeAfterTest(
      new BullmqConsumer(pool, name, { connection: REDIS_URL, concurrency: 1, metadata: 'log', poolName: 'logs-pool' }),
    );
    await consumer.start();
    const added = await queue.add('t', { id: 7, ms: 20 });
    await waitFor(async () => (await stateOf(queue, added.id)) === 'completed', 'the job to complete', 30_000);

    const job = await queue.getJob(added.id as string);
    expect(job?.returnvalue).toMatchObject({ id: 7, consumerPid: process.pid, worker: 0 });
    expect(job?.processedBy).toBe(`${os.hostname()}/${process.pid}/logs-pool`);
    const { logs } = await queue.getJobLogs(added.id as string);
    expect(logs).toHaveLength(1);
    const meta = JSON.parse(logs[0] as string) as JobMetadata;
    expect(meta).toMatchObject({ host: os.hostname(), pid: process.pid, pool: 'logs-pool', attempt: 1, outcome: 'completed' });
    expect(meta.runMs).toBeGreaterThanOrEqual(0);
    expect(meta.waitMs).toBeGreaterThanOrEqual(0);
    expect(job?.progress).toBe(0); // metadata went to the log, not the progress
  });

  it('fails to start with BullmqMissingError, saying what to install, when bullmq is not installed', async () => {
    const { stdout } = await execFileAsync(process.execPath, [bullmqFixture('missing-bullmq.mjs')]);
    expect(JSON.parse(stdout)).toEqual({
      name: 'BullmqMissingError',
      code: 'ERR_BULLMQ_MISSING',
      package: 'bullmq',
      message: "looppool's BullMQ support needs the optional package `bullmq` (and its Redis driver `ioredis`): run `npm install bullmq ioredis`",
    });
  });

  it('fails to start with RedisUnavailableError when Redis does not answer within readyTimeout', async () => {
    const url = await closedPortUrl();
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 1, concurrency: 1 });
    const consumer = new BullmqConsumer(pool, 'never-used', { connection: url, concurrency: 1, readyTimeout: 500 });
    const error = await consumer.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toContain(`Redis at ${url} did not answer within 500 ms (last error: connect ECONNREFUSED`);
    expect(consumer.state).toBe('closed');
    await consumer.close(); // closing a consumer that failed to start is a no-op
  });

  it('fails to start at once with RedisUnavailableError when Redis refuses the credentials, not after readyTimeout', async () => {
    const url = 'redis://looppool-nobody:wrong@127.0.0.1:6379'; // no such ACL user: WRONGPASS
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 1, concurrency: 1 });
    const consumer = new BullmqConsumer(pool, 'never-used', { connection: url, concurrency: 1, readyTimeout: 600_000 });
    const error = await consumer.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:6379\/? refused the credentials \(last error: WRONGPASS/);
    expect(consumer.state).toBe('closed');
  });

  it('holds off while its pool is unhealthy, putting the jobs back untouched, and resumes once it heals', async () => {
    const name = uniqueQueueName('unhealthy');
    const queue = openQueue(name);
    let healthy = false;
    let runs = 0;
    let healthChecks = 0;
    // A pool whose workers keep failing to start, as the real one reports it: run() rejects at once.
    const pool = {
      size: 1,
      concurrency: 2,
      start: async () => {},
      run: async (n: number) => {
        runs++;
        if (!healthy) throw new PoolUnhealthyError(5, undefined);
        return n * 2;
      },
      stats: () => {
        healthChecks++;
        return { healthy };
      },
    };
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL }));
    await consumer.start();
    await queue.addBulk([1, 2, 3, 4, 5].map((n) => ({ name: 't', data: n, opts: { attempts: 1 } })));

    await waitFor(() => consumer.stats().paused, 'the consumer to hold off', 15_000);
    // A fetch already in flight when it paused may still land; after the first health check, none does.
    await waitFor(() => healthChecks >= 1, 'a health check', 15_000);
    const runsWhilePaused = runs;
    await waitFor(() => healthChecks >= 3, 'two more health checks', 15_000);
    expect(runs).toBe(runsWhilePaused); // no job taken while the pool is unhealthy
    expect(await queue.getJobCounts()).toMatchObject({ failed: 0, completed: 0 });

    healthy = true;
    await waitFor(async () => (await queue.getCompletedCount()) === 5, 'the jobs to complete once the pool is healthy', 15_000);
    await waitFor(() => consumer.stats().completed === 5, 'the completions to be counted', 15_000);
    const jobs = await queue.getJobs(['completed']);
    expect(jobs.map((j) => j.returnvalue as number).sort((a, b) => a - b)).toEqual([2, 4, 6, 8, 10]);
    expect(jobs.map((j) => j.attemptsMade)).toEqual([1, 1, 1, 1, 1]); // the bounced attempts were not counted
    expect(jobs.some((j) => j.attemptsStarted > 1)).toBe(true); // …though some jobs did bounce
    expect(consumer.stats()).toMatchObject({ paused: false, completed: 5, failed: 0 });
    expect(consumer.stats().requeued).toBeGreaterThan(0);
  });

  it('records the worker number and pid the pool reports when it dispatches the task, and reports its metrics with the pool', async () => {
    const name = uniqueQueueName('dispatch');
    const queue = openQueue(name);
    const sources: Array<() => { gauges: Readonly<Record<string, number>>; counters: Readonly<Record<string, number>> }> = [];
    const pool = {
      addMetricSource: (source: (typeof sources)[number]) => {
        sources.push(source);
        return () => {};
      },
      size: 4,
      concurrency: 1,
      name: 'reporting',
      start: async () => {},
      run: async (task: string, options?: { onDispatch?: (info: { worker: number; pid: number }) => void }) => {
        options?.onDispatch?.({ worker: 3, pid: 4242 });
        return task.toUpperCase();
      },
    };
    const consumer = closeAfterTest(new BullmqConsumer(pool, name, { connection: REDIS_URL }));
    await consumer.start();
    expect(consumer.stats().capacity).toBe(4); // size × concurrency, from the pool
    const added = await queue.add('t', 'abc');
    await waitFor(async () => (await stateOf(queue, added.id)) === 'completed', 'the job to complete', 15_000);

    const job = await queue.getJob(added.id as string);
    expect(job?.returnvalue).toBe('ABC');
    expect(job?.progress).toMatchObject({ pool: 'reporting', worker: 3, workerPid: 4242, outcome: 'completed', attempt: 1 });
    expect(job?.processedBy).toBe(`${os.hostname()}/${process.pid}/reporting`);
    expect(sources).toHaveLength(1);
    const metrics = sources[0]?.();
    expect(metrics?.counters[`bullmq.${name}.jobs.completed`]).toBe(1);
    expect(metrics?.gauges[`bullmq.${name}.capacity`]).toBe(4);
  });
});
