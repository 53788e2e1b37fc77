import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BroadcastError, BroadcastTimeoutError, PoolStoppedError, SerializationError, TaskAbortedError, TaskError, TaskTimeoutError, WorkerCrashedError } from 'looppool';
import { makePool, pidsOf } from '../helpers/pools.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';

describe('map', () => {
  // Item i sleeps (10 - i) * 30 ms: later items finish first.
  const items = Array.from({ length: 10 }, (_, i) => ({ ms: (10 - i) * 30, value: i }));

  it('yields results in input order by default', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 2, concurrency: 10 });
    const out: unknown[] = [];
    for await (const r of pool.map(items)) out.push(r.value);
    expect(out).toEqual([...Array(10).keys()]);
  });

  it('yields results as they finish with ordered: false', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 2, concurrency: 10 });
    // Both workers ready: every task starts at once (while a worker starts, the other takes only its share).
    await pool.start();
    const out: number[] = [];
    for await (const r of pool.map(items, { ordered: false })) out.push(r.value as number);
    expect([...out].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(out).not.toEqual([...Array(10).keys()]);
    expect(out[0]).toBe(9);
  });

  it('keeps at most `window` tasks in flight and reads an async iterable lazily', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 2, concurrency: 10 });
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 20; i++) {
        pulled++;
        yield { ms: 5, value: i };
      }
    }
    const out: number[] = [];
    for await (const r of pool.map(source(), { window: 3 })) {
      expect(pulled - out.length).toBeLessThanOrEqual(4);
      expect(pool.stats().inFlight).toBeLessThanOrEqual(3);
      out.push(r.value as number);
    }
    expect(out).toEqual([...Array(20).keys()]);
  });

  it('yields a finished result while an async source waits for its next item', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    let sawFirst!: () => void;
    const firstSeen = new Promise<void>((resolve) => (sawFirst = resolve));
    async function* source() {
      yield 1;
      await firstSeen; // like a line typed after the answer to the one before
      yield 2;
    }
    const out: unknown[] = [];
    const done = (async () => {
      for await (const r of pool.map(source())) {
        out.push(r);
        if (r === 1) sawFirst();
      }
    })();
    await waitFor(() => out.length > 0, 'the first result, while the source waits');
    await done;
    expect(out).toEqual([1, 2]);
  });

  it('leaving the loop while an async source waits does not wait for it, and runs nothing it yields later', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let closed = false;
    async function* source() {
      try {
        yield 1;
        await released;
        yield 2;
      } finally {
        closed = true;
      }
    }
    let left = false;
    void (async () => {
      for await (const r of pool.map(source())) if (r === 1) break;
      left = true;
    })();
    await waitFor(() => left, 'the loop to be left while the source waits');
    release();
    await waitFor(() => closed, 'the source to be closed once it answered');
    expect(await pool.run('after')).toBe('after');
    expect(pool.stats().done).toBe(2);
  });

  it('throws the first failure in order', async () => {
    const pool = makePool({ worker: 'throws.ts', size: 1 });
    await expect(async () => {
      for await (const _ of pool.map(['sync'])) void _;
    }).rejects.toBeInstanceOf(TaskError);
  });

  it("a source that throws: the results of the items read before it come first, then its error (sync and async generators, in order or not)", async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 2 });
    const boom = new Error('the source broke');
    function* syncSource() {
      yield* [{ ms: 90, value: 0 }, { ms: 10, value: 1 }, { ms: 50, value: 2 }];
      throw boom;
    }
    async function* asyncSource() {
      yield* syncSource();
    }
    for (const source of [syncSource, asyncSource]) {
      for (const ordered of [true, false]) {
        const out: unknown[] = [];
        const error = await (async () => {
          for await (const r of pool.map(source(), { ordered })) out.push(r.value);
        })().then(() => undefined, (e: unknown) => e);
        expect(error).toBe(boom); // before: thrown at once, the three results dropped
        expect([...out].sort()).toEqual([0, 1, 2]);
        if (ordered) expect(out).toEqual([0, 1, 2]);
      }
    }
    expect(pool.stats()).toMatchObject({ done: 12, failed: 0, inFlight: 0 });
  });

  it('runs at a concurrency of 2^52 or more: the default window is capped at a safe integer', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 2, concurrency: 2 ** 52 });
    const out: unknown[] = [];
    for await (const r of pool.map([{ ms: 1, value: 'a' }, { ms: 1, value: 'b' }])) out.push(r.value); // before: TypeError about `window`
    expect(out).toEqual(['a', 'b']);
  });

  it('a signal cancels the map: it throws TaskAbortedError, its queued tasks are dropped, its running ones see ctx.signal', async () => {
    const pool = makePool({ worker: 'abortable.ts', size: 1, concurrency: 2 });
    const streamed: unknown[] = [];
    pool.on('result', (value) => streamed.push(value));
    await pool.start();
    const controller = new AbortController();
    const it = pool.map(Array.from({ length: 10 }, (_, i) => i), { window: 5, signal: controller.signal });
    const first = it.next().then(() => undefined, (e: unknown) => e);
    await waitFor(() => pool.stats().inFlight === 2 && pool.stats().queued === 3, 'two tasks running, three queued');
    const reason = new Error('the user pressed cancel');
    controller.abort(reason);
    const error = await first;
    expect(error).toBeInstanceOf(TaskAbortedError);
    expect((error as TaskAbortedError).cause).toBe(reason);
    await waitFor(() => streamed.length === 2, 'both running tasks to see their signal');
    expect(streamed).toEqual([{ aborted: 1, reason: 'AbortError' }, { aborted: 2, reason: 'AbortError' }]); // a worker sees an AbortError, not the caller's reason
    expect(pool.stats()).toMatchObject({ inFlight: 0, queued: 0, done: 0, failed: 5 });
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('maps a string (an iterable) over its characters; an input that fails to open leaves no listener on the signal', async () => {
    // Before: a string failed with "Cannot use 'in' operator", and each failed map left its abort listener behind.
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    const controller = new AbortController();
    const out: unknown[] = [];
    for await (const value of pool.map('abc', { signal: controller.signal })) out.push(value);
    expect(out).toEqual(['a', 'b', 'c']);
    const unreadable = {
      [Symbol.iterator]() {
        throw new Error('cannot open');
      },
    };
    for (let i = 0; i < 3; i++) await expect(pool.map(unreadable, { signal: controller.signal }).next()).rejects.toThrow('cannot open');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('any number of maps may share one signal: one listener, no leak warning, and the abort ends each', async () => {
    // Before: each map listened on its own, and at 10 maps Node warned of a leak (MaxListenersExceededWarning).
    const pool = makePool({ worker: 'abortable.ts', size: 1, concurrency: 50 });
    await pool.start();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): number => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const maps = Array.from({ length: 20 }, (_, i) => pool.map([i], { signal: controller.signal }).next().catch((e: unknown) => e));
      await waitFor(() => pool.stats().inFlight === 20, 'every map to have its task running');
      expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(2); // the maps' one and the tasks' one
      controller.abort();
      for (const outcome of await Promise.all(maps)) expect(outcome).toBeInstanceOf(TaskAbortedError);
      await new Promise((resolve) => setImmediate(resolve)); // a warning is emitted on a later tick
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a map left at a yield (an iterator dropped without return()) holds nothing on its signal; one waiting for an outcome is woken by the abort', async () => {
    // Before: each map listened from its first next() to its end, so a dropped iterator kept its listener and its state for as long as the signal lived.
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    const controller = new AbortController();
    const dropped = pool.map([1, 2, 3], { signal: controller.signal });
    expect([(await dropped.next()).value, (await dropped.next()).value, (await dropped.next()).value]).toEqual([1, 2, 3]);
    await waitFor(() => pool.stats().inFlight === 0, 'its tasks to be done');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const silent = {
      async *[Symbol.asyncIterator]() {
        await new Promise(() => {}); // an input that never comes
      },
    };
    const waiting = pool.map(silent, { signal: controller.signal }).next();
    await waitFor(() => getEventListeners(controller.signal, 'abort').length > 0, 'the map to wait');
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(TaskAbortedError);
  });

  it('gives each task the timeout it is given', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 1, concurrency: 2 });
    const out = pool.map([{ ms: 1, value: 'quick' }, { ms: 60_000, value: 'slow' }], { timeout: 200 });
    expect(await out.next()).toMatchObject({ value: { value: 'quick' } });
    await expect(out.next()).rejects.toBeInstanceOf(TaskTimeoutError);
  });
});

describe('broadcast', () => {
  it('reaches every worker exactly once and resolves with the answers by worker number', async () => {
    const pool = makePool({ worker: 'counts-broadcasts.ts', size: 3 });
    await pool.start();
    const answers = await pool.broadcast({ config: 2 });
    expect(answers).toEqual([0, 1, 2].map((worker) => ({ worker, message: { config: 2 } })));
    const counts = await Promise.all([0, 1, 2].map((worker) => pool.run(null, { worker })));
    expect(counts).toEqual([1, 1, 1]);
    await pool.broadcast('again');
    expect(await Promise.all([0, 1, 2].map((worker) => pool.run(null, { worker })))).toEqual([2, 2, 2]);
  });

  it('carries what only V8 can carry, and long strings, both ways', async () => {
    const pool = makePool({ worker: 'counts-broadcasts.ts', size: 2 });
    const message = { rules: new Map([['a', new Date(0)]]), page: 'p'.repeat(40_000) };
    expect(await pool.broadcast(message)).toEqual([0, 1].map((worker) => ({ worker, message })));
  });

  it('rejects with BroadcastError carrying the worker and its error when a worker fails it', async () => {
    const pool = makePool({ worker: 'broadcast-throws.ts', size: 1 });
    const error = (await pool.broadcast('reload').catch((e: unknown) => e)) as BroadcastError;
    expect(error).toBeInstanceOf(BroadcastError);
    expect(error.worker).toBe(0);
    expect((error.cause as Error).message).toBe('cannot reload');
    expect(error.cause.code).toBe('E_RELOAD');
  });

  it('a worker being recycled that has finished its tasks answers undefined: it exits without reading the broadcast', async () => {
    // Before: the broadcast right after its last task rejected with WorkerStoppedError, every time.
    const pool = makePool({ worker: 'counts-broadcasts.ts', size: 1, maxTasksPerWorker: 1 });
    for (let i = 0; i < 5; i++) {
      await pool.run('x'); // its one task: the worker drains, then exits
      const replies = await pool.broadcast(i);
      expect(replies).toHaveLength(1);
      expect([undefined, { worker: 0, message: i }]).toContainEqual(replies[0]);
    }
  });

  it('a worker whose dispose() has begun does not run onBroadcast: it answers undefined, as if it had exited', async () => {
    const pool = makePool({ worker: 'slow-dispose.ts', size: 1, maxTasksPerWorker: 1 });
    await pool.start();
    const task = pool.run('x'); // its one task: the worker answers, drains, and its dispose() begins
    // The parent has not read the answer yet (its loop is busy): it still counts the task in flight,
    // so the broadcast goes to the worker, which is disposing by now (on a machine that fast).
    const end = Date.now() + 300;
    while (Date.now() < end) {
      // busy
    }
    const replies = await pool.broadcast('hello');
    expect(await task).toBe('x');
    expect([undefined, { disposing: false }]).toContainEqual(replies[0]); // before: { disposing: true }
  });

  it('a message that cannot cross starts nothing; after stop(), even during the start, broadcast() and submissions reject with PoolStoppedError', async () => {
    const pool = makePool({ worker: 'counts-broadcasts.ts', size: 1 });
    await expect(pool.broadcast({ f() {} })).rejects.toBeInstanceOf(SerializationError);
    expect(pool.state).toBe('created');
    const starting = pool.start();
    const stopped = pool.stop();
    expect(pool.state).toBe('starting');
    expect(() => pool.putNowait('x')).toThrow(PoolStoppedError);
    await expect(pool.run('x')).rejects.toBeInstanceOf(PoolStoppedError);
    await expect(pool.broadcast('x')).rejects.toBeInstanceOf(PoolStoppedError);
    await starting.catch(() => {});
    await stopped;
    expect(pool.stats().done + pool.stats().failed).toBe(0);
  });

  it('rejects with SerializationError naming the reply when a reply cannot cross (onBroadcast did not throw)', async () => {
    const pool = makePool({ worker: 'broadcast-throws.ts', size: 1 });
    const error = (await pool.broadcast('unsendable').catch((e: unknown) => e)) as SerializationError;
    expect(error).toBeInstanceOf(SerializationError);
    expect(error).toMatchObject({ reason: 'function', path: 'broadcast reply.reload' });
    expect(await pool.broadcast('unsendable').catch((e: unknown) => e)).toBeInstanceOf(SerializationError); // the worker goes on
  });

  it('rejects with WorkerCrashedError when a worker exits before it answers; the pool runs on', async () => {
    const pool = makePool({ worker: 'crash.ts', size: 1 });
    const error = (await pool.broadcast('exit').catch((e: unknown) => e)) as WorkerCrashedError;
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect(error).toMatchObject({ worker: 0, exitCode: 3, code: 'ERR_WORKER_CRASHED' });
    expect(error.message).toMatch(/exited before it answered the broadcast/);
    expect(pool.state).toBe('running');
    const replacement = await pool.run('pid'); // waits for the replacement to be ready
    expect(await pool.broadcast('pid')).toEqual([replacement]);
  });

  it('a worker draining before a recycle answers the broadcast it holds before it exits', async () => {
    const pool = makePool({ worker: 'holds-broadcast.ts', size: 1, maxTasksPerWorker: 1 });
    await pool.start();
    const [pid] = pidsOf(pool);
    const ran = pool.run('after hold'); // sending it recycles the worker: the pill (drain) follows it
    const held = pool.broadcast('hold').catch((e: unknown) => e); // the task ends once this arrives
    expect(await ran).toBe('after hold');
    // The drain is over; the worker still holds the broadcast, and still takes one.
    expect(await pool.broadcast('release')).toEqual(['released']);
    expect(await held).toEqual(['held']);
    await waitFor(() => !isAlive(pid as number), 'the recycled worker to exit');
    expect(await pool.run('next')).toBe('next');
  });

  it('a broadcast called before stop() reaches the workers before the pill: SafeWorkers answer it, then exit', async () => {
    const pool = makePool({ worker: 'safe-slow-broadcast.ts', size: 2 });
    await pool.start();
    const answers = pool.broadcast(200);
    const stopped = pool.stop();
    expect(await answers).toEqual([0, 1]);
    await stopped;
    await expect(pool.broadcast(0)).rejects.toBeInstanceOf(PoolStoppedError);
  });

  it('with a timeout, rejects with BroadcastTimeoutError naming the workers that had not answered; their late answers are dropped, the pool runs on', async () => {
    // Before: broadcast() had no timeout, and one onBroadcast that never ended kept it pending for good.
    const pool = makePool({ worker: 'holds-broadcast.ts', size: 3 });
    await pool.start();
    const error = (await pool.broadcast({ holdOn: 1 }, { timeout: 200 }).catch((e: unknown) => e)) as BroadcastTimeoutError;
    expect(error).toBeInstanceOf(BroadcastTimeoutError);
    expect(error).toMatchObject({ code: 'ERR_BROADCAST_TIMEOUT', timeout: 200, workers: [1] });
    expect(error.message).toBe('The broadcast was not answered within 200 ms by worker 1');
    // Worker 1's held call answers now, late: dropped, and the next broadcast gets its own answers.
    expect(await pool.broadcast('release', { timeout: 60_000 })).toEqual(['released', 'released', 'released']);
    const both = (await pool.broadcast('hold', { timeout: 100 }).catch((e: unknown) => e)) as BroadcastTimeoutError;
    expect(both.message).toBe('The broadcast was not answered within 100 ms by workers 0, 1, 2');
    expect(await Promise.all([0, 1, 2].map((worker) => pool.run(worker, { worker })))).toEqual([0, 1, 2]);
    await pool.broadcast('release');
  });

  it.each([
    [{ timeout: 0 }, /Expected `timeout` to be an integer from 1 to \d+ \(ms\) or Infinity, got `0` \(number\)/],
    [{ timeout: '100' }, /Expected `timeout` to be an integer from 1 to \d+ \(ms\) or Infinity, got `"100"` \(string\)/],
    [{ timout: 100 }, /timout.*broadcast takes `timeout`/],
    [null, /Expected the options to be an object, got `null` \(null\)/],
  ])('refuses bad options (%o) with a TypeError, sending nothing; the pool runs on', async (options, message) => {
    const pool = makePool({ worker: 'counts-broadcasts.ts', size: 1 });
    await expect(pool.broadcast('x', options as never)).rejects.toThrow(message);
    await expect(pool.broadcast('x', options as never)).rejects.toBeInstanceOf(TypeError);
    expect(await pool.broadcast('ok', { timeout: Infinity })).toEqual([{ worker: 0, message: 'ok' }]);
    expect(await pool.run(null)).toBe(1); // the only broadcast the worker received
  });

  it('refuses a message that cannot be sent, and keeps working', async () => {
    const pool = makePool({ worker: 'counts-broadcasts.ts', size: 1 });
    await expect(pool.broadcast({ callback: () => 1 })).rejects.toThrow(/Cannot send message\.callback: functions cannot be sent/);
    expect(await pool.broadcast('ok')).toEqual([{ worker: 0, message: 'ok' }]);
  });
});
