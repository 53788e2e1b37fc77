import { describe, expect, it } from 'vitest';
import { TaskAbortedError, type ResultInfo } from 'looppool';
import { makePool } from '../helpers/pools.ts';
import { waitFor } from '../helpers/processes.ts';

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

  it('rejects at once for a signal that is already aborted', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    await expect(pool.run(1, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(TaskAbortedError);
  });
});
