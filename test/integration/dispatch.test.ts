import { describe, expect, it } from 'vitest';
import { QueueFullError, TaskAbortedError, TaskTimeoutError } from 'looppool';
import { makePool } from '../helpers/pools.ts';
import { waitFor } from '../helpers/processes.ts';
import type { WaitSpinAnswer, WaitSpinTask } from '../fixtures/workers/waits-then-spins.ts';

describe('fair, credit-based dispatch', () => {
  it('with concurrency 1, never gives a busy worker a second task while another is idle', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 2, concurrency: 1 });
    await pool.start();
    const slow = pool.run({ ms: 1500, value: 'slow' });
    const quick = await Promise.all(Array.from({ length: 10 }, (_, i) => pool.run({ ms: 5, value: i })));
    const slowAnswer = await slow;
    // Every quick task ran on the other worker; none waited behind the slow one.
    expect(new Set(quick.map((q) => q.worker))).toEqual(new Set([1 - slowAnswer.worker]));
    expect(quick.map((q) => q.value)).toEqual([...Array(10).keys()]);
    expect(Math.max(slowAnswer.maxInFlight, ...quick.map((q) => q.maxInFlight))).toBe(1);
  });

  it('never gives a worker more than `concurrency` tasks, and the queue waits in the parent', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 2, concurrency: 3 });
    await pool.start();
    const tasks = Array.from({ length: 30 }, (_, i) => pool.run({ ms: 20, value: i }));
    const stats = pool.stats();
    expect(stats.workers.map((w) => w.inFlight)).toEqual([3, 3]);
    expect(stats.queued).toBe(24);
    const answers = await Promise.all(tasks);
    expect(Math.max(...answers.map((a) => a.maxInFlight))).toBe(3);
    expect(answers.map((a) => a.value)).toEqual([...Array(30).keys()]);
  });

  it('least-busy spreads equal tasks evenly over the workers', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 3, concurrency: 2 });
    await pool.start();
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.run({ ms: 300, value: i })));
    const perWorker = [0, 1, 2].map((w) => answers.filter((a) => a.worker === w).length);
    expect(perWorker).toEqual([2, 2, 2]);
  });

  it('round-robin hands tasks to the workers in turn', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 3, concurrency: 10, dispatch: 'round-robin' });
    await pool.start();
    const answers = await Promise.all(Array.from({ length: 9 }, (_, i) => pool.run({ ms: 1, value: i })));
    expect(answers.map((a) => a.worker)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
  });

  it('sends a task to the worker number given in `worker`', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 3 });
    const answers = await Promise.all([2, 0, 1, 2].map((worker) => pool.run({ ms: 1 }, { worker })));
    expect(answers.map((a) => a.worker)).toEqual([2, 0, 1, 2]);
    expect(() => pool.putNowait({ ms: 1 }, { worker: 3 })).toThrow(/Expected `worker` to be an integer from 0 to 2, got `3`/);
    // -1 (the pool's own mark for "any worker") and null are no worker numbers either.
    expect(() => pool.putNowait({ ms: 1 }, { worker: -1 })).toThrow(/Expected `worker` to be an integer from 0 to 2, got `-1`/);
    expect(() => pool.putNowait({ ms: 1 }, { worker: null as unknown as number })).toThrow(/Expected `worker` to be an integer from 0 to 2, got `null`/);
  });
});

describe('tasks submitted before every worker is ready', () => {
  it('are shared between the workers, not all taken by the first one ready', async () => {
    // The usual Promise.all(items.map(run)) on a pool not started: each task waits 50 ms, then
    // spins 30 ms. Async, every one a worker takes starts at once and can never be handed back:
    // before, the first worker ready took all 60 (concurrency 100) and the other idled.
    const pool = makePool<WaitSpinTask, WaitSpinAnswer>({ worker: 'waits-then-spins.ts', size: 2 });
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => pool.run({ value: i, wait: 50, spin: 30 })));
    expect(answers.map((a) => a.value)).toEqual([...Array(60).keys()]);
    const ranOn = [0, 1].map((w) => answers.filter((a) => a.worker === w));
    for (const ran of ranOn) expect(ran.length).toBeGreaterThanOrEqual(20);
    expect(new Set(answers.map((a) => a.pid)).size).toBe(2);
    expect(pool.stats()).toMatchObject({ done: 60, failed: 0, restarts: 0 });
  });

  it('a ready worker answers the first task at once, and takes its share again and again, while the other never becomes ready', async () => {
    // Worker 1's initialize() outlasts the test: every task runs on worker 0, a share at a time.
    const pool = makePool({ worker: 'slow-init-one.ts', size: 2, workerData: { ms: 60_000 } });
    expect(await pool.run(1)).toBe(1);
    expect(pool.stats().workers.map((w) => w.state)).toEqual(['ready', 'starting']);
    const answers = await Promise.all(Array.from({ length: 9 }, (_, i) => pool.run(i * 10)));
    expect(answers).toEqual(Array.from({ length: 9 }, (_, i) => i * 10));
    expect(pool.stats().workers.map((w) => [w.state, w.done])).toEqual([['ready', 10], ['starting', 0]]);
    await pool.terminate(); // a stop would wait for the start to end
  });
});

describe('backpressure', () => {
  it('putNowait throws QueueFullError at maxQueue and put waits until there is room', async () => {
    const pool = makePool({ worker: 'gate.ts', size: 1, concurrency: 1, maxQueue: 2 });
    await pool.start();
    const results: unknown[] = [];
    pool.on('result', (value) => results.push(value));
    pool.putNowait('a'); // dispatched: the worker holds it (gate closed)
    pool.putNowait('b'); // queued
    pool.putNowait('c'); // queued: the queue is full now
    expect(pool.stats().queued).toBe(2);
    expect(() => pool.putNowait('d')).toThrow(QueueFullError); // refused before it was made: it takes no id
    let putResolved = false;
    const put = pool.put('e').then((id) => {
      putResolved = true;
      return id;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(putResolved).toBe(false);
    await pool.broadcast('open');
    expect(await put).toBe(4); // the id after 'c''s
    await waitFor(() => results.length === 4, 'all four tasks to finish');
    expect(results).toEqual(['a', 'b', 'c', 'e']);
  });

  it('at maxQueue 0 holds no task in the parent: one is taken once a worker has a free credit for it, and sent', async () => {
    const pool = makePool({ worker: 'gate.ts', size: 1, concurrency: 1, maxQueue: 0 });
    const results: unknown[] = [];
    pool.on('result', (value) => results.push(value));
    const a = pool.run('a'); // starts the pool; taken when the worker is ready
    await waitFor(() => pool.stats().inFlight === 1, 'the worker to take the first task');
    expect(pool.stats().queued).toBe(0);
    expect(() => pool.putNowait('b')).toThrow(QueueFullError); // the only credit is taken
    const c = pool.put('c').then((id) => ({ id, stats: pool.stats() }));
    const d = pool.run('d');
    expect(pool.stats()).toMatchObject({ queued: 2, inFlight: 1 }); // both wait for a credit
    await pool.broadcast('open');
    expect(await a).toBe('a');
    const put = await c;
    expect(typeof put.id).toBe('number');
    expect(put.stats).toMatchObject({ queued: 1, inFlight: 1 }); // 'c' was sent when put() resolved; 'd' waits
    expect(await d).toBe('d');
    await waitFor(() => results.length === 1, "the put task's result");
    expect(results).toEqual(['c']);
    expect(typeof pool.putNowait('e')).toBe('number'); // the worker is idle: taken and sent at once
    expect(pool.stats()).toMatchObject({ queued: 0, inFlight: 1 });
    await waitFor(() => results.length === 2, "the last task's result");
    expect(pool.stats()).toMatchObject({ queued: 0, inFlight: 0, done: 4 });
  });

  it('a queue full of tasks for a busy worker by number holds back no task another worker can take at once', async () => {
    const pool = makePool<WaitSpinTask, WaitSpinAnswer>({ worker: 'waits-then-spins.ts', size: 2, concurrency: 1, maxQueue: 2 });
    await pool.start();
    const results: WaitSpinAnswer[] = [];
    pool.on('result', (value) => results.push(value));
    const release = new AbortController();
    const onZero = [1, 2, 3].map((i) => pool.run({ value: `on 0: ${i}`, wait: 60_000 }, { worker: 0, signal: release.signal }).catch((e: unknown) => e));
    expect(pool.stats()).toMatchObject({ queued: 2, inFlight: 1 }); // the queue is full; worker 1 is idle
    expect(typeof pool.putNowait({ value: 'put' })).toBe('number'); // before: QueueFullError
    await waitFor(() => results.length === 1, "the put task's result");
    expect(results[0]).toMatchObject({ value: 'put', worker: 1 });
    const ran = await pool.run({ value: 'run' }); // before: it waited for worker 0's first task to end
    expect(ran).toMatchObject({ value: 'run', worker: 1 });
    expect(pool.stats().workers.map((w) => w.done)).toEqual([0, 2]);
    release.abort();
    for (const outcome of await Promise.all(onZero)) expect(outcome).toBeInstanceOf(TaskAbortedError);
  });

  it('the room a queued task leaves when it is aborted goes to a waiting put() at once', async () => {
    const pool = makePool({ worker: 'abortable.ts', size: 1, concurrency: 1, maxQueue: 1 });
    pool.on('taskError', () => {}); // the put task below is dropped by the stop at the end
    await pool.start();
    const hold = new AbortController();
    const held = pool.run('held', { signal: hold.signal }).catch((e: unknown) => e); // the worker holds it, and keeps it
    const queuedAbort = new AbortController();
    const queued = pool.run('queued', { signal: queuedAbort.signal }).catch((e: unknown) => e); // the queue is full
    let putId: number | undefined;
    const put = pool.put('waits for room').then((id) => (putId = id));
    expect(pool.stats().queued).toBe(2);
    queuedAbort.abort(); // nothing else happens: no task ends, no worker frees a credit
    expect(await queued).toBeInstanceOf(TaskAbortedError);
    await put;
    expect(typeof putId).toBe('number');
    expect(pool.stats()).toMatchObject({ queued: 1, inFlight: 1 });
    hold.abort();
    expect(await held).toBeInstanceOf(TaskAbortedError);
  });

  it('a task aborted in the queue or on a worker counts in stats().failed, once, like any task that rejects', async () => {
    const pool = makePool({ worker: 'abortable.ts', size: 1, concurrency: 1 });
    await pool.start();
    const hold = new AbortController();
    const held = pool.run('held', { signal: hold.signal }).catch((e: unknown) => e); // the worker holds it
    const queue = new AbortController();
    const queued = pool.run('queued', { signal: queue.signal }).catch((e: unknown) => e);
    expect(pool.stats()).toMatchObject({ queued: 1, inFlight: 1 });
    queue.abort();
    hold.abort();
    expect(await queued).toBeInstanceOf(TaskAbortedError);
    expect(await held).toBeInstanceOf(TaskAbortedError);
    // The worker still answers for the held task (its signal aborted, it returns): no second count.
    await waitFor(() => pool.stats().inFlight === 0, 'the worker to answer for the aborted task');
    expect(pool.stats()).toMatchObject({ done: 0, failed: 2, queued: 0 });
  });

  it("queued tasks a 'taskError' listener aborts while a stop rejects the queue are not counted out of it twice", async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 1, concurrency: 1 });
    await pool.start();
    const batch = new AbortController();
    pool.on('taskError', () => batch.abort()); // the put task's rejection cancels the batch, still being rejected
    const held = pool.run({ ms: 300 }).catch((e: unknown) => e); // the worker holds it
    await pool.put({ ms: 1 });
    const runs = [1, 2].map(() => pool.run({ ms: 1 }, { signal: batch.signal }).catch((e: unknown) => e));
    expect(pool.stats().queued).toBe(3);
    await pool.stop({ drain: false });
    for (const error of await Promise.all(runs)) expect(error).toBeInstanceOf(TaskAbortedError);
    await held;
    expect(pool.stats()).toMatchObject({ queued: 0, failed: 4 });
  });

  it("a worker's done and failed in stats() add up to the pool's: an answer to a task that failed already (aborted, timed out) counts nowhere", async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 1, timeoutGrace: 100 }); // a task still running 100 ms past its timeout fails
    await pool.start();
    const hold = new AbortController();
    const aborted = pool.run({ ms: 400 }, { signal: hold.signal }).catch((e: unknown) => e); // ignores its signal, answers later
    const late = pool.run({ ms: 600 }, { timeout: 100 }).catch((e: unknown) => e); // answers after its soft timeout failed it
    const ok = pool.run({ ms: 1 });
    hold.abort();
    expect(await aborted).toBeInstanceOf(TaskAbortedError);
    expect(await late).toBeInstanceOf(TaskTimeoutError);
    await ok;
    await waitFor(() => pool.stats().inFlight === 0, 'the worker to answer for both failed tasks');
    const stats = pool.stats();
    expect(stats).toMatchObject({ done: 1, failed: 2 });
    expect(stats.workers[0]).toMatchObject({ done: 1, failed: 2 }); // before: done 3, failed 0
  });

  it('a run() aborted while it waits for room leaves the waiters only: the queue count stays right and maxQueue holds', async () => {
    // Every task of this worker runs until its signal aborts: the test decides when a credit comes back.
    const pool = makePool({ worker: 'abortable.ts', size: 1, concurrency: 1, maxQueue: 1 });
    pool.on('taskError', () => {}); // the put tasks below are dropped by the stop at the end
    await pool.start();
    const hold = new AbortController();
    const held = pool.run('held', { signal: hold.signal }).catch((e: unknown) => e); // the worker holds it
    const next = new AbortController();
    let nextSent = false;
    const queued = pool.run('queued', { signal: next.signal, onDispatch: () => (nextSent = true) }).catch((e: unknown) => e); // the queue is full
    const waiter = new AbortController();
    let waiterSent = 0;
    const waiting = pool.run('waiting', { signal: waiter.signal, onDispatch: () => waiterSent++ }).catch((e: unknown) => e);
    expect(pool.stats().queued).toBe(2);
    waiter.abort();
    expect(await waiting).toBeInstanceOf(TaskAbortedError);
    expect(pool.stats().queued).toBe(1);
    hold.abort(); // its credit comes back: 'queued' goes out
    await waitFor(() => nextSent, 'the queued task to be sent');
    expect(pool.stats()).toMatchObject({ queued: 0, inFlight: 1 });
    pool.putNowait('fills the queue');
    expect(() => pool.putNowait('one too many')).toThrow(QueueFullError);
    expect(pool.stats().queued).toBe(1);
    next.abort();
    expect(await held).toBeInstanceOf(TaskAbortedError);
    expect(await queued).toBeInstanceOf(TaskAbortedError);
    await waitFor(() => pool.stats().queued === 0, 'the put task to be sent');
    expect(waiterSent).toBe(0);
  });

  it('submissions waiting for room that all name worker 1 (none ever waited for worker 0) are let in and run, in order', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 2, concurrency: 1, maxQueue: 0 });
    await pool.start();
    const results = await Promise.all([1, 2, 3].map((value) => pool.run({ ms: 50, value }, { worker: 1 })));
    expect(results.map((r: { value: number; worker: number }) => [r.value, r.worker])).toEqual([[1, 1], [2, 1], [3, 1]]);
  });

  it('at maxQueue 0 a submission waiting for a busy worker by number holds back no other; that worker frees a credit for it first', async () => {
    // Every task of this worker runs until its signal aborts: the test decides when a credit comes back.
    const pool = makePool({ worker: 'abortable.ts', size: 2, concurrency: 1, maxQueue: 0 });
    await pool.start();
    const sentTo = new Map<string, number>();
    const signals = new Map<string, AbortController>();
    const submit = (name: string, worker?: number) => {
      const abort = new AbortController();
      signals.set(name, abort);
      const options = { signal: abort.signal, onDispatch: (info: { worker: number }) => sentTo.set(name, info.worker) };
      return pool.run(name, worker === undefined ? options : { ...options, worker }).catch((e: unknown) => e);
    };
    const tasks = [submit('on 0', 0), submit('on 1', 1)]; // both workers busy
    await waitFor(() => sentTo.size === 2, 'both workers to take a task');
    tasks.push(submit('waits for 0', 0), submit('any, first'));
    expect(pool.stats().queued).toBe(2);
    (signals.get('on 1') as AbortController).abort(); // worker 1 frees its credit; worker 0 stays busy
    await waitFor(() => sentTo.has('any, first'), 'the untargeted task behind the one waiting for worker 0 to be sent');
    expect(sentTo.get('any, first')).toBe(1);
    expect(sentTo.has('waits for 0')).toBe(false);
    tasks.push(submit('any, second')); // every credit is taken: it waits behind 'waits for 0'
    (signals.get('on 0') as AbortController).abort(); // worker 0's credit goes to the older submission waiting for it
    await waitFor(() => sentTo.has('waits for 0'), 'the task waiting for worker 0 to be sent');
    expect(sentTo.get('waits for 0')).toBe(0);
    expect(sentTo.has('any, second')).toBe(false);
    expect(pool.stats()).toMatchObject({ queued: 1, inFlight: 2 });
    (signals.get('any, first') as AbortController).abort();
    await waitFor(() => sentTo.has('any, second'), 'the last untargeted task to be sent');
    expect(sentTo.get('any, second')).toBe(1);
    for (const abort of signals.values()) abort.abort();
    for (const outcome of await Promise.all(tasks)) expect(outcome).toBeInstanceOf(TaskAbortedError);
  });
});

describe('onSubmit', () => {
  // Before: onSubmit ran before the task was queued and its signal watched. An abort in it was
  // never seen (the task ran on, and one that waits for its signal never settled); a stop in it
  // finished on an empty queue, and the task queued after it stayed pending for ever.
  it('a signal aborted in onSubmit cancels the task, queued or already sent', async () => {
    const pool = makePool({ worker: 'abortable.ts', size: 1, concurrency: 4 });
    const cancelled = (): Promise<unknown> => {
      const controller = new AbortController();
      return pool.run('wait', { signal: controller.signal, onSubmit: () => controller.abort(new Error('changed my mind')) }).catch((e: unknown) => e);
    };
    const queued = cancelled(); // the pool is still starting: the task waits in the parent
    expect(((await queued) as TaskAbortedError).cause).toEqual(new Error('changed my mind'));
    await pool.start();
    const sent = cancelled(); // a free credit: sent at once
    expect(await sent).toBeInstanceOf(TaskAbortedError);
    await waitFor(() => pool.stats().inFlight === 0, 'the worker to let go of the task');
    expect(pool.stats()).toMatchObject({ queued: 0, failed: 2 });
  });

  it.each([
    // started: the task was sent at once, and a SafeWorker finishes what it holds unless killed
    { call: 'stop()', how: 'stop', started: true, outcome: 'resolves' },
    { call: 'stop({ drain: false })', how: 'stop-no-drain', started: true, outcome: 'resolves' },
    { call: 'terminate()', how: 'terminate', started: true, outcome: 'rejects' },
    // still starting: the task waits in the parent's queue, which only a drain runs
    { call: 'stop()', how: 'stop', started: false, outcome: 'resolves' },
    { call: 'stop({ drain: false })', how: 'stop-no-drain', started: false, outcome: 'rejects' },
    { call: 'terminate()', how: 'terminate', started: false, outcome: 'rejects' },
  ] as const)('$call called in onSubmit (the pool started: $started) still settles the task: it $outcome', async ({ how, started, outcome }) => {
    const pool = makePool({ worker: 'safe-sleep.ts', size: 1 });
    if (started) await pool.start();
    let stopping: Promise<void> | undefined;
    const task = pool
      .run(50, {
        onSubmit: () => {
          stopping = how === 'terminate' ? pool.terminate() : pool.stop({ drain: how === 'stop' });
        },
      })
      .then(
        (value) => ({ resolves: value }),
        (error: unknown) => ({ rejects: error }),
      ); // settled, may be while the stop is awaited
    await stopping;
    const settled = await task;
    if (outcome === 'resolves') expect(settled).toEqual({ resolves: 50 });
    else expect((settled as { rejects?: unknown }).rejects).toBeInstanceOf(Error);
    expect(pool.stats()).toMatchObject({ state: 'stopped', queued: 0, inFlight: 0 });
  });
});
