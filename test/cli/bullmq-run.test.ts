/**
 * `looppool run <worker> --bullmq <queue>` as a user runs it (`node bin/looppool.js`, built dist/),
 * against the real Redis on 127.0.0.1:6379 (the tests fail, never skip, when it does not answer):
 * records per job attempt, draining on SIGINT, a second signal, `looppool stop`, failed jobs
 * retried per `--attempts`, `--max-jobs`, start errors and usage errors — and no process left.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { isAlive, waitFor } from '../helpers/processes.ts';
import { openQueue, privateRedis, REDIS_URL, uniqueQueueName, useRedis } from '../bullmq/helpers.ts';
import { BIN, expectNoPoolLeft, fixture, readerlessFifo, ROOT, runCli, startCli, uniqueName, type CliProcess } from './helpers.ts';

useRedis();

/** Add `count` sleep jobs `{ ms, id }` (id from 1) with `looppool enqueue`. */
async function enqueueSleepJobs(queue: string, count: number, ms: number): Promise<void> {
  const input = Array.from({ length: count }, (_, i) => `${JSON.stringify({ ms, id: i + 1 })}\n`).join('');
  const run = await runCli(['enqueue', queue, '--redis', REDIS_URL, '-q'], { input });
  expect(run.code).toBe(0);
}

interface Counts {
  active: number;
  waiting: number;
  completed: number;
  failed: number;
  delayed: number;
}

/** Two Ctrl-Cs: the first waits for the `jobs` in flight, the second puts them back; exit 130. */
async function interruptTwice(cli: CliProcess, jobs: number): Promise<void> {
  process.kill(-cli.pid, 'SIGINT');
  await cli.waitForStderr(new RegExp(`finishing the ${jobs} jobs in flight`));
  process.kill(-cli.pid, 'SIGINT');
  expect((await cli.exit()).code).toBe(130);
  expect(cli.stderr).toMatch(/SIGINT: stopping now: the tasks still running are aborted, their jobs go back to the queue \(no attempt used\)/);
}

async function counts(queue: Queue): Promise<Counts> {
  const c = await queue.getJobCounts('active', 'waiting', 'completed', 'failed', 'delayed');
  return { active: c.active ?? 0, waiting: c.waiting ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0, delayed: c.delayed ?? 0 };
}

describe('looppool run --bullmq', () => {
  it('writes one record per job; the first SIGINT stops taking jobs and lets those in flight complete: exit 130, each job completed once', async () => {
    const queueName = uniqueQueueName('cli-run');
    const queue = openQueue(queueName);
    await enqueueSleepJobs(queueName, 1000, 50);
    const name = uniqueName('bq');
    const cli = startCli(['run', fixture('sleep.mjs'), '--bullmq', queueName, '--redis', REDIS_URL, '--size', '2', '--concurrency', '8', '--name', name], {
      detached: true,
    });
    await cli.waitForStderr(/consuming queue .* up to 16 jobs at a time \(2 workers × 8\)/);
    await cli.waitForRecords(40);

    process.kill(-cli.pid, 'SIGINT'); // like Ctrl-C: the command and its workers
    const exit = await cli.exit();

    expect(exit.code).toBe(130);
    const inFlight = /SIGINT: taking no more jobs; finishing the (\d+) jobs in flight/.exec(cli.stderr)?.[1];
    expect(Number(inFlight)).toBeGreaterThan(0);
    expect(cli.stderr).toContain(`stopped by SIGINT: the ${inFlight} jobs in flight finished; the others stay in the queue`);
    const records = cli.records();
    const ids = records.map((r) => r.job as string);
    expect(new Set(ids).size).toBe(records.length); // no job twice
    expect(records.every((r) => r.attempt === 1 && r.result?.done.ms === 50)).toBe(true);
    // Every job taken completed (nothing left active), exactly the ones with a record; the rest wait.
    const after = await counts(queue);
    expect(after).toEqual({ active: 0, waiting: 1000 - records.length, completed: records.length, failed: 0, delayed: 0 });
    const completed = await queue.getJobs(['completed'], 0, -1);
    expect(completed.map((j) => j.id).sort()).toEqual([...ids].sort());
    expect(completed.every((j) => j.attemptsMade === 1 && j.processedBy?.endsWith(`/${cli.pid}/${name}`))).toBe(true);
    expect(completed[0]?.progress).toMatchObject({ pool: name, pid: cli.pid, outcome: 'completed', attempt: 1 });
    await expectNoPoolLeft(name);
  });

  it('`top` shows the consumer; a second SIGINT stops at once: the jobs in flight go back to the queue without using an attempt', async () => {
    const queueName = uniqueQueueName('cli-force');
    const queue = openQueue(queueName);
    await enqueueSleepJobs(queueName, 10, 600_000);
    const name = uniqueName('bq');
    const cli = startCli(['run', fixture('sleep.mjs'), '--bullmq', queueName, '--size', '2', '--concurrency', '3', '--name', name], { detached: true });
    await waitFor(async () => (await queue.getActiveCount()) === 6, 'six jobs in flight');
    const consumerLine = `queue ${queueName}: 6 active, 0 completed, 0 failed, 0 requeued`;
    await waitFor(async () => (await runCli(['top', name, '-n', '1'])).stdout.includes(consumerLine), `top to show "${consumerLine}"`);

    await interruptTwice(cli, 6);
    expect(cli.stderr).toMatch(/stopped by SIGINT: the 6 jobs in flight went back to the queue; the others stay in the queue/);
    expect(cli.records()).toEqual([]);
    expect(await counts(queue)).toEqual({ active: 0, waiting: 10, completed: 0, failed: 0, delayed: 0 });
    const jobs = await queue.getJobs(['waiting'], 0, -1);
    expect(jobs.every((j) => j.attemptsMade === 0)).toBe(true);
    await expectNoPoolLeft(name);
  });

  it('after --stop-timeout the jobs in flight go back to the queue, and the last line says so', async () => {
    const queueName = uniqueQueueName('cli-timeout');
    const queue = openQueue(queueName);
    await enqueueSleepJobs(queueName, 4, 600_000);
    const name = uniqueName('bq');
    const cli = startCli(['run', fixture('sleep.mjs'), '--bullmq', queueName, '--size', '1', '--concurrency', '2', '--stop-timeout', '500', '--name', name], { detached: true });
    await waitFor(async () => (await queue.getActiveCount()) === 2, 'two jobs in flight');

    process.kill(-cli.pid, 'SIGINT');
    const exit = await cli.exit();

    expect(exit.code).toBe(130);
    expect(cli.stderr).toMatch(/the 2 jobs in flight did not finish within 500 ms \(--stop-timeout\): stopping now: the tasks still running are aborted, their jobs go back to the queue/);
    expect(cli.stderr).toMatch(/stopped by SIGINT: the 2 jobs in flight went back to the queue; the others stay in the queue/);
    expect(cli.records()).toEqual([]);
    expect(await counts(queue)).toEqual({ active: 0, waiting: 4, completed: 0, failed: 0, delayed: 0 });
    await expectNoPoolLeft(name);
  });

  it('a second SIGINT stops at once while Redis is down (the stop does not wait for Redis to come back): exit 130, no process left', { timeout: 60_000 }, async () => {
    const redis = await privateRedis();
    const port = redis.port;
    const name = uniqueName('bq');
    let cli: ReturnType<typeof startCli> | undefined;
    try {
      const queueName = uniqueQueueName('cli-redis-down');
      const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port } });
      queue.on('error', () => {});
      await queue.waitUntilReady();
      await queue.addBulk(Array.from({ length: 4 }, (_, i) => ({ name: 'task', data: { ms: 600_000, id: i + 1 } })));
      cli = startCli(['run', fixture('sleep.mjs'), '--bullmq', queueName, '--redis', `redis://127.0.0.1:${port}`, '--size', '1', '--concurrency', '2', '--name', name], { detached: true });
      await waitFor(async () => (await queue.getActiveCount()) === 2, 'two jobs in flight');
      await queue.close();

      await redis.stop();
      await cli.waitForStderr(/BullMQ: .*ECONNREFUSED/);
      await interruptTwice(cli, 2);
      // Not put back (Redis is gone), and not counted so: they stay active until their locks expire.
      expect(cli.stderr).toMatch(/stopped by SIGINT: the 2 jobs in flight were neither stored nor put back \(Redis did not take them\): they stay active in Redis until their lock expires/);
      expect(cli.stderr).toMatch(/0 completed, 0 failed, 0 requeued/);
      await expectNoPoolLeft(name);
    } finally {
      if (cli !== undefined && isAlive(cli.pid)) process.kill(-cli.pid, 'SIGKILL');
      await redis.stop();
    }
  });

  it('with Redis down, a stop counts the jobs whose tasks returned as in flight: their results are not stored, and the last line says so', { timeout: 60_000 }, async () => {
    // Before: "finishing the 0 jobs in flight", "… they go back to the queue", "the jobs in flight went back to the queue".
    const redis = await privateRedis();
    const name = uniqueName('bq');
    let cli: ReturnType<typeof startCli> | undefined;
    try {
      const queueName = uniqueQueueName('cli-store-down');
      const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: redis.port } });
      queue.on('error', () => {});
      await queue.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'task', data: { ms: 1500, id: i + 1 } })));
      cli = startCli(
        ['run', fixture('sleep.mjs'), '--bullmq', queueName, '--redis', redis.url, '--size', '1', '--concurrency', '3', '--job-metadata', 'none', '--stop-timeout', '2000', '--name', name, '--json-summary', '-'],
        { detached: true },
      );
      await waitFor(async () => (await queue.getActiveCount()) === 3, 'three jobs in flight');
      await queue.close();

      await redis.stop();
      // The tasks return; BullMQ cannot store their results: the jobs are still active (in Redis too).
      const line = `queue ${queueName}: 3 active, 0 completed, 0 failed, 0 requeued`;
      await waitFor(async () => /· done 3 ·/.test((await runCli(['top', name, '-n', '1'])).stdout), 'the three tasks to return');
      expect((await runCli(['top', name, '-n', '1'])).stdout).toContain(line);
      process.kill(-cli.pid, 'SIGTERM');
      expect((await cli.exit()).code).toBe(143);
      expect(cli.stderr).toContain('SIGTERM: taking no more jobs; finishing the 3 jobs in flight');
      expect(cli.stderr).toContain('the 3 jobs in flight did not finish within 2000 ms (--stop-timeout): stopping now');
      expect(cli.stderr).toContain(
        "stopped by SIGTERM: the 3 jobs in flight were neither stored nor put back (Redis did not take them): they stay active in Redis until their lock expires, and BullMQ's stalled-job check then puts them back",
      );
      // Before: --json-summary had no field for them (the summary for people, with --json-summary -, is not written).
      const summary = JSON.parse(cli.stderr.trim().split('\n').at(-1) as string);
      expect(summary).toMatchObject({ jobs: 0, requeued: 0, leftActive: 3, signal: 'SIGTERM', exitCode: 143 });
      await expectNoPoolLeft(name);
    } finally {
      if (cli !== undefined && isAlive(cli.pid)) process.kill(-cli.pid, 'SIGKILL');
      await redis.stop();
    }
  });

  it('with no job in flight and Redis down, a stop says so: nothing went back to the queue', { timeout: 60_000 }, async () => {
    const redis = await privateRedis();
    const name = uniqueName('bq');
    let cli: ReturnType<typeof startCli> | undefined;
    try {
      cli = startCli(['run', fixture('sleep.mjs'), '--bullmq', uniqueQueueName('cli-idle-down'), '--redis', redis.url, '--size', '1', '--stop-timeout', '1000', '--name', name], { detached: true });
      await cli.waitForStderr(/consuming queue/);
      await redis.stop();
      await cli.waitForStderr(/BullMQ: .*ECONNREFUSED/);
      process.kill(-cli.pid, 'SIGTERM');
      expect((await cli.exit()).code).toBe(143);
      expect(cli.stderr).toContain('SIGTERM: taking no more jobs; finishing the 0 jobs in flight');
      expect(cli.stderr).toContain('the consumer did not close within 1000 ms (--stop-timeout), though no job is in flight (BullMQ waits for Redis): stopping now\n');
      expect(cli.stderr).toContain('stopped by SIGTERM: no job was in flight; the jobs stay in the queue\n');
      expect(cli.stderr).not.toMatch(/go back|went back/);
      await expectNoPoolLeft(name);
    } finally {
      if (cli !== undefined && isAlive(cli.pid)) process.kill(-cli.pid, 'SIGKILL');
      await redis.stop();
    }
  });

  it('a second SIGINT stops at once though stdout\'s reader stopped reading: exit 130, the records it did not take are dropped', { timeout: 60_000 }, async () => {
    const queueName = uniqueQueueName('cli-stalled-stdout');
    const queue = openQueue(queueName);
    await queue.addBulk(Array.from({ length: 200 }, (_, i) => ({ name: 'task', data: `${i} ${'x'.repeat(2_000)}` })));
    // stdout is a FIFO whose reader (this test) never reads: 36 records of 2 KB fill its 64 KiB.
    const fifo = readerlessFifo();
    const reader = openSync(fifo.path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo.path, constants.O_WRONLY);
    const name = uniqueName('bq');
    try {
      const cli = startCli(['run', fixture('echo.mjs'), '--bullmq', queueName, '--redis', REDIS_URL, '--size', '1', '--name', name], { stdout: writer, detached: true });
      await waitFor(async () => (await counts(queue)).completed >= 36, 'stdout to fill up');
      process.kill(-cli.pid, 'SIGINT');
      await cli.waitForStderr(/taking no more jobs/);
      process.kill(-cli.pid, 'SIGINT');
      expect(await cli.exit(15_000)).toEqual({ code: 130, signal: null });
      expect(cli.stderr).toMatch(/stdout did not take the last records \(its reader stopped reading or fell behind\): they are dropped; the jobs' results are in Redis/);
      await expectNoPoolLeft(name);
    } finally {
      closeSync(writer);
      closeSync(reader);
    }
  });

  it('fails the job of a task that throws with its error, retried per --attempts; --max-jobs ends the run (exit 1: failures)', async () => {
    const queueName = uniqueQueueName('cli-fail');
    const queue = openQueue(queueName);
    const enqueue = await runCli(['enqueue', queueName, '--attempts', '3', '--backoff', '10', '-q'], { input: '{"fail":true,"key":"k1"}\n{"key":"fine"}\n' });
    expect(enqueue.code).toBe(0);
    const name = uniqueName('bq');

    const run = await runCli(['run', fixture('fail.mjs'), '--bullmq', queueName, '--size', '1', '--name', name, '--max-jobs', '4', '--job-metadata', 'log', '--json-summary', '-']);

    expect(run.code).toBe(1);
    const records = run.records();
    expect(records).toHaveLength(4);
    expect(records.filter((r) => r.job === '2')).toEqual([{ job: '2', attempt: 1, result: { key: 'fine' } }]);
    const error = { origin: 'task', name: 'LookupError', message: 'no such key: k1', code: 'E_NOT_FOUND', key: 'k1' };
    expect(records.filter((r) => r.job === '1')).toEqual([1, 2, 3].map((attempt) => ({ job: '1', attempt, error })));
    const job = await queue.getJob('1');
    expect(job?.failedReason).toBe('LookupError: no such key: k1');
    expect(job?.attemptsMade).toBe(3);
    expect(await job?.getState()).toBe('failed');
    const logs = await queue.getJobLogs('1');
    expect(logs.logs.map((l) => JSON.parse(l).attempt)).toEqual([1, 2, 3]); // --job-metadata log
    const summary = JSON.parse(run.stderr.trim().split('\n').at(-1) as string);
    expect(summary).toMatchObject({ queue: queueName, jobs: 4, completed: 1, failed: 3, failures: { LookupError: 3 }, leftActive: 0, signal: null, exitCode: 1 });
    // The 4th was the last job: none left in flight (a job counted finished has left `active`).
    expect(run.stderr).toContain('4 jobs finished (--max-jobs): taking no more; finishing the 0 jobs in flight');
    await expectNoPoolLeft(name);
  });

  it('with --max-jobs and no failure it exits 0; `looppool stop` drains a consuming run like SIGTERM (143)', async () => {
    const queueName = uniqueQueueName('cli-max');
    const queue = openQueue(queueName);
    await enqueueSleepJobs(queueName, 30, 1);
    const done = await runCli(['run', fixture('sleep.mjs'), '--bullmq', queueName, '--size', '1', '--concurrency', '4', '--max-jobs', '30', '--lock-duration', '5000', '-q']);
    expect(done.code).toBe(0);
    expect(done.stderr).toBe('');
    expect(new Set(done.records().map((r) => r.job)).size).toBe(30);
    expect(await counts(queue)).toMatchObject({ active: 0, waiting: 0, completed: 30 });

    // Jobs that end together (one batch of 20) take no more than --max-jobs needs: at most size × concurrency − 1 more.
    const many = uniqueQueueName('cli-max-batch');
    await enqueueSleepJobs(many, 100, 200);
    const batch = await runCli(['run', fixture('sleep.mjs'), '--bullmq', many, '--size', '1', '--concurrency', '20', '--max-jobs', '10', '-q']);
    expect(batch.code).toBe(0);
    const taken = batch.records().length;
    expect(taken).toBeGreaterThanOrEqual(10);
    expect(taken).toBeLessThanOrEqual(10 + 20 - 1);
    expect(await counts(openQueue(many))).toMatchObject({ active: 0, waiting: 100 - taken, completed: taken });

    const name = uniqueName('bq');
    const idle = startCli(['run', fixture('sleep.mjs'), '--bullmq', queueName, '--size', '1', '--name', name]);
    await idle.waitForStderr(/consuming queue/);
    const stop = await runCli(['stop', name]);
    expect(stop.code).toBe(0);
    expect((await idle.exit()).code).toBe(143);
    await expectNoPoolLeft(name);
  });

  it('says "1 job", not "1 jobs": a pool of one slot, --max-jobs 1', async () => {
    const queueName = uniqueQueueName('cli-one');
    openQueue(queueName);
    await enqueueSleepJobs(queueName, 1, 1);
    const run = await runCli(['run', fixture('sleep.mjs'), '--bullmq', queueName, '--size', '1', '--concurrency', '1', '--max-jobs', '1', '--name', uniqueName('bq')]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/: up to 1 job at a time \(1 worker × 1\); it stops once 1 job has finished\n/);
    expect(run.stderr).toMatch(/: 1 job finished \(--max-jobs\): taking no more; finishing the 0 jobs in flight\n/);
    expect(run.stderr).toMatch(/: 1 job from queue .* 0 restarts\n/s);
  });

  it('when the reader of stdout goes away (| head), stops taking jobs, lets those in flight complete and exits 0 quietly', async () => {
    const queueName = uniqueQueueName('cli-epipe');
    const queue = openQueue(queueName);
    await enqueueSleepJobs(queueName, 300, 20);
    const name = uniqueName('bq');
    const cli = startCli(['run', fixture('sleep.mjs'), '--bullmq', queueName, '--size', '2', '--concurrency', '5', '--name', name]);
    await cli.waitForRecords(3);

    cli.child.stdout?.destroy();
    const exit = await cli.exit();

    expect(exit.code).toBe(0);
    expect(cli.stderr).not.toMatch(/ jobs from queue /); // no summary, as for a local run
    const after = await counts(queue);
    expect(after).toMatchObject({ active: 0, failed: 0 });
    expect(after.completed + after.waiting).toBe(300);
    expect(after.waiting).toBeGreaterThan(0);
    await expectNoPoolLeft(name);
  });

  it('while stdout is not read, takes no more jobs (they wait in Redis, not as records in memory); all complete once it is read again', async () => {
    const queueName = uniqueQueueName('cli-full');
    const queue = openQueue(queueName);
    const big = 'x'.repeat(32 * 1024); // a record of 32 KiB: a few fill the pipe
    const input = Array.from({ length: 200 }, (_, i) => `${JSON.stringify(`${i + 1}:${big}`)}\n`).join('');
    expect((await runCli(['enqueue', queueName, '--redis', REDIS_URL, '-q'], { input })).code).toBe(0);
    const name = uniqueName('bq');
    const cli = startCli(['run', fixture('echo.mjs'), '--bullmq', queueName, '--redis', REDIS_URL, '--size', '1', '--concurrency', '2', '--max-jobs', '200', '--name', name]);
    cli.child.stdout?.pause(); // the reader is busy: the pipe fills, then the command's own buffer

    // Wait until the consumer takes nothing more (the counts stay the same for a second).
    let held = await counts(queue);
    await waitFor(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const now = await counts(queue);
      const still = now.completed === held.completed && now.active === held.active && now.completed > 0;
      held = now;
      return still;
    }, 'the consumer to stop taking jobs', 30_000);
    // A few records fill the pipe and the write buffer; the jobs in flight (2) finish on top.
    expect(held.completed + held.active).toBeLessThan(50);
    expect(held.waiting).toBeGreaterThan(150);

    cli.child.stdout?.resume();
    expect((await cli.exit()).code).toBe(0);
    const records = cli.records();
    expect(records.map((r) => Number(String(r.result).split(':')[0])).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(await counts(queue)).toMatchObject({ active: 0, waiting: 0, completed: 200, failed: 0 });
    await expectNoPoolLeft(name);
  });

  it('shows the live progress display and the summary on a terminal', () => {
    const queueName = uniqueQueueName('cli-tty');
    openQueue(queueName);
    const jobs = Array.from({ length: 20 }, (_, i) => `{"ms":5,"id":${i + 1}}`).join('\\n');
    const command = `printf '${jobs}\\n' | node ${BIN} enqueue ${queueName} -q >/dev/null && node ${BIN} run ${fixture('sleep.mjs')} --bullmq ${queueName} --size 1 --name tty --max-jobs 20 >/dev/null`;
    // TERM set: a TERM=dumb terminal gets no display, whatever TERM the tests run with.
    const terminal = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, TERM: 'xterm-256color' } });
    expect(terminal.status).toBe(0);
    expect(terminal.stdout).toMatch(/looppool tty \(queue looppool-test-cli-tty-\w+\) · \d+ done · /);
    expect(terminal.stdout).toMatch(/ {2}worker 0 {2}pid \d+/);
    expect(terminal.stdout).toMatch(/looppool tty: 20 jobs from queue looppool-test-cli-tty-\w+ in [\d.]+ s .*: 20 completed, 0 failed, 0 requeued/);
  });

  it('does not show a pool that --max-jobs stops taking jobs for as paused (it runs its last jobs)', () => {
    const queueName = uniqueQueueName('cli-tty-max');
    openQueue(queueName);
    const jobs = Array.from({ length: 20 }, (_, i) => `{"ms":400,"id":${i + 1}}`).join('\\n');
    const command = `printf '${jobs}\\n' | node ${BIN} enqueue ${queueName} -q >/dev/null && node ${BIN} run ${fixture('sleep.mjs')} --bullmq ${queueName} --size 1 --concurrency 5 --name ttymax --max-jobs 10 >/dev/null`;
    const terminal = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, TERM: 'xterm-256color' } });
    expect(terminal.status).toBe(0);
    expect(terminal.stdout).toMatch(/looppool ttymax \(queue looppool-test-cli-tty-max-\w+\) · 5 done · /); // a frame while the last 5 run
    expect(terminal.stdout).not.toContain('paused'); // before: "paused: the pool is unhealthy" on those frames
    expect(terminal.stdout).toMatch(/looppool ttymax: 10 jobs from queue .*: 10 completed, 0 failed, 0 requeued/);
  });

  it('exits 3 when Redis does not answer, 2 when the worker module fails to load, 3 when its initialize() throws', async () => {
    const queueName = uniqueQueueName('cli-start');
    openQueue(queueName);
    const [down, load, init, parse] = await Promise.all([
      runCli(['run', fixture('echo.mjs'), '--bullmq', queueName, '--redis', 'redis://127.0.0.1:1', '--size', '1']),
      runCli(['run', fixture('import-throws.mjs'), '--bullmq', queueName, '--size', '1', '--json-summary', '-']),
      runCli(['run', fixture('init-throws.mjs'), '--bullmq', queueName, '--size', '1', '--json-summary', '-']),
      runCli(['run', fixture('syntax-error.cjs'), '--bullmq', queueName, '--size', '1']),
    ]);
    // A syntax error's place, as `looppool run` shows it without --bullmq (before: the message alone).
    expect(parse.code).toBe(2);
    expect(parse.stderr).toContain(`the worker module failed to load: Worker 0 failed to start file://${fixture('syntax-error.cjs')}: SyntaxError: Unexpected token ';'\n${fixture('syntax-error.cjs')}:5:18\n    return task *;\n                 ^\n`);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/cannot reach Redis: Redis at redis:\/\/127\.0\.0\.1:1 did not answer within 10000 ms .*redis-server --daemonize yes/);
    expect(load.code).toBe(2);
    expect(load.stderr).toMatch(/the worker module failed to load/);
    expect(init.code).toBe(3);
    expect(init.stderr).toMatch(/the pool could not start/);
    for (const run of [down, load, init, parse]) expect(run.stdout).toBe('');
    // A run that ended before it started writes its summary too (it wrote none: an earlier run's file stayed).
    const summaryOf = (stderr: string): unknown => JSON.parse(stderr.split('\n').find((l) => l.startsWith('{')) ?? 'null');
    expect(summaryOf(load.stderr)).toMatchObject({ queue: queueName, jobs: 0, exitCode: 2 });
    expect(summaryOf(init.stderr)).toMatchObject({ queue: queueName, jobs: 0, exitCode: 3 });
  });

  it('Ctrl-C while waiting for Redis stops at once: exit 130, no process left', async () => {
    const name = uniqueName('bq');
    const cli = startCli(['run', fixture('echo.mjs'), '--bullmq', 'never-used', '--redis', 'redis://127.0.0.1:1', '--size', '1', '--name', name]);
    await cli.waitForStderr(/starting: waiting for Redis at redis:\/\/127\.0\.0\.1:1 and for the workers to be ready \(Ctrl-C stops\)/);
    process.kill(cli.pid, 'SIGINT');
    expect((await cli.exit()).code).toBe(130);
    expect(cli.stderr).toMatch(/stopped by SIGINT while starting: no job was taken/);
    await expectNoPoolLeft(name);
  });

  it('exits 2 when --bullmq is combined with line-input flags, or its flags are used without it', async () => {
    const cases: [string[], RegExp][] = [
      [['--bullmq', 'q', '--input', 'tasks.jsonl'], /--bullmq cannot be combined with --input/],
      [['--bullmq', 'q', '--ordered', '--output', 'out.jsonl'], /--bullmq cannot be combined with --output, --ordered/],
      [['--bullmq', 'a:b'], /--bullmq must be a queue name without ':'/],
      [['--bullmq', 'q', '--job-metadata', 'all'], /--job-metadata must be progress, log or none/],
      [['--bullmq', 'q', '--max-jobs', '0'], /--max-jobs must be an integer >= 1/],
      [['--redis', REDIS_URL], /--redis needs --bullmq <queue>/],
      [['--bullmq', 'q', '--stalled-interval', '0'], /--stalled-interval must be an integer >= 1, got "0"/],
      [['--bullmq', 'q', '--remove-on-complete', 'yes'], /--remove-on-complete must be a count of jobs to keep \(0: none\), age:<seconds> or <count>,age:<seconds>, got "yes"/],
      [['--remove-on-fail', '10', '--max-stalled-count', '2'], /--max-stalled-count, --remove-on-fail need --bullmq <queue>/],
    ];
    for (const [flags, message] of cases) {
      const run = await runCli(['run', fixture('echo.mjs'), ...flags], { input: '' });
      expect({ flags, code: run.code }).toEqual({ flags, code: 2 });
      expect(run.stderr).toMatch(message);
    }
  });
});
