import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PoolStoppedError, TaskAbortedError, WorkerInitError, WorkerStoppedError, type WorkerExitInfo } from 'looppool';
import { changingGetter, expectUnreadable, failureOf, throwingGetter } from '../helpers/getters.ts';
import { makePool, pidsOf } from '../helpers/pools.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';

describe('stop: the poison pill', () => {
  it('a plain Worker stops at once: its in-flight tasks reject with WorkerStoppedError', async () => {
    const pool = makePool({ worker: 'gate.ts', size: 2, concurrency: 5 });
    await pool.start();
    const tasks = Array.from({ length: 6 }, (_, i) => pool.run(i));
    await waitFor(() => pool.stats().inFlight === 6, 'the tasks to be dispatched');
    const settled = Promise.allSettled(tasks);
    await pool.stop();
    const outcomes = await settled;
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect((o as PromiseRejectedResult).reason).toBeInstanceOf(WorkerStoppedError);
    }
    expect(pidsOf(pool).some(isAlive)).toBe(false);
  });

  it("aborts a task's signal with the WorkerStoppedError class the worker's own code imports", async () => {
    // The worker's entry is bundled (bundle.config.mjs): the runtime and `looppool/worker` must
    // still share one copy of each class, or `instanceof` fails in the worker's code.
    const dir = await mkdtemp(path.join(tmpdir(), 'looppool-stop-reason-'));
    try {
      const report = path.join(dir, 'report.json');
      const pool = makePool({ worker: 'stop-reason.ts', size: 1, workerData: { report } });
      await pool.start();
      const task = pool.run('x').catch((e: unknown) => e);
      await waitFor(() => pool.stats().inFlight === 1, 'the task to run');
      await pool.stop();
      expect(await task).toBeInstanceOf(WorkerStoppedError);
      expect(JSON.parse(await readFile(report, 'utf8'))).toEqual({ reason: 'WorkerStoppedError', workerStopped: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a SafeWorker finishes its in-flight tasks before it exits', async () => {
    const pool = makePool({ worker: 'safe-sleep.ts', size: 2, concurrency: 5 });
    await pool.start();
    const tasks = Array.from({ length: 10 }, () => pool.run(300));
    await waitFor(() => pool.stats().inFlight === 10, 'the tasks to be dispatched');
    await pool.stop();
    expect(await Promise.all(tasks)).toEqual(Array(10).fill(300));
    expect(pidsOf(pool).some(isAlive)).toBe(false);
  });

  // Exit code 0 too (a task's process.exit(0)): before, that was taken for the stop, and the task got WorkerStoppedError.
  it.each([7, 0])('a SafeWorker that dies while it drains (exit code %i) is a crash: workerExit says so, its task gets WorkerCrashedError, nothing is retried or replaced', async (code) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'looppool-drain-crash-'));
    try {
      const pool = makePool({ worker: 'safe-dies-on-file.ts', size: 1, retries: 1 });
      const exits: unknown[] = [];
      pool.on('workerExit', (info) => exits.push(info));
      await pool.start();
      const file = path.join(dir, 'die');
      const task = pool.run({ file, code }).catch((e: unknown) => e);
      await waitFor(() => pool.stats().inFlight === 1, 'the task to run');
      const stopped = pool.stop();
      await writeFile(file, '');
      expect(await task).toMatchObject({ name: 'WorkerCrashedError', exitCode: code });
      await stopped;
      expect(exits).toMatchObject([{ worker: 0, exitCode: code, expected: false, reason: 'crash' }]);
      expect(pool.stats()).toMatchObject({ retried: 0, restarts: 0, failed: 1 });
      expect(pidsOf(pool)).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // Before its pill a worker is still running for the pool: a drain that loses it on a queued task
  // replaces it and retries as `retries` allows, so the queue it was asked to finish is finished.
  it.each([1, 0])('a worker that dies on a queued task a drain sent it (before its pill) is replaced, the task retried as retries (%i) allows, the rest of the queue run', async (retries) => {
    const pool = makePool({ worker: 'crash-once.ts', size: 1, concurrency: 1, retries });
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    await pool.start();
    const first = pool.run('first');
    const crashes = pool.run('crash-once').catch((e: unknown) => e); // queued: one credit
    const last = pool.run('last');
    await pool.stop();
    expect(await first).toBe(1);
    if (retries > 0) expect(await crashes).toBe(2); // its second attempt, on the replacement
    else expect(await crashes).toMatchObject({ name: 'WorkerCrashedError', exitCode: 5 });
    expect(await last).toBe(1);
    expect(pool.stats()).toMatchObject({ restarts: 1, retried: retries });
    expect(exits.map((e) => [e.reason, e.expected])).toEqual([['crash', false], ['stop', true]]);
  });

  it("an error that escapes while a worker stops (an abort listener that throws at the pill) is a workerError: the stop goes on, dispose() runs, the exit is a stop's", async () => {
    // Before: the worker exited at once for the error, dispose() skipped, its task failed with WorkerCrashedError.
    const dir = await mkdtemp(path.join(tmpdir(), 'looppool-stop-escape-'));
    try {
      const file = path.join(dir, 'disposed');
      const pool = makePool({ worker: 'abort-listener-throws.mjs', size: 1, workerData: file });
      const exits: unknown[] = [];
      pool.on('workerExit', (info) => exits.push(info));
      const reported: [Error, string][] = [];
      pool.on('workerError', (error, info) => reported.push([error, info.origin]));
      const task = pool.run('x').catch((e: unknown) => e);
      await waitFor(() => pool.stats().inFlight === 1, 'the task to run');
      await pool.stop();
      expect(await task).toBeInstanceOf(WorkerStoppedError);
      expect(reported).toMatchObject([[{ message: 'abort listener failed' }, 'uncaughtException']]);
      expect(exits).toMatchObject([{ exitCode: 0, reason: 'stop', expected: true }]);
      expect(await readFile(file, 'utf8')).toBe('disposed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('drains: queued tasks are dispatched and finished before the pill', async () => {
    const pool = makePool({ worker: 'safe-sleep.ts', size: 2, concurrency: 2 });
    await pool.start();
    const tasks = Array.from({ length: 12 }, () => pool.run(50));
    expect(pool.stats().queued).toBe(8);
    await pool.stop();
    expect(await Promise.all(tasks)).toEqual(Array(12).fill(50));
  });

  it('a plain Worker drains too: the queued tasks finish before its pill; a task started before stop() that outlasts them is abandoned', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 1, concurrency: 2 });
    await pool.start();
    const long = pool.run({ ms: 60_000, value: 'long' }).catch((e: unknown) => e);
    const tasks = Array.from({ length: 5 }, (_, i) => pool.run({ ms: 50, value: i }));
    await waitFor(() => pool.stats().inFlight === 2, 'two tasks to be dispatched');
    expect(pool.stats().queued).toBe(4);
    await pool.stop();
    expect((await Promise.all(tasks)).map((r) => r.value)).toEqual([0, 1, 2, 3, 4]);
    expect(await long).toBeInstanceOf(WorkerStoppedError);
    expect(pidsOf(pool).some(isAlive)).toBe(false);
  });

  it('a plain Worker at a draining stop starts the tasks it was sent and had not started (they wait behind CPU work in its run queue) before it abandons what still runs', async () => {
    // Before: the pill dropped them with WorkerStoppedError, though they never started: with the
    // default concurrency nearly every task of a fresh batch is sent, not queued in the parent.
    const pool = makePool({ worker: 'cpu.ts', size: 1, concurrency: 30 });
    await pool.start();
    const tasks = Array.from({ length: 30 }, (_, i) => pool.run({ ms: 20, value: i }));
    await waitFor(() => pool.stats().inFlight === 30, 'the tasks to be sent');
    expect(pool.stats().queued).toBe(0);
    await pool.stop();
    const answers = await Promise.all(tasks);
    expect(answers.map((a) => a.value)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(answers.at(-1)?.ran).toEqual(Array.from({ length: 30 }, (_, i) => i)); // each ran once, in order
    expect(pidsOf(pool).some(isAlive)).toBe(false);
  });

  it('stop({ drain: false }) on a plain Worker abandons the tasks still waiting in its run queue: they never start', async () => {
    const pool = makePool({ worker: 'cpu.ts', size: 1, concurrency: 30 });
    await pool.start();
    const tasks = Array.from({ length: 30 }, (_, i) => pool.run({ ms: 50, value: i }));
    await waitFor(() => pool.stats().inFlight === 30, 'the tasks to be sent');
    await pool.stop({ drain: false });
    const outcomes = await Promise.allSettled(tasks);
    const ran = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(ran).toBeLessThan(30);
    for (const o of outcomes.slice(ran)) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(WorkerStoppedError);
  });

  it('stop({ drain: false }) rejects the queued tasks with PoolStoppedError', async () => {
    const pool = makePool({ worker: 'safe-sleep.ts', size: 1, concurrency: 2 });
    await pool.start();
    const settled = Promise.allSettled(Array.from({ length: 5 }, () => pool.run(100)));
    await pool.stop({ drain: false });
    const outcomes = await settled;
    expect(outcomes.slice(0, 2).map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    for (const o of outcomes.slice(2)) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(PoolStoppedError);
  });

  it('kills the workers left after `timeout` and rejects their tasks', async () => {
    const pool = makePool({ worker: 'safe-sleep.ts', size: 1 });
    await pool.start();
    const task = pool.run(60_000);
    await waitFor(() => pool.stats().inFlight === 1, 'the task to be dispatched');
    await pool.stop({ timeout: 300 });
    const error = await task.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerStoppedError);
    expect((error as Error).message).toMatch(/stop timeout/);
    expect(pidsOf(pool).some(isAlive)).toBe(false);
  });

  it('a bad stop timeout or option rejects that call only: the pool runs on, and stop() and terminate() still work', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    await pool.start();
    for (const timeout of [-1, Number.NaN, 2 ** 31, '5' as unknown as number]) {
      await expect(pool.stop({ timeout })).rejects.toThrow(/Expected `timeout` to be a number of ms from 0 to 2147483647, or Infinity/);
    }
    // A typo or a drain that is no boolean would have drained, the opposite of what `drain: 'no'` asks
    await expect(pool.stop({ dran: false } as never)).rejects.toThrow(/Unknown option `dran` \(stop takes `drain` and `timeout`\)/);
    await expect(pool.stop({ drain: 'no' } as never)).rejects.toThrow(/Expected `drain` to be a boolean, got `"no"` \(string\)/);
    await expect(pool.stop({ drain: null } as never)).rejects.toThrow(/Expected `drain` not to be null/);
    await expect(pool.stop(null as never)).rejects.toThrow(/Expected the options to be an object, got `null`/);
    await expect(pool.stop([] as never)).rejects.toThrow(/Expected the options to be an object, got an array/);
    // A Map's entries are no own keys: it was read as {}, a drain with the default timeout.
    await expect(pool.stop(new Map([['drain', false]]) as never)).rejects.toThrow(/Expected the options to be an object, got a Map/);
    expect(pool.state).toBe('running');
    expect(await pool.run(7)).toBe(7);
    const stopping = pool.stop({ timeout: 60_000 });
    await pool.terminate();
    await stopping;
    expect(pool.state).toBe('stopped');
    expect(pidsOf(pool).some(isAlive)).toBe(false);
  });

  // Before: the getter's own error was the rejection, naming no option; and `timeout` was read
  // twice (the null check, then its use): checked as 60000, used as -1, refused.
  it('stop() reads each option once: a getter that throws rejects that call with a TypeError naming it; the pool runs on', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    await pool.start();
    const cause = new Error('config not loaded');
    const stopping = pool.stop(throwingGetter({}, 'drain', cause)); // rejects, does not throw
    expectUnreadable(await failureOf(() => stopping), 'drain', cause);
    expect(pool.state).toBe('running');
    expect(await pool.run(7)).toBe(7);
    const timeout = changingGetter({}, 'timeout', [60_000, -1]);
    await pool.stop(timeout.options);
    expect(timeout.reads()).toBe(1);
    expect(pool.state).toBe('stopped');
  });

  it('stopTimeout Infinity waits for the tasks as long as they take (no timer kills them)', async () => {
    const pool = makePool({ worker: 'safe-sleep.ts', size: 1, stopTimeout: Infinity });
    await pool.start();
    const task = pool.run(300);
    await waitFor(() => pool.stats().inFlight === 1, 'the task to be dispatched');
    await pool.stop();
    expect(await task).toBe(300);
  });

  it('put, run and start after stop reject with PoolStoppedError; stop twice is the same stop', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    await pool.start();
    const first = pool.stop();
    expect(pool.stop()).toBe(first);
    await expect(pool.start()).rejects.toBeInstanceOf(PoolStoppedError); // before: the first start's promise, as if it ran
    await first;
    await expect(pool.start()).rejects.toBeInstanceOf(PoolStoppedError);
    await expect(pool.run(1)).rejects.toBeInstanceOf(PoolStoppedError);
    await expect(pool.put(1)).rejects.toBeInstanceOf(PoolStoppedError);
    expect(() => pool.putNowait(1)).toThrow(PoolStoppedError);
    await expect(pool.broadcast(1)).rejects.toBeInstanceOf(PoolStoppedError);
    expect(pool.state).toBe('stopped');
  });

  it('terminate() while workers are still starting kills them at once; start() rejects with PoolStoppedError', async () => {
    const pool = makePool({ worker: 'slow-init.ts', size: 2 });
    const starting = pool.start().catch((e: unknown) => e);
    const task = pool.run('never').catch((e: unknown) => e);
    await waitFor(() => pool.stats().workers.every((w) => w.pid > 0), 'the workers to be forked');
    const pids = pool.stats().workers.map((w) => w.pid);
    await pool.terminate();
    expect(await starting).toBeInstanceOf(PoolStoppedError);
    expect(await task).toBeInstanceOf(PoolStoppedError);
    expect(pids.some(isAlive)).toBe(false);
  });

  it('terminate() in the same tick as start(), before any worker is forked: none is, and start() and terminate() end', async () => {
    // Before: the workers were forked after terminate() had found none to kill, and terminate() waited for their initialize() for ever.
    const pool = makePool({ worker: 'slow-init.ts', size: 2, startTimeout: Infinity });
    const starting = pool.start().catch((e: unknown) => e);
    await pool.terminate();
    expect(await starting).toMatchObject({ name: 'PoolStoppedError', message: 'The pool was terminated while it was starting' });
    expect(pool.stats().workers.map((w) => w.pid)).toEqual([-1, -1]);
    expect(pool.state).toBe('stopped');
  });

  it("terminate() from a listener of the last worker's 'workerStart' ends the start: start() rejects with PoolStoppedError, terminate() resolves, no worker is left", async () => {
    // Before: the workers were killed as the start was about to count the last one ready; none then
    // exited before it was ready, and start() and terminate() never settled (the pool stayed 'starting').
    const pool = makePool({ worker: 'echo.ts', size: 2 });
    let terminated: Promise<unknown> | undefined;
    let ready = 0;
    pool.on('workerStart', () => {
      if (++ready === 2) terminated = pool.terminate().then(() => 'terminated', (e: unknown) => e);
    });
    let started: unknown = 'pending';
    void pool.start().then(() => (started = 'started'), (e: unknown) => (started = e));
    await waitFor(() => started !== 'pending', 'start() to settle');
    expect(started).toMatchObject({ name: 'PoolStoppedError', message: 'The pool was terminated while it was starting' });
    expect(await terminated).toBe('terminated');
    expect(pool.state).toBe('stopped');
    expect(pidsOf(pool)).toHaveLength(2);
    expect(pidsOf(pool).some(isAlive)).toBe(false);
  });

  it.each([true, false])('stop({ drain: %s }) called while the pool starts: a drain runs the tasks queued before it, a stop without one rejects them all', async (drain) => {
    // Before: the workers, once ready, were sent the queued tasks before the stop chose its phase, and their pills abandoned them.
    const pool = makePool({ worker: 'sleep.ts', size: 2, concurrency: 1 });
    const tasks = [50, 300, 50].map((ms, i) => pool.run({ ms, value: i }).then((r) => r.value, (e: unknown) => e));
    await pool.stop({ drain });
    const results = await Promise.all(tasks);
    if (drain) expect(results).toEqual([0, 1, 2]);
    else for (const r of results) expect(r).toMatchObject({ name: 'PoolStoppedError', message: 'The pool was stopped before the task was dispatched' });
  });

  it('stop({ timeout }) while a worker is still starting kills it once the timeout passes: start() and the queued task reject with PoolStoppedError', async () => {
    const pool = makePool({ worker: 'slow-init.ts', size: 1 }); // initialize() takes a minute
    const starting = pool.start().catch((e: unknown) => e);
    const task = pool.run('never').catch((e: unknown) => e);
    await waitFor(() => pool.stats().workers.every((w) => w.pid > 0), 'the worker to be forked');
    const pids = pool.stats().workers.map((w) => w.pid);
    await pool.stop({ timeout: 300 });
    expect(await starting).toBeInstanceOf(PoolStoppedError);
    expect((await starting as Error).message).toBe('The pool stopped (the stop timeout passed) while it was starting');
    expect(await task).toBeInstanceOf(PoolStoppedError);
    expect(pids.some(isAlive)).toBe(false);
    expect(pool.state).toBe('stopped');
  });

  it('stop() waiting for a start that fails: start() rejects with PoolStoppedError, whose cause is what failed it', async () => {
    const pool = makePool({ worker: 'init-throws.ts', size: 1 });
    const starting = pool.start().catch((e: unknown) => e);
    const stopping = pool.stop(); // waits for the start
    const error = (await starting) as PoolStoppedError;
    await stopping;
    expect(error).toBeInstanceOf(PoolStoppedError);
    expect(error.message).toBe('The pool was stopped while it was starting');
    expect(error.cause).toBeInstanceOf(WorkerInitError);
    expect(pool.state).toBe('stopped');
  });

  it('a drain stop runs the submissions still waiting for room under maxQueue (they have their ids); stop({ drain: false }) rejects and counts them', async () => {
    for (const drain of [true, false]) {
      const pool = makePool({ worker: 'sleep.ts', size: 1, concurrency: 1, maxQueue: 1 });
      await pool.start();
      const ids: number[] = [];
      const runs = [1, 2, 3, 4, 5].map((value) => pool.run({ ms: 100, value }, { onSubmit: (id) => ids.push(id) }).catch((e: unknown) => e));
      await waitFor(() => pool.stats().inFlight === 1, 'the first task to be sent');
      expect(ids).toHaveLength(5); // one in flight, one queued, three waiting for room
      await pool.stop({ drain });
      const outcomes = await Promise.all(runs);
      if (drain) {
        expect(outcomes.map((r) => (r as { value: number }).value)).toEqual([1, 2, 3, 4, 5]);
        expect(pool.stats()).toMatchObject({ done: 5, failed: 0 });
      } else {
        expect(outcomes[0]).toBeInstanceOf(WorkerStoppedError); // a plain Worker abandons what it holds
        for (const outcome of outcomes.slice(1)) expect(outcome).toBeInstanceOf(PoolStoppedError);
        expect(pool.stats()).toMatchObject({ done: 0, failed: 5 });
      }
    }
  });

  it('a drain stop pills a worker at once when the tasks left in the queue were all sent to another worker by number', async () => {
    // abortable.ts tasks run until their signal aborts: worker 0 holds one and three more wait for it.
    const pool = makePool({ worker: 'abortable.ts', size: 2, concurrency: 1 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const controllers = Array.from({ length: 4 }, () => new AbortController());
    const runs = controllers.map((c) => pool.run('x', { worker: 0, signal: c.signal }).catch((e: unknown) => e));
    await waitFor(() => pool.stats().inFlight === 1, 'the first task to be sent');
    const stopping = pool.stop();
    await waitFor(() => exits.length === 1, 'worker 1, which none of the queued tasks can go to, to exit');
    expect(exits[0]).toMatchObject({ worker: 1, exitCode: 0, signal: null, reason: 'stop' });
    expect(pool.stats().queued).toBe(3);
    for (const c of controllers) c.abort();
    await stopping;
    for (const outcome of await Promise.all(runs)) expect(outcome).toBeInstanceOf(TaskAbortedError);
    expect(exits.map((e) => [e.worker, e.reason])).toEqual([[1, 'stop'], [0, 'stop']]);
  });

  it.each([
    ['a SafeWorker asked to hand tasks back finishes them all: those it handed back go back to it', false],
    ['a worker asked to hand tasks back that dies meanwhile: its tasks fail, none is retried or sent anywhere after stop()', true],
  ])('stop({ drain: false }) while %s', async (_, exit) => {
    // Before: the tasks it handed back failed with WorkerStoppedError though a SafeWorker runs what
    // it holds; and a crash's tasks were retried, and sent to the other worker, after the stop.
    const pool = makePool({ worker: 'safe-spins-on-zero.ts', size: 2, concurrency: 100, retries: 2 });
    await pool.start();
    let stopped = false;
    const sentAfterStop: number[] = [];
    const firstSentTo: number[] = [];
    const runs = Array.from({ length: 20 }, (_, i) =>
      pool.run({ ms: i === 0 ? 1500 : 20, exit: exit && i === 0 }, {
        onDispatch: ({ worker }) => {
          if (stopped) sentAfterStop.push(worker);
          firstSentTo[i] ??= worker;
        },
      }),
    );
    const tasks = runs.map((run) => run.then((n) => `worker ${n}`, (e: Error) => e.name));
    expect(firstSentTo.filter((w) => w === 1)).toHaveLength(10);
    await Promise.all(runs.filter((_, i) => firstSentTo[i] === 1)); // worker 1 is idle now; worker 0 is in its long task, still holding the rest
    await new Promise((resolve) => setTimeout(resolve, 50)); // the pool asks worker 0 to hand some back
    stopped = true;
    await pool.stop({ drain: false, timeout: 20_000 });
    const outcomes = await Promise.all(tasks);
    if (exit) {
      expect(sentAfterStop).toEqual([]);
      expect(outcomes.filter((o) => o !== 'worker 1')).toEqual(Array(10).fill('WorkerCrashedError'));
    } else {
      expect(sentAfterStop.length).toBeGreaterThan(0); // handed back: worker 1 had its pill already
      expect(sentAfterStop.every((w) => w === 0)).toBe(true);
      expect(outcomes.filter((o) => o !== 'worker 1')).toEqual(Array(10).fill('worker 0'));
    }
    expect(pool.stats().retried).toBe(0);
  });

  it('a drain waits for an answer to a request to hand tasks back only so long: a worker whose loop is blocked does not hold the others from their pill', async () => {
    // Before: the idle worker got no pill until the blocked one answered, which it never did; the
    // stop timeout then killed both, the idle one without its dispose().
    const pool = makePool({ worker: 'blocks.ts', size: 2, concurrency: 100 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const blocked = pool.run('block', { worker: 0 }).catch((e: unknown) => e);
    const sentTo: number[] = [];
    const rest = Array.from({ length: 10 }, (_, i) => pool.run(10, { onDispatch: ({ worker }) => (sentTo[i] = worker) }));
    expect(sentTo.filter((w) => w === 0).length).toBeGreaterThan(1); // worker 0 holds tasks it may hand back
    await Promise.all(rest.filter((_, i) => sentTo[i] === 1)); // worker 1 idles: worker 0 is asked to hand some back
    await new Promise((resolve) => setTimeout(resolve, 50));
    const settled = Promise.allSettled(rest);
    await pool.stop({ timeout: 4000 });
    await settled;
    expect(await blocked).toBeInstanceOf(WorkerStoppedError);
    expect(exits.find((e) => e.worker === 1)).toMatchObject({ signal: null, exitCode: 0, reason: 'stop' });
    expect(exits.find((e) => e.worker === 0)).toMatchObject({ signal: 'SIGKILL', reason: 'stop' });
  });

  it('a start is done once every worker has been ready, though one has left since: terminate() then ends, nothing hangs', async () => {
    // Before: start() waited for all workers to be ready at once; worker 0, recycled after its one
    // task, was not, and terminate() killed it with no replacement coming: start() and terminate() never settled.
    const pool = makePool({ worker: 'slow-init-one.ts', size: 2, maxTasksPerWorker: 1, workerData: { ms: 800 } });
    const starting = pool.start().then(() => 'started', (e: Error) => e.name);
    await waitFor(() => pool.stats().workers[0]?.state === 'ready', 'worker 0 to be ready');
    const task = pool.run(60_000, { worker: 0 }).catch((e: unknown) => e); // its one task: worker 0 is recycled (it drains)
    await waitFor(() => pool.stats().workers[1]?.state === 'ready', 'worker 1 to be ready');
    expect(await starting).toBe('started');
    await pool.terminate();
    expect(await task).toBeInstanceOf(WorkerStoppedError);
  });

  it("a dispose() that throws is a workerError of origin 'dispose', and the stop stays a stop: exit reason 'stop', the task it held gets WorkerStoppedError", async () => {
    // Before: the exit was an escaped error's (reason 'error', not expected), and the task a WorkerCrashedError.
    const pool = makePool({ worker: 'dispose-throws.ts', size: 1 });
    const errors: { message: string; origin: string }[] = [];
    pool.on('workerError', (error, info) => errors.push({ message: error.message, origin: info.origin }));
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    await pool.start();
    let sent = false;
    const held = pool.run(60_000, { onDispatch: () => (sent = true) }).catch((e: unknown) => e);
    await waitFor(() => sent, 'the task sent');
    await pool.stop();
    expect(await held).toBeInstanceOf(WorkerStoppedError);
    expect(errors).toEqual([{ message: 'could not close the database', origin: 'dispose' }]);
    expect(exits).toMatchObject([{ reason: 'stop', expected: true, exitCode: 0 }]);
  });

  it.each(['the stop timeout', 'terminate() during a stop'])('%s while the only worker left is a replacement waiting for its backoff: the stop resolves, the queued task rejects', async (how) => {
    // Before: cancelling the replacement left nothing that would end the stop: stop() and terminate() never resolved.
    const pool = makePool({ worker: 'dies-after-ready.ts', size: 1 });
    await pool.start();
    // Each worker dies right after its start: its replacement waits 100 ms, 200, 400, 800...
    await waitFor(() => pool.stats().restarts >= 3, 'a few replacements');
    await waitFor(() => pool.stats().workers[0]?.state === 'respawning', 'a wait for the next replacement');
    const queued = pool.run('never').catch((e: unknown) => e);
    if (how === 'the stop timeout') await pool.stop({ timeout: 20 });
    else {
      const stopping = pool.stop(); // a drain: it waits for the replacement, to run the queued task
      await pool.terminate();
      await stopping;
    }
    expect(await queued).toBeInstanceOf(PoolStoppedError);
    expect(pool.state).toBe('stopped');
  });

  it('starts and stops cleanly with any number of tasks in flight', async () => {
    for (let n = 0; n < 12; n++) {
      const pool = makePool({ worker: 'sleep.ts', size: 2, concurrency: 3 });
      const settled = Promise.allSettled(Array.from({ length: n }, (_, i) => pool.run({ ms: i % 3, value: i })));
      await pool.stop();
      const outcomes = await settled;
      // Every task settled exactly once: with its value, or stopped.
      for (const [i, o] of outcomes.entries()) {
        if (o.status === 'fulfilled') expect(o.value.value).toBe(i);
        else expect(o.reason).toBeInstanceOf(WorkerStoppedError);
      }
      expect(pidsOf(pool).some(isAlive)).toBe(false);
    }
  });
});
