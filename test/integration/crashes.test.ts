import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PoisonTaskError, PoolStoppedError, PoolUnhealthyError, ProtocolError, TaskAbortedError, WorkerCrashedError, WorkerInitError, type TaskErrorInfo, type WorkerExitInfo } from 'looppool';
import { makePool } from '../helpers/pools.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';

describe('a worker dies', () => {
  it('with retries, its task is re-dispatched and sees ctx.attempt 2', async () => {
    const pool = makePool({ worker: 'crash-once.ts', size: 2, retries: 1 });
    expect(await pool.run('crash-once')).toBe(2);
    expect(pool.stats()).toMatchObject({ retried: 1, failed: 0 });
    // The other worker may answer the retry before the replacement is started (restarts counts it then).
    await waitFor(() => pool.stats().restarts === 1, 'the replacement to start');
  });

  it('with retries, its task aborted while it waits in the queue to be sent again is dropped: it never runs again', async () => {
    const pool = makePool({ worker: 'crash-once.ts', size: 1, retries: 1 });
    await pool.start();
    const controller = new AbortController();
    // The exit's listeners run before the task is queued again; a microtask runs once it is,
    // and before its worker's replacement is even spawned.
    pool.on('workerExit', () => queueMicrotask(() => controller.abort()));
    const sent: number[] = [];
    const error = await pool.run('crash-once', { signal: controller.signal, onDispatch: ({ pid }) => sent.push(pid) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskAbortedError);
    expect(pool.stats()).toMatchObject({ retried: 1, queued: 0 });
    await waitFor(() => pool.stats().workers[0]?.state === 'ready', 'the replacement to start');
    // Queued at the head, the aborted task would go out before this one.
    expect(await pool.run('fine', { onDispatch: ({ pid }) => sent.push(pid) })).toBe(1);
    expect(sent).toHaveLength(2); // the crashed attempt and 'fine'
    expect(pool.stats()).toMatchObject({ queued: 0, inFlight: 0, done: 1 });
    expect(pool.stats().workers[0]?.done).toBe(1);
  });

  it("with retries, a put task that fails while it waits to be sent again reports in 'taskError' the worker that died with it", async () => {
    const pool = makePool({ worker: 'crash-once.ts', size: 1, retries: 1 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    let stopped: Promise<void> | undefined;
    // The exit's listeners run before the task is queued again; a microtask runs once it is,
    // and before its worker's replacement is even spawned.
    pool.on('workerExit', (info) => {
      exits.push(info);
      queueMicrotask(() => (stopped ??= pool.stop({ drain: false })));
    });
    const failures: [Error, TaskErrorInfo][] = [];
    pool.on('taskError', (error, info) => failures.push([error, info]));
    const id = await pool.put('crash-once');
    await waitFor(() => failures.length === 1, "the put task's taskError");
    await stopped;
    expect(pool.stats()).toMatchObject({ retried: 1, failed: 1 });
    const [error, info] = failures[0] as [Error, TaskErrorInfo];
    expect(error).toBeInstanceOf(PoolStoppedError);
    expect(info).toEqual({ taskId: id, worker: 0, pid: exits[0]?.pid });
  });

  it("a put task that never left the queue reports worker and pid -1 in 'taskError'", async () => {
    const pool = makePool({ worker: 'gate.ts', size: 1, concurrency: 1 });
    await pool.start();
    const failures: TaskErrorInfo[] = [];
    pool.on('taskError', (_error, info) => failures.push(info));
    const sent = await pool.put('held by the worker');
    const queued = await pool.put('queued');
    await pool.stop({ drain: false, timeout: 5_000 });
    expect(failures.find((f) => f.taskId === queued)).toEqual({ taskId: queued, worker: -1, pid: -1 });
    expect(failures.find((f) => f.taskId === sent)).toMatchObject({ taskId: sent, worker: 0 });
  });

  it('without retries, its task rejects with WorkerCrashedError naming the exit code and pid', async () => {
    const pool = makePool({ worker: 'crash-once.ts', size: 1 });
    const error = (await pool.run('crash-once').catch((e: unknown) => e)) as WorkerCrashedError;
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect(error.exitCode).toBe(5);
    expect(await pool.run('fine')).toBe(1);
  });

  it('a task that kills every worker it runs on alone fails as a poison task, whatever the retries', async () => {
    const pool = makePool({ worker: 'crash.ts', size: 2, retries: 10 });
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const error = (await pool.run('exit').catch((e: unknown) => e)) as PoisonTaskError;
    expect(error).toBeInstanceOf(PoisonTaskError);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect(error.code).toBe('ERR_POISON_TASK');
    expect(exits.map((e) => e.reason)).toEqual(['crash', 'crash']);
    await waitFor(() => pool.stats().workers.every((w) => w.state === 'ready'), 'the pool to be back to full size');
    expect(typeof (await pool.run('pid'))).toBe('number');
  });

  it('keeps its size: the replacement has the same number and a new pid', async () => {
    const pool = makePool({ worker: 'crash.ts', size: 2 });
    await pool.start();
    const before = pool.stats().workers.map((w) => w.pid);
    const starts: number[] = [];
    pool.on('workerStart', (info) => starts.push(info.worker));
    process.kill(before[1] as number, 'SIGKILL');
    await waitFor(() => starts.length === 1, 'the replacement to start');
    const after = pool.stats().workers.map((w) => w.pid);
    expect(starts).toEqual([1]);
    expect(after[0]).toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
  });

  it('backs off while replacements fail to start, then turns unhealthy and heals once a start succeeds', async () => {
    const flag = path.join(os.tmpdir(), `looppool-flag-${process.pid}-${Date.now()}`);
    try {
      const pool = makePool({ worker: 'init-flag.ts', size: 1, workerData: { flag }, maxStartFailures: 3, unhealthyCooldown: 1500 });
      await pool.start();
      const firstPid = pool.stats().workers[0]?.pid as number;
      writeFileSync(flag, '');
      const exits: WorkerExitInfo[] = [];
      const unhealthy = new Promise<void>((resolve) => pool.on('workerExit', (info) => exits.push(info) === 4 && resolve()));
      process.kill(firstPid, 'SIGKILL');
      await waitFor(() => exits.length === 1, 'the kill to be seen');
      const queued = pool.run(null).catch((e: unknown) => e); // waits in the queue: no worker is ready
      await unhealthy; // the kill, then three failed starts
      const error = (await queued) as PoolUnhealthyError;
      expect(error).toBeInstanceOf(PoolUnhealthyError);
      expect(error.cause).toBeInstanceOf(WorkerInitError);
      expect(pool.stats().healthy).toBe(false);
      expect(error.failures).toBe(3);
      // Refused at the call: each caller gets an error of its own, made at its call.
      const refused = [(await pool.run(null).catch((e: unknown) => e)) as PoolUnhealthyError, (await pool.run(null).catch((e: unknown) => e)) as PoolUnhealthyError];
      for (const e of refused) {
        expect(e).toBeInstanceOf(PoolUnhealthyError);
        expect(e).not.toBe(error);
        expect([e.code, e.message, e.failures, e.cause]).toEqual([error.code, error.message, 3, error.cause]);
        expect(e.stack).toContain('crashes.test.ts');
      }
      expect(refused[0]).not.toBe(refused[1]);
      // No respawn storm: nothing is started while the pool cools down.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(exits).toHaveLength(4);
      rmSync(flag);
      await waitFor(() => pool.stats().healthy, 'the pool to heal');
      expect(await pool.run(null)).not.toBe(firstPid);
    } finally {
      rmSync(flag, { force: true });
    }
  });

  it('a replacement not ready within startTimeout is killed and counts as a failed start: the pool turns unhealthy, then heals', async () => {
    const flag = path.join(os.tmpdir(), `looppool-hang-flag-${process.pid}-${Date.now()}`);
    try {
      // The first start must finish within startTimeout: generous, as a loaded machine starts slowly.
      const pool = makePool({ worker: 'init-hangs-on-flag.mjs', size: 1, workerData: { flag }, startTimeout: 4000, maxStartFailures: 1, unhealthyCooldown: 500 });
      await pool.start();
      const firstPid = pool.stats().workers[0]?.pid as number;
      writeFileSync(flag, '');
      const exits: WorkerExitInfo[] = [];
      const twoExits = new Promise<void>((resolve) => pool.on('workerExit', (info) => exits.push(info) === 2 && resolve()));
      process.kill(firstPid, 'SIGKILL');
      await waitFor(() => exits.length === 1, 'the kill to be seen');
      const queued = pool.run(null).catch((e: unknown) => e); // waits in the queue: no worker is ready
      await waitFor(() => ![-1, firstPid].includes(pool.stats().workers[0]?.pid as number), 'the replacement to be spawned');
      const hangingPid = pool.stats().workers[0]?.pid as number; // stuck in initialize()
      await twoExits;
      expect(exits[1]).toMatchObject({ worker: 0, pid: hangingPid, reason: 'timeout', signal: 'SIGKILL' });
      const error = (await queued) as PoolUnhealthyError;
      expect(error).toBeInstanceOf(PoolUnhealthyError);
      expect(error.cause).toBeInstanceOf(WorkerInitError);
      expect(error.cause).toMatchObject({ stage: 'timeout', worker: 0, pid: hangingPid });
      expect((error.cause as Error).message).toMatch(/it was not ready within startTimeout \(4000 ms\)/);
      expect(isAlive(hangingPid)).toBe(false);
      rmSync(flag);
      await waitFor(() => pool.stats().healthy, 'the pool to heal');
      expect(await pool.run(null)).not.toBe(hangingPid);
    } finally {
      rmSync(flag, { force: true });
    }
  });

  it('with retries, a task whose worker dies while the pool is unhealthy rejects with PoolUnhealthyError instead of waiting for the pool to heal', async () => {
    const flag = path.join(os.tmpdir(), `looppool-flag-${process.pid}-${Date.now()}`);
    try {
      const pool = makePool({ worker: 'init-flag.ts', size: 2, retries: 1, workerData: { flag }, maxStartFailures: 1, unhealthyCooldown: 60_000 });
      await pool.start();
      const [first, second] = pool.stats().workers.map((w) => w.pid) as [number, number];
      let outcome: unknown;
      void pool.run(60_000, { worker: 0 }).then((v) => (outcome = v), (e: unknown) => (outcome = e));
      await waitFor(() => pool.stats().workers[0]?.inFlight === 1, 'worker 0 to hold the task');
      writeFileSync(flag, '');
      process.kill(second, 'SIGKILL'); // its replacement fails to start: the pool is unhealthy
      await waitFor(() => !pool.stats().healthy, 'the pool to turn unhealthy');
      process.kill(first, 'SIGKILL'); // its task would be retried, but no worker can take it
      await waitFor(() => outcome !== undefined, 'the task to settle', 10_000);
      expect(outcome).toBeInstanceOf(PoolUnhealthyError);
      expect((outcome as PoolUnhealthyError).cause).toBeInstanceOf(WorkerInitError);
      expect(pool.stats()).toMatchObject({ queued: 0, inFlight: 0, failed: 1 });
    } finally {
      rmSync(flag, { force: true });
    }
  });

  it('with retries, a task whose worker dies while the pool is unhealthy is retried on a ready worker that takes it at once', async () => {
    const flag = path.join(os.tmpdir(), `looppool-flag-${process.pid}-${Date.now()}`);
    try {
      const pool = makePool({ worker: 'init-flag.ts', size: 3, retries: 1, workerData: { flag }, maxStartFailures: 1, unhealthyCooldown: 60_000 });
      await pool.start();
      const task = pool.run(3000, { worker: undefined }).catch((e: unknown) => e);
      await waitFor(() => pool.stats().inFlight === 1, 'a worker to hold the task');
      const holder = pool.stats().workers.find((w) => w.inFlight === 1) as { worker: number; pid: number };
      const spare = pool.stats().workers.find((w) => w.inFlight === 0) as { worker: number; pid: number };
      writeFileSync(flag, '');
      process.kill(spare.pid, 'SIGKILL'); // its replacement fails to start: the pool is unhealthy
      await waitFor(() => !pool.stats().healthy, 'the pool to turn unhealthy');
      process.kill(holder.pid, 'SIGKILL'); // the third worker is ready: the retry goes there
      const other = pool.stats().workers.find((w) => w.worker !== holder.worker && w.worker !== spare.worker) as { pid: number };
      expect(await task).toBe(other.pid);
    } finally {
      rmSync(flag, { force: true });
    }
  });

  it('restarts counts the replacements started, not one cancelled by the unhealthy pause or the stop', async () => {
    const flag = path.join(os.tmpdir(), `looppool-flag-${process.pid}-${Date.now()}`);
    try {
      const pool = makePool({ worker: 'init-flag.ts', size: 1, workerData: { flag }, maxStartFailures: 1, unhealthyCooldown: 60_000 });
      await pool.start();
      const exits: WorkerExitInfo[] = [];
      pool.on('workerExit', (info) => exits.push(info));
      writeFileSync(flag, '');
      process.kill(pool.stats().workers[0]?.pid as number, 'SIGKILL');
      await waitFor(() => !pool.stats().healthy, 'the replacement to fail and the pool to turn unhealthy');
      expect(exits).toHaveLength(2); // the kill, then the one replacement, which failed to start
      expect(pool.stats().restarts).toBe(1);
      await pool.stop(); // the replacement due after the cooldown is never started
      expect(pool.stats().restarts).toBe(1);
    } finally {
      rmSync(flag, { force: true });
    }
  });
});

describe('a draining stop when the pool turns unhealthy', () => {
  it('ends once the queue the drain was to finish is rejected: no wait for the cooldown, no worker started meanwhile', async () => {
    // Before: the stop waited out unhealthyCooldown (or stopTimeout), then started a worker it had no use for.
    const flag = path.join(os.tmpdir(), `looppool-flag-${process.pid}-${Date.now()}`);
    try {
      const pool = makePool({ worker: 'init-flag.ts', size: 1, concurrency: 1, workerData: { flag }, maxStartFailures: 1, unhealthyCooldown: 60_000, stopTimeout: 60_000 });
      await pool.start();
      const exits: WorkerExitInfo[] = [];
      pool.on('workerExit', (info) => exits.push(info));
      const running = pool.run(60_000).catch((e: unknown) => e);
      const queued = pool.run(1).catch((e: unknown) => e);
      await waitFor(() => pool.stats().inFlight === 1 && pool.stats().queued === 1, 'one task running, one queued');
      writeFileSync(flag, '');
      let stopped = false;
      const stopping = pool.stop().then(() => (stopped = true));
      process.kill(pool.stats().workers[0]?.pid as number, 'SIGKILL'); // its replacement fails: unhealthy
      expect(await running).toBeInstanceOf(WorkerCrashedError);
      expect(await queued).toBeInstanceOf(PoolUnhealthyError);
      await waitFor(() => stopped, 'the stop to end', 20_000);
      await stopping;
      expect(exits.map((e) => e.reason)).toEqual(['crash', 'crash']); // the kill, the failed replacement: nothing more
      expect(pool.stats()).toMatchObject({ state: 'stopped', restarts: 1, queued: 0, inFlight: 0 });
    } finally {
      rmSync(flag, { force: true });
    }
  });
});

describe('a worker that dies right after each start', () => {
  it('is replaced with the backoff of a failed start, not at once', async () => {
    // Before: a worker that died after it became ready was replaced at once, about ten times a second for ever.
    const pool = makePool({ worker: 'dies-after-ready.ts', size: 1 });
    const gaps: number[] = [];
    let exitedAt = 0;
    pool.on('workerExit', () => (exitedAt = performance.now()));
    pool.on('workerStart', () => exitedAt > 0 && gaps.push(performance.now() - exitedAt));
    await pool.start().catch(() => {});
    await waitFor(() => gaps.length >= 3, 'three replacements');
    // A replacement comes no sooner than its backoff (a timer never fires early): 100, 200, 400 ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(99);
    expect(gaps[1]).toBeGreaterThanOrEqual(199);
    expect(gaps[2]).toBeGreaterThanOrEqual(399);
  });

  it('is replaced at once when it finished a task first: its tasks killed it, not its start', async () => {
    // Before: a worker that finished tasks and then died within a second of becoming ready got a
    // failed start's backoff, doubled at each such death: a pool whose tasks crash it now and then
    // (0.2% of 10,000 tasks at concurrency 50) sat idle up to 30 s at a time with tasks queued.
    // With that backoff the 12th replacement comes after 100 + 200 + ... + 25,600 + 30,000 ms at least.
    const pool = makePool({ worker: 'crash.ts', size: 1 });
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const pids = new Set<number>();
    const deaths = (async () => {
      for (let i = 0; i < 12; i++) {
        pids.add(await pool.run('pid')); // waits in the queue for the replacement
        await expect(pool.run('exit')).rejects.toBeInstanceOf(WorkerCrashedError);
      }
      return pool.run('pid');
    })();
    const deadline = new Promise<'deadline'>((resolve) => setTimeout(() => resolve('deadline'), 30_000).unref());
    const last = await Promise.race([deaths, deadline]);
    expect(last).toEqual(expect.any(Number)); // not 'deadline'
    pids.add(last as number);
    expect(pids.size).toBe(13);
    expect(exits.map((e) => e.reason)).toEqual(new Array(12).fill('crash'));
    expect(pool.stats()).toMatchObject({ restarts: 12, healthy: true });
  }, 60_000);
});

describe('errors that escape a task', () => {
  it.each(['throw', 'reject'])('an escaped %s is reported as workerError and, by default, the worker is replaced', async (task) => {
    const pool = makePool({ worker: 'escapes.ts', size: 1 });
    const reported: [Error, { origin: string }][] = [];
    const states: (string | undefined)[] = [];
    pool.on('workerError', (error, info) => {
      reported.push([error, info]);
      states.push(pool.stats().workers[0]?.state); // it exits: no new task may go to it from now on
    });
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    expect(await pool.run(task)).toBe('ok');
    await waitFor(() => exits.length === 1 && pool.stats().workers[0]?.state === 'ready', 'the worker to be replaced');
    expect(reported[0]?.[0].message).toMatch(task === 'throw' ? /escaped from a timer/ : /nobody handles this/);
    expect(reported[0]?.[1].origin).toBe(task === 'throw' ? 'uncaughtException' : 'unhandledRejection');
    expect(exits[0]?.reason).toBe('error');
    expect(states).toEqual(['stopping']);
  });

  it('the tasks the worker still held fail with a WorkerCrashedError whose cause is the escaped error', async () => {
    // Before: they said only "exited unexpectedly (exit code 1)", without the error that ended the worker.
    const pool = makePool({ worker: 'escapes.ts', size: 1 });
    pool.on('workerError', () => {}); // reported there too
    const held = pool.run('hang').catch((e: unknown) => e);
    expect(await pool.run('throw')).toBe('ok');
    const error = (await held) as WorkerCrashedError;
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect(error.message).toMatch(/^Worker 0 \(pid \d+\) exited after an error escaped its tasks \(exit code 1\)$/);
    expect(error.cause).toMatchObject({ name: 'Error', message: 'escaped from a timer' });
  });

  it('a broadcast the worker had not answered fails with a WorkerCrashedError whose cause is the escaped error', async () => {
    // Before: "exited before it answered the broadcast", without the error that ended the worker.
    const pool = makePool({ worker: 'escapes.ts', size: 1 });
    pool.on('workerError', () => {}); // reported there too
    await pool.start();
    const broadcast = pool.broadcast('hang').catch((e: unknown) => e);
    expect(await pool.run('throw')).toBe('ok');
    const error = (await broadcast) as WorkerCrashedError;
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect(error.cause).toMatchObject({ message: 'escaped from a timer' });
  });

  it('with restartOnError: false the error is reported and the worker carries on', async () => {
    const pool = makePool({ worker: 'escapes.ts', size: 1, restartOnError: false });
    const reported: Error[] = [];
    pool.on('workerError', (error) => reported.push(error));
    const pid = await pool.run('pid');
    expect(await pool.run('throw')).toBe('ok');
    await waitFor(() => reported.length === 1, 'the report');
    expect(await pool.run('pid')).toBe(pid);
    expect(pool.stats().restarts).toBe(0);
  });
});

describe('a child that breaks the protocol', () => {
  it.each([
    ['garbage', /unknown frame codec/],
    ['foreign', /answer for task 999999, which it does not hold/],
    ['unasked', /tasks handed back unasked/],
    ['initFailed', /initFailed once started/],
  ])('is replaced when it writes %s to the channel; its task fails, others go on', async (task, message) => {
    const pool = makePool({ worker: 'forges.ts', size: 1 });
    const reported: Error[] = [];
    pool.on('workerError', (error) => reported.push(error));
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const error = await pool.run(task).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect(reported[0]).toBeInstanceOf(ProtocolError);
    expect(reported[0]?.message).toMatch(message);
    expect((error as WorkerCrashedError).cause).toBe(reported[0]); // before: no cause, "exited unexpectedly"
    expect((error as WorkerCrashedError).message).toMatch(/was killed: it broke the protocol \(/); // a signal, or an exit code: it may leave first, when its pipe closes
    expect(exits[0]?.reason).toBe('protocol');
    await waitFor(() => pool.stats().workers[0]?.state === 'ready', 'the replacement');
  });

  it('is replaced when it answers its task with an error nested deeper than any we write; the task fails, it does not wait for good', async () => {
    // Before: the shape check passed it, rebuilding it overflowed the stack after the task had
    // left the worker's list: the worker was killed, and the task never settled.
    const pool = makePool({ worker: 'forges.ts', size: 1 });
    const reported: Error[] = [];
    pool.on('workerError', (error) => reported.push(error));
    const error = await pool.run('deep-error').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect(reported[0]).toBeInstanceOf(ProtocolError);
    expect(reported[0]?.message).toMatch(/broke the protocol: malformed or foreign message: bad error/);
  });

  it('is replaced when it writes what is not a report to the watchdog\'s pipe; its task fails', async () => {
    const pool = makePool({ worker: 'forges.ts', size: 1, blockedLoopThreshold: 60_000 });
    const reported: Error[] = [];
    pool.on('workerError', (error) => reported.push(error));
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    await expect(pool.run('report')).rejects.toBeInstanceOf(WorkerCrashedError);
    expect(reported[0]).toBeInstanceOf(ProtocolError);
    expect(reported[0]?.message).toMatch(/^Worker 0 \(pid \d+\) broke the protocol: watchdog report: not JSON$/);
    expect(exits[0]?.reason).toBe('protocol');
  });

  it('a hostile payload pollutes no prototype in the worker either', async () => {
    const pool = makePool({ worker: 'proto-check.ts', size: 1 });
    const hostile = JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}');
    const answer = await pool.run(hostile);
    expect(answer).toEqual({ polluted: null, keys: ['__proto__', 'constructor'] });
  });
});
