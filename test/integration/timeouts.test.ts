import { describe, expect, it } from 'vitest';
import { TaskAbortedError, TaskError, TaskTimeoutError, WorkerCrashedError, WorkerStoppedError, type TaskErrorInfo, type WorkerExitInfo } from 'looppool';
import { makePool } from '../helpers/pools.ts';
import { waitFor } from '../helpers/processes.ts';

describe('taskTimeout', () => {
  it('soft limit: the task sees its signal aborted; its failure becomes a TaskTimeoutError and the worker lives on', async () => {
    const pool = makePool({ worker: 'honours-signal.ts', size: 1, taskTimeout: 200 });
    await pool.start();
    const pid = pool.stats().workers[0]?.pid;
    const error = (await pool.run('x').catch((e: unknown) => e)) as TaskTimeoutError;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error.phase).toBe('soft');
    expect(error.timeout).toBe(200);
    expect(error.cause).toBeInstanceOf(TaskError);
    expect(((error.cause as TaskError).cause as Error).name).toBe('TimeoutError');
    expect(pool.stats().workers[0]?.pid).toBe(pid);
    expect(pool.stats().restarts).toBe(0);
  });

  it('a task that ignores its signal while the loop turns rejects after the grace; the worker is not killed', async () => {
    const pool = makePool({ worker: 'gate.ts', size: 1, taskTimeout: 100, timeoutGrace: 100 });
    await pool.start();
    const pid = pool.stats().workers[0]?.pid;
    const error = (await pool.run('never').catch((e: unknown) => e)) as TaskTimeoutError;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error.phase).toBe('soft');
    expect(pool.stats().workers[0]?.pid).toBe(pid);
  });

  it('a worker whose every credit is held by tasks that timed out and go on is recycled: the tasks queued behind it run', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 1, concurrency: 1, taskTimeout: 100, timeoutGrace: 100 });
    await pool.start();
    const pid = pool.stats().workers[0]?.pid;
    const exits: { reason: string; expected: boolean }[] = [];
    pool.on('workerExit', (e) => exits.push(e));
    const hung = pool.run({ ms: 600_000 }).catch((e: unknown) => e); // sleep.ts ignores its signal: the task goes on, its loop turns
    const next = pool.run({ ms: 1, value: 'next' }, { timeout: 30_000 });
    expect(await hung).toMatchObject({ name: 'TaskTimeoutError', phase: 'soft' });
    expect((await next).value).toBe('next');
    expect(pool.stats().workers[0]?.pid).not.toBe(pid);
    expect(exits).toMatchObject([{ reason: 'recycle', expected: true }]);
  });

  it('a worker whose every credit is held by tasks their callers aborted is not recycled while they still have their grace: one that honours its signal keeps its worker', async () => {
    // Before: the worker was recycled at the abort, though its task answered within the grace.
    const pool = makePool({ worker: 'honours-signal.ts', size: 1, concurrency: 1, timeoutGrace: 60_000 });
    await pool.start();
    const pid = pool.stats().workers[0]?.pid;
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const controller = new AbortController();
    let sent = false;
    const aborted = pool.run({ lingerMs: 200 }, { signal: controller.signal, onDispatch: () => (sent = true) }).catch((e: unknown) => e);
    await waitFor(() => sent, 'the task sent');
    controller.abort();
    expect(await aborted).toBeInstanceOf(TaskAbortedError);
    // The next task goes to the same worker once the aborted one has wound down there.
    let ranOn = 0;
    const next = pool.run({ lingerMs: 0 }, { onDispatch: (w) => (ranOn = w.pid), timeout: 50 }).catch((e: unknown) => e);
    expect(await next).toBeInstanceOf(TaskTimeoutError);
    expect(ranOn).toBe(pid);
    expect(exits).toEqual([]);
    expect(pool.stats().restarts).toBe(0);
  });

  it('a task aborted, or past its timeout, while it waits behind one that blocks the loop never starts', async () => {
    // Before: the waiting tasks started in the turn after the blocking one, before the worker read the aborts sent meanwhile.
    // A long grace: the worker blocked past its task's soft limit is not taken for one blocked for good
    const pool = makePool({ worker: 'records-starts.ts', size: 1, concurrency: 10, timeoutGrace: 60_000 });
    await pool.start();
    let spinning = false;
    const blocker = pool.run({ spin: 2000 }, { onDispatch: () => (spinning = true) });
    const controller = new AbortController();
    const aborted = pool.run('record', { signal: controller.signal }).catch((e: unknown) => e);
    const timedOut = pool.run('record', { timeout: 100 }).catch((e: unknown) => e);
    await waitFor(() => spinning, 'the blocking task sent');
    setTimeout(() => controller.abort(), 100);
    expect(await blocker).toBe('ran');
    expect(await aborted).toBeInstanceOf(TaskAbortedError);
    expect(await timedOut).toMatchObject({ name: 'TaskTimeoutError', phase: 'soft' });
    expect(await pool.run('started')).toEqual(['spin']);
  });

  it('a small timeoutGrace does not take a busy loop for a blocked one: the worker answers its ping, and lives', async () => {
    // Before: with a grace of 0 the ping had no time to come back, and the worker was killed.
    const pool = makePool({ worker: 'busy-slices.ts', size: 1, concurrency: 2, timeoutGrace: 0 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const busy = pool.run(1500);
    const error = (await pool.run('ignore', { timeout: 300 }).catch((e: unknown) => e)) as TaskTimeoutError;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error.phase).toBe('soft');
    expect(await busy).toBe('done');
    expect(exits).toEqual([]);
  });

  it.each(['before its soft limit', 'during its grace'])('a task blocking its loop that its caller aborts %s still has its worker killed at the timeout: the tasks beside it settle', async (when) => {
    // Before: the abort cancelled the timeout, and the blocked worker held the other task for good.
    const pool = makePool({ worker: 'blocks.ts', size: 1, concurrency: 4, timeoutGrace: 1000 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const controller = new AbortController();
    let sent = false;
    const blocked = pool.run('block', { timeout: 300, signal: controller.signal, onDispatch: () => (sent = true) }).catch((e: unknown) => e);
    const beside = pool.run(60_000).catch((e: unknown) => e);
    await waitFor(() => sent, 'the blocking task sent');
    if (when === 'during its grace') await waitFor(() => pool.stats().timedOut === 1, 'the soft limit');
    controller.abort();
    expect(await blocked).toBeInstanceOf(TaskAbortedError);
    expect(await beside).toBeInstanceOf(WorkerCrashedError);
    expect(exits).toMatchObject([{ worker: 0, signal: 'SIGKILL', reason: 'timeout', expected: false }]);
  });

  it('the per-task timeout option overrides the pool default', async () => {
    const pool = makePool({ worker: 'honours-signal.ts', size: 1, taskTimeout: 60_000 });
    const error = (await pool.run('x', { timeout: 100 }).catch((e: unknown) => e)) as TaskTimeoutError;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error.timeout).toBe(100);
  });

  it('hard limit: a task blocking its loop forever kills and replaces its worker; other workers are unaffected', async () => {
    const pool = makePool({ worker: 'blocks.ts', size: 2, concurrency: 10, taskTimeout: 300, timeoutGrace: 300 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const blocked = pool.run('block', { worker: 0 }).catch((e: unknown) => e);
    // Collateral: tasks that were on the blocked worker.
    const collateral = Array.from({ length: 3 }, () => pool.run(5000, { worker: 0, timeout: 60_000 }).catch((e: unknown) => e));
    // A steady stream of tasks on the other worker, all the while.
    const others: Promise<number>[] = [];
    while (exits.length === 0) {
      others.push(pool.run(5, { worker: 1 }));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const error = (await blocked) as TaskTimeoutError;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error.phase).toBe('hard');
    expect(exits[0]).toMatchObject({ worker: 0, signal: 'SIGKILL', reason: 'timeout', expected: false });
    for (const c of await Promise.all(collateral)) {
      expect(c).toBeInstanceOf(WorkerCrashedError);
      // Before: "exited unexpectedly (signal SIGKILL)", without what killed it.
      expect((c as WorkerCrashedError).message).toMatch(/was killed: its event loop was blocked past a task timeout \(signal SIGKILL\)$/);
      expect((c as WorkerCrashedError).cause).toBe(error);
    }
    const otherPids = new Set(await Promise.all(others));
    expect(otherPids.size).toBe(1);
    await waitFor(() => pool.stats().workers.every((w) => w.state === 'ready'), 'the replacement');
    expect(typeof (await pool.run(1, { worker: 0 }))).toBe('number');
  });

  it('a task submitted as a hard timeout kills its worker goes to the replacement, not to the worker being killed', async () => {
    const pool = makePool({ worker: 'blocks.ts', size: 1, taskTimeout: 300, timeoutGrace: 100 });
    await pool.start();
    const killed = pool.stats().workers[0]?.pid;
    const error = (await pool.run('block').catch((e: unknown) => e)) as TaskTimeoutError;
    expect(error.phase).toBe('hard');
    expect(pool.stats().workers[0]?.state).not.toBe('ready'); // before: 'ready' until its exit was seen
    const pid = await pool.run(5); // before: sent to the dying worker, it failed with WorkerCrashedError
    expect(pid).not.toBe(killed);
  });

  it('a parent busy right after a soft timeout does not take its healthy worker for a blocked one', async () => {
    // Before: the ping waited for the end of the parent's busy stretch, and the hard check ran before
    // the pong was read: the worker was killed with its other tasks (4 runs in 4 for the audit).
    const pool = makePool({ worker: 'sleep.ts', size: 1, taskTimeout: 100, timeoutGrace: 300 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const other = pool.run({ ms: 2000 }, { timeout: 10_000 });
    const late = pool.run({ ms: 2000 }).catch((e: unknown) => e);
    setTimeout(() => {
      const end = Date.now() + 1000; // the parent busy (encoding a big task, say)
      while (Date.now() < end) {
        // busy
      }
    }, 100);
    const error = (await late) as TaskTimeoutError;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error.phase).toBe('soft');
    expect(await other).toMatchObject({ worker: 0 });
    expect(exits).toEqual([]);
  });

  it('a broadcast sent as a hard timeout kills its worker skips that worker (undefined in its place) instead of failing', async () => {
    const pool = makePool({ worker: 'blocks.ts', size: 2, taskTimeout: 300, timeoutGrace: 100 });
    await pool.start();
    const error = (await pool.run('block', { worker: 0 }).catch((e: unknown) => e)) as TaskTimeoutError;
    expect(error.phase).toBe('hard');
    // Before: it went to the worker being killed, which held the blocked task, and rejected with WorkerCrashedError.
    expect(await pool.broadcast('hello')).toEqual([undefined, undefined]);
  });

  it('a task retried after its worker died during the grace is a new attempt: its own failure is a TaskError, not a timeout', async () => {
    const pool = makePool({ worker: 'exits-on-abort.ts', size: 1, taskTimeout: 200, timeoutGrace: 60_000, retries: 1 });
    const error = (await pool.run('x').catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect((error.cause as Error).message).toBe('attempt 2 failed');
    expect(pool.stats()).toMatchObject({ retried: 1, timedOut: 1 });
  });

  it('a task whose worker dies during its grace, with no retry left, fails as a soft timeout whose cause is the crash', async () => {
    // Before: it failed with the bare WorkerCrashedError, where a failure the worker answers is a TaskTimeoutError.
    const pool = makePool({ worker: 'exits-on-abort.ts', size: 1, taskTimeout: 200, timeoutGrace: 60_000 });
    const errors: [unknown, TaskErrorInfo][] = [];
    pool.on('taskError', (error, info) => errors.push([error, info]));
    const error = (await pool.run('x').catch((e: unknown) => e)) as TaskTimeoutError;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error).toMatchObject({ code: 'ERR_TASK_TIMEOUT', phase: 'soft', timeout: 200, worker: 0 });
    expect(error.message).toMatch(/^Task \d+ timed out after 200 ms \(its worker died after its signal was aborted\)$/);
    expect(error.cause).toBeInstanceOf(WorkerCrashedError);
    expect(error.cause).toMatchObject({ code: 'ERR_WORKER_CRASHED', exitCode: 3, pid: error.pid });
    const id = await pool.put('y');
    await waitFor(() => errors.length === 1, "the put task's taskError");
    const [putError, info] = errors[0] as [TaskTimeoutError, TaskErrorInfo];
    expect(putError).toBeInstanceOf(TaskTimeoutError);
    expect(putError.cause).toBeInstanceOf(WorkerCrashedError);
    expect(info).toMatchObject({ taskId: id, worker: 0 });
    expect(pool.stats()).toMatchObject({ done: 0, failed: 2, timedOut: 2, retried: 0, queued: 0, inFlight: 0 });
  });

  it('a task past its soft limit that a stop takes from a plain Worker fails as a soft timeout whose cause is the stop', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 1, taskTimeout: 100, timeoutGrace: 60_000 });
    await pool.start();
    const late = pool.run({ ms: 600_000 }).catch((e: unknown) => e); // sleep.ts ignores its signal
    await waitFor(() => pool.stats().timedOut === 1, 'the soft limit');
    await pool.stop({ drain: false });
    const error = (await late) as TaskTimeoutError;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error.phase).toBe('soft');
    expect(error.message).toMatch(/\(its worker was stopped after its signal was aborted\)$/);
    expect(error.cause).toBeInstanceOf(WorkerStoppedError);
    expect(pool.stats()).toMatchObject({ failed: 1, timedOut: 1 });
  });

  it('with retries, the collateral tasks of a killed worker run again elsewhere', async () => {
    const pool = makePool({ worker: 'blocks.ts', size: 2, concurrency: 10, taskTimeout: 300, timeoutGrace: 200, retries: 1 });
    await pool.start();
    const blocked = pool.run('block').catch((e: unknown) => e);
    const busyPid = pool.stats().workers.find((w) => w.inFlight === 1)?.pid;
    const collateral = Array.from({ length: 3 }, () => pool.run(400, { timeout: 60_000 }));
    expect(await blocked).toBeInstanceOf(TaskTimeoutError);
    const pids = await Promise.all(collateral);
    expect(pids.every((pid) => pid !== busyPid)).toBe(true);
  });

  it('a task on a worker killed for another task\'s hard timeout was not running alone: twice is no poison task', async () => {
    const pool = makePool({ worker: 'blocks.ts', size: 1, concurrency: 2, taskTimeout: 200, timeoutGrace: 200, retries: 5 });
    await pool.start();
    let sent = 0;
    const bystander = pool.run(2000, { timeout: 60_000, onDispatch: () => sent++ }).catch((e: unknown) => e);
    for (let kill = 1; kill <= 2; kill++) {
      await waitFor(() => sent === kill, `the bystander's attempt ${kill} to be sent`);
      // Each block is sent to the worker holding the bystander, which is killed for it.
      expect(await pool.run('block').catch((e: unknown) => e)).toBeInstanceOf(TaskTimeoutError);
    }
    expect(typeof (await bystander)).toBe('number');
    expect(pool.stats()).toMatchObject({ retried: 2, failed: 2, done: 1 });
  });
});
