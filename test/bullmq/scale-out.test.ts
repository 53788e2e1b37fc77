/**
 * Two pools in two processes (two "machines") consume one queue of 5,000 jobs, against the real
 * Redis: every job completes exactly once; and when one process is killed with SIGKILL, BullMQ's
 * stalled-job recovery hands its jobs to the other and every job still completes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import type { Job, Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, waitFor } from '../helpers/processes.ts';
import { bullmqFixture, openQueue, uniqueQueueName, useRedis } from './helpers.ts';
import type { ConsumerStats } from 'looppool/bullmq';

useRedis();

const JOBS = 5_000;

interface Machine {
  readonly pid: number;
  readonly workers: number[];
  readonly child: ChildProcess;
  /** SIGTERM: the process closes its consumer, stops its pool and reports the consumer's stats. */
  stop(): Promise<ConsumerStats>;
}

const machines: ChildProcess[] = [];

afterEach(async () => {
  for (const child of machines.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

/** Start test/fixtures/bullmq/consumer-process.mjs and wait until it consumes. */
async function startMachine(queue: string, workerOptions: Record<string, unknown> = {}): Promise<Machine> {
  const config = { queue, worker: bullmqFixture('sleep-echo.ts'), size: 2, concurrency: 8, workerOptions };
  const child = spawn(process.execPath, [bullmqFixture('consumer-process.mjs'), JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
  machines.push(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const messages: Array<Record<string, any>> = [];
  readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => messages.push(JSON.parse(line)));
  await waitFor(() => messages.some((m) => m.ready) || child.exitCode !== null, `consumer process ${child.pid} to start`, 30_000);
  const ready = messages.find((m) => m.ready)?.ready as { pid: number; workers: number[] } | undefined;
  if (!ready) throw new Error(`consumer process ${child.pid} exited with code ${child.exitCode} before it was ready`);
  return {
    pid: ready.pid,
    workers: ready.workers,
    child,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      const stopped = messages.find((m) => m.stopped)?.stopped as ConsumerStats | undefined;
      if (!stopped || child.exitCode !== 0) throw new Error(`consumer process ${child.pid} exited with code ${child.exitCode} and no stats`);
      return stopped;
    },
  };
}

async function addJobs(queue: Queue, ms: number): Promise<void> {
  for (let start = 0; start < JOBS; start += 1_000) {
    await queue.addBulk(Array.from({ length: 1_000 }, (_, i) => ({ name: 'sleep', data: { id: start + i, ms } })));
  }
}

interface Echo {
  id: number;
  consumerPid: number;
  worker: number;
}

/** Every completed job, checked to cover ids 0..JOBS-1 once each. */
async function completedJobs(queue: Queue): Promise<Array<Job<unknown, Echo>>> {
  const jobs = (await queue.getJobs(['completed'], 0, -1)) as Array<Job<unknown, Echo>>;
  const ids = jobs.map((j) => j.returnvalue.id).sort((a, b) => a - b);
  expect(ids).toEqual(Array.from({ length: JOBS }, (_, i) => i));
  return jobs;
}

describe('scale-out on one BullMQ queue', () => {
  it('two pools in two processes complete 5,000 jobs, each exactly once', { timeout: 180_000 }, async () => {
    const name = uniqueQueueName('two-pools');
    const queue = openQueue(name);
    const [a, b] = await Promise.all([startMachine(name), startMachine(name)]);
    await addJobs(queue, 2);

    await waitFor(async () => (await queue.getCompletedCount()) === JOBS, `${JOBS} jobs to complete`, 150_000);
    const [statsA, statsB] = await Promise.all([a.stop(), b.stop()]);

    expect(await queue.getJobCounts()).toMatchObject({ completed: JOBS, active: 0, waiting: 0, failed: 0, delayed: 0 });
    const jobs = await completedJobs(queue);
    // Each job was started once (BullMQ's own count), and the two consumers took 5,000 attempts in all.
    expect(jobs.filter((j) => j.attemptsStarted !== 1)).toEqual([]);
    expect(statsA.taken + statsB.taken).toBe(JOBS);
    expect(statsA.completed + statsB.completed).toBe(JOBS);
    // Both machines took part, and each job says which one ran it.
    expect(statsA.taken).toBeGreaterThan(0);
    expect(statsB.taken).toBeGreaterThan(0);
    expect(jobs.filter((j) => j.returnvalue.consumerPid === a.pid)).toHaveLength(statsA.completed);
    expect(jobs.filter((j) => j.returnvalue.consumerPid === b.pid)).toHaveLength(statsB.completed);
    expect(jobs.every((j) => j.processedBy?.endsWith(`/${j.returnvalue.consumerPid}/scale`))).toBe(true);
  });

  it('when one process is killed with SIGKILL mid-run, the other completes every job', { timeout: 180_000 }, async () => {
    const name = uniqueQueueName('sigkill');
    const queue = openQueue(name);
    // A short lock so the killed process's jobs are found stalled in seconds, not the default 30 s;
    // maxStalledCount 2 tolerates one false stall on a loaded machine (a lock renewal late by > 2.5 s).
    const workerOptions = { lockDuration: 5_000, stalledInterval: 1_000, maxStalledCount: 2 };
    const [victim, survivor] = await Promise.all([startMachine(name, workerOptions), startMachine(name, workerOptions)]);
    await addJobs(queue, 5);
    await waitFor(async () => (await queue.getCompletedCount()) >= 1_000, '1,000 jobs to complete', 60_000);

    victim.child.kill('SIGKILL');
    // Its worker processes exit too: they leave when their data channel to the parent closes.
    await waitFor(() => victim.workers.every((pid) => !isAlive(pid)), "the killed process's workers to exit", 15_000);
    await waitFor(async () => (await queue.getCompletedCount()) === JOBS, `all ${JOBS} jobs to complete`, 150_000);
    await survivor.stop();

    expect(await queue.getJobCounts()).toMatchObject({ completed: JOBS, active: 0, waiting: 0, failed: 0, delayed: 0 });
    const jobs = await completedJobs(queue);
    const recovered = jobs.filter((j) => j.attemptsStarted > 1);
    expect(recovered.length).toBeGreaterThan(0); // the jobs the victim held, re-queued by stalled-job recovery
    expect(recovered.some((j) => j.returnvalue.consumerPid === survivor.pid)).toBe(true);
    expect(jobs.some((j) => j.returnvalue.consumerPid === victim.pid)).toBe(true);
  });
});
