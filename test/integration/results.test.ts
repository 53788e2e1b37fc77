import { execFile } from 'node:child_process';
import { getEventListeners } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TaskAbortedError, type ResultInfo } from 'looppool';
import { survivorsAfterGc } from '../helpers/gc.ts';
import { fixture, makePool } from '../helpers/pools.ts';
import { waitFor } from '../helpers/processes.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('streaming results', () => {
  it('emits putResult values as result events with the worker, pid and task id', async () => {
    const pool = makePool({ worker: 'streams.ts', size: 1 });
    const seen: [unknown, ResultInfo][] = [];
    pool.on('result', (value, info) => seen.push([value, info]));
    await pool.start();
    const pid = pool.stats().workers[0]?.pid;
    const id = await pool.put(2);
    await waitFor(() => seen.length === 4, 'the four results');
    expect(seen).toEqual([
      [{ task: id, i: 0 }, { worker: 0, pid, taskId: id }],
      [{ task: id, i: 1 }, { worker: 0, pid, taskId: id }],
      [{ untied: id }, { worker: 0, pid, taskId: null }],
      ['done', { worker: 0, pid, taskId: id }],
    ]);
  });

  it('results() iterates over the same stream and ends when the pool stops', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 2 });
    const stream = pool.results();
    for (let i = 0; i < 5; i++) await pool.put(i);
    const stopped = pool.stop();
    const values: unknown[] = [];
    for await (const r of stream) values.push(r.value);
    await stopped;
    expect(values.sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('results() answers reads asked for before the first is answered, each with its own result, and each with the end', async () => {
    const pool = makePool({ worker: 'streams.ts', size: 1 });
    const stream = pool.results();
    const reads = [stream.next(), stream.next(), stream.next()];
    const answered: unknown[] = [];
    for (const read of reads) void read.then((r) => answered.push(r.done ? 'end' : r.value.value));
    const id = await pool.put(2);
    await waitFor(() => answered.length === 3, 'the three reads to be answered');
    expect(answered).toEqual([{ task: id, i: 0 }, { task: id, i: 1 }, { untied: id }]);
    const atEnd = [stream.next(), stream.next()];
    for (const read of atEnd) void read.then((r) => answered.push(r.done ? 'end' : r.value.value));
    await pool.stop();
    await waitFor(() => answered.length === 5, 'the reads pending at the stop to end');
    // 'done' (the task's return value, from a put) came before the stop, so it answers the first.
    expect(answered.slice(3)).toEqual(['done', 'end']);
  });

  it('results() keeps nothing for a reader dropped without return(): later results are not held for it, and a read it asked for is still answered', async () => {
    const pool = makePool({ worker: 'streams.ts', size: 1 });
    // A reader per request, read once and dropped (`await pool.results().next()`).
    for (let i = 0; i < 20; i++) {
      const first = pool.results().next();
      await pool.put(0);
      expect((await first).done).toBe(false);
    }
    const open = () => {
      const reader = pool.results();
      return { ref: new WeakRef(reader), read: reader.next() };
    };
    const opened: { ref: WeakRef<object>; read?: Promise<unknown> } = open();
    await waitFor(async () => (await survivorsAfterGc([opened.ref])) === 0, 'the dropped reader to be collected');
    const refs: WeakRef<object>[] = [];
    pool.on('result', (value) => {
      if (typeof value === 'object' && value !== null) refs.push(new WeakRef(value));
    });
    await pool.run(100);
    await waitFor(() => refs.length === 101, 'the 100 results and the untied one');
    expect(await opened.read).toEqual({ value: { value: { task: expect.any(Number) as number, i: 0 }, info: expect.anything() as object }, done: false });
    delete opened.read; // it holds the first result
    // Before: every stream opened kept every later result, for the life of the pool.
    await waitFor(async () => (await survivorsAfterGc(refs)) === 0, 'the results to be collected');
  });
});

describe('user code that throws while the pool handles a message', () => {
  it('a result listener, onDispatch or onSubmit does not break the pool: its error is thrown on its own, the tasks settle and the worker stays', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.resolve(here, '../fixtures/parents/throwing-listener.mjs'), fixture('streams.ts')], {
      timeout: 30_000,
    });
    expect(JSON.parse(stdout)).toEqual({
      answers: ['done', 'done', 'done'],
      calls: 7,
      caught: expect.arrayContaining(['a bug in the listener', 'a bug in onDispatch', 'a bug in onSubmit']) as string[],
      sameWorker: true,
    });
  });
});

describe('cancellation with AbortSignal', () => {
  it('drops a queued task: it never runs', async () => {
    const pool = makePool({ worker: 'gate.ts', size: 1, concurrency: 1 });
    await pool.start();
    const seen: unknown[] = [];
    pool.on('result', (v) => seen.push(v));
    const first = pool.run('first');
    const controller = new AbortController();
    const second = pool.run('second', { signal: controller.signal });
    expect(pool.stats().queued).toBe(1);
    controller.abort();
    await expect(second).rejects.toBeInstanceOf(TaskAbortedError);
    expect(pool.stats().queued).toBe(0);
    await pool.broadcast('open');
    expect(await first).toBe('first');
    expect(pool.stats().done).toBe(1);
  });

  it('aborts the context signal of a running task', async () => {
    const pool = makePool({ worker: 'abortable.ts', size: 1 });
    await pool.start();
    const aborted: unknown[] = [];
    pool.on('result', (v) => aborted.push(v));
    const controller = new AbortController();
    const task = pool.run('x', { signal: controller.signal });
    await waitFor(() => pool.stats().inFlight === 1, 'the task to run');
    controller.abort(new Error('user gave up'));
    const error = (await task.catch((e: unknown) => e)) as TaskAbortedError;
    expect(error).toBeInstanceOf(TaskAbortedError);
    expect((error.cause as Error).message).toBe('user gave up');
    await waitFor(() => aborted.length === 1, 'the worker to see the abort');
    expect(aborted[0]).toMatchObject({ reason: 'AbortError' });
    await waitFor(() => pool.stats().inFlight === 0, 'the credit to come back');
  });

  it('aborts every unfinished task sharing one signal, with one listener on it, and no leak warning', async () => {
    const pool = makePool({ worker: 'gate.ts', size: 2, concurrency: 10 });
    await pool.start();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const echo = makePool({ worker: 'echo.mjs', size: 1 });
      const batch = new AbortController();
      expect(await Promise.all([1, 2, 3].map((i) => echo.run(i, { signal: batch.signal })))).toEqual([1, 2, 3]);
      expect(getEventListeners(batch.signal, 'abort')).toHaveLength(0); // the last task to settle removed it
      const controller = new AbortController();
      // 20 held by the two workers (the gate keeps them), 30 waiting in the queue.
      const tasks = Array.from({ length: 50 }, (_, i) => pool.run(`wait ${i}`, { signal: controller.signal }).catch((e: unknown) => e));
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      await waitFor(() => pool.stats().inFlight === 20, 'the workers to hold 20 tasks');
      controller.abort(new Error('batch cancelled'));
      for (const error of await Promise.all(tasks)) {
        expect(error).toBeInstanceOf(TaskAbortedError);
        expect(((error as TaskAbortedError).cause as Error).message).toBe('batch cancelled');
      }
      expect(pool.stats().queued).toBe(0);
      await pool.broadcast('open'); // the gate ignores signals: its tasks end (unheard) once it opens
      await waitFor(() => pool.stats().inFlight === 0, 'the credits to come back');
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('rejects at once for a signal that is already aborted', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    await expect(pool.run(1, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(TaskAbortedError);
    await expect(pool.run(1, { signal: AbortSignal.abort('late') })).rejects.toMatchObject({
      message: 'The task was not submitted: its signal had already aborted',
      taskId: 0,
      cause: 'late',
    });
  });

  it('gives bad input its own error even when the signal has already aborted', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    const signal = AbortSignal.abort();
    await expect(pool.run(1, { signal, worker: 5 })).rejects.toThrow(/Expected `worker` to be an integer from 0 to 0, got `5`/);
    await expect(pool.run(1, { signal, timeout: -5 })).rejects.toBeInstanceOf(TypeError);
    await expect(pool.run(() => 1, { signal })).rejects.toMatchObject({ name: 'SerializationError', code: 'ERR_SERIALIZATION' });
    expect(pool.state).toBe('created'); // none of them started the pool
  });

  it('does not run a task whose signal aborted while its payload was encoded', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    const controller = new AbortController();
    const task = {
      get value() {
        controller.abort('changed my mind');
        return 1;
      },
    };
    await expect(pool.run(task, { signal: controller.signal })).rejects.toMatchObject({
      name: 'TaskAbortedError',
      message: 'The task was not submitted: its signal had already aborted',
      cause: 'changed my mind',
    });
    expect(pool.stats().queued + pool.stats().inFlight).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
