/**
 * A library user's process whose Redis goes away: `consumer.close({ force: true })` and
 * `pool.stop()` let the process end by itself, as they do with Redis up. BullMQ's own timers
 * (its stalled-job check, its lock renewal) would otherwise hold it until they next fire.
 * A job whose task returned while Redis is down stays held (`active`) until BullMQ is done with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { BullmqConsumer } from 'looppool/bullmq';
import { makePool } from '../helpers/pools.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';
import { bullmqFixture, privateRedis, uniqueQueueName } from './helpers.ts';

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('a consumer whose Redis is down', () => {
  it('close({ force: true }) and pool.stop() leave nothing holding the process: it exits by itself', { timeout: 120_000 }, async () => {
    const redis = await privateRedis();
    try {
      const queueName = uniqueQueueName('force-redis-down');
      const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: redis.port } });
      queue.on('error', () => {});
      await queue.addBulk(Array.from({ length: 2 }, (_, i) => ({ name: 'sleep', data: { id: i, ms: 600_000 } })));
      // BullMQ's timers far apart: before the fix they held the process for minutes, not seconds.
      const workerOptions = { stalledInterval: 600_000, lockDuration: 600_000 };
      const config = { queue: queueName, port: redis.port, worker: bullmqFixture('sleep-echo.ts'), workerOptions };
      const child = spawn(process.execPath, [bullmqFixture('force-close-process.mjs'), JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      const messages: Array<Record<string, any>> = [];
      readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => messages.push(JSON.parse(line)));
      await waitFor(() => messages.some((m) => m.ready) || child.exitCode !== null, 'the consumer process to start', 30_000);
      const workers = (messages.find((m) => m.ready)?.ready as { workers: number[] }).workers;
      await waitFor(async () => (await queue.getActiveCount()) === 2, 'both jobs in flight');
      await queue.close();

      await redis.stop();
      await waitFor(() => messages.some((m) => /ECONNREFUSED/.test(String(m.error))), 'the consumer to see Redis gone');
      child.kill('SIGTERM');
      await waitFor(() => messages.some((m) => m.stopped), 'the force-close and the pool stop to finish');
      // Their two jobs stay active (in Redis too, until their locks expire): nothing could end them.
      expect(messages.find((m) => m.stopped)?.stopped).toMatchObject({ state: 'closed', taken: 2, active: 2, requeued: 0 });

      await waitFor(() => child.exitCode !== null || child.signalCode !== null, 'the process to exit by itself', 60_000);
      expect(child.exitCode).toBe(0);
      expect(workers.filter(isAlive)).toEqual([]);
    } finally {
      await redis.stop();
    }
  });

  it('a plain close() that begins while Redis is down waits for it, and ends once it is back', { timeout: 120_000 }, async () => {
    // Before: BullMQ's close() waited for ever on the connection ioredis was reconnecting, Redis back or not.
    const redis = await privateRedis();
    try {
      const queueName = uniqueQueueName('close-redis-down');
      const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: redis.port } });
      queue.on('error', () => {});
      await queue.addBulk(Array.from({ length: 2 }, (_, i) => ({ name: 'sleep', data: { id: i, ms: 1500 } })));
      const config = { queue: queueName, port: redis.port, worker: bullmqFixture('sleep-echo.ts'), plain: true };
      const child = spawn(process.execPath, [bullmqFixture('force-close-process.mjs'), JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      const messages: Array<Record<string, any>> = [];
      readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => messages.push(JSON.parse(line)));
      await waitFor(() => messages.some((m) => m.ready) || child.exitCode !== null, 'the consumer process to start', 30_000);
      await waitFor(async () => (await queue.getActiveCount()) === 2, 'both jobs in flight');
      await queue.close();

      await redis.stop();
      await waitFor(() => messages.some((m) => /ECONNREFUSED/.test(String(m.error))), 'the consumer to see Redis gone');
      child.kill('SIGTERM'); // close() begins with Redis down
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(messages.some((m) => m.stopped)).toBe(false); // it waits for Redis
      await redis.start();
      await waitFor(() => messages.some((m) => m.stopped), 'the close and the pool stop to finish once Redis is back', 60_000);
      expect(messages.find((m) => m.stopped)?.stopped).toMatchObject({ state: 'closed', taken: 2, active: 0 });
      await waitFor(() => child.exitCode !== null || child.signalCode !== null, 'the process to exit by itself', 60_000);
      expect(child.exitCode).toBe(0);
    } finally {
      await redis.stop();
    }
  });

  it('counts a job whose task returned as active until BullMQ is done with it: its result waits for Redis', { timeout: 120_000 }, async () => {
    // metadata 'none': no progress write, which also waits for Redis, keeps the task's attempt open.
    const redis = await privateRedis();
    const pool = makePool({ worker: bullmqFixture('sleep-echo.ts'), size: 1, concurrency: 3 });
    const consumer = new BullmqConsumer(pool, uniqueQueueName('held-redis-down'), { connection: redis.url, concurrency: 3, metadata: 'none' });
    consumer.on('error', () => {}); // the lost connection, and the jobs gone with the Redis restarted empty
    try {
      const queue = new Queue(consumer.queueName, { connection: { host: '127.0.0.1', port: redis.port } });
      queue.on('error', () => {});
      await queue.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'sleep', data: { id: i, ms: 1000 } })));
      await consumer.start();
      await waitFor(() => consumer.stats().taken === 3, 'the three jobs to be taken');
      await queue.close();

      await redis.stop();
      await waitFor(() => pool.stats().done === 3, 'the three tasks to return');
      // Before: 0, the tasks having returned; their results wait for Redis and the jobs are still active there.
      expect(consumer.stats()).toMatchObject({ taken: 3, active: 3, completed: 0, failed: 0, requeued: 0 });

      await redis.start(); // empty: BullMQ finds the jobs gone and gives them up
      await waitFor(() => consumer.stats().active === 0, 'BullMQ to be done with the jobs once Redis is back', 60_000);
      expect(consumer.stats()).toMatchObject({ taken: 3, completed: 0, failed: 0 });
    } finally {
      await consumer.close({ force: true });
      await pool.stop();
      await redis.stop();
    }
  });
});
