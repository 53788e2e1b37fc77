/** pool.map()'s engine (src/parent/map.ts) with a fake `run`: order, the window, errors. */
import { describe, expect, it } from 'vitest';
import { TaskAbortedError } from '../../src/errors.ts';
import { mapTasks } from '../../src/parent/map.ts';

/** A `run` whose tasks settle when the test says so. */
function manualRun() {
  const pending = new Map<number, { resolve: (v: number) => void; reject: (e: Error) => void }>();
  const started: number[] = [];
  const run = (task: number): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      started.push(task);
      pending.set(task, { resolve, reject });
    });
  const settle = (task: number, error?: Error): void => {
    const p = pending.get(task);
    if (!p) throw new Error(`task ${task} is not running`);
    pending.delete(task);
    if (error) p.reject(error);
    else p.resolve(task * 10);
  };
  return { run, settle, started };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Collect everything `it` yields, settling tasks in `order` one per loop turn meanwhile. */
async function drive(it: AsyncGenerator<number>, settle: (t: number) => void, order: number[]): Promise<number[]> {
  const out: number[] = [];
  const collecting = (async () => {
    for await (const v of it) out.push(v);
  })();
  for (const t of order) {
    await tick();
    settle(t);
  }
  await collecting;
  return out;
}

describe('pool.map engine', () => {
  it('yields in input order when ordered, whatever order the tasks finish in', async () => {
    const { run, settle } = manualRun();
    const out = await drive(mapTasks(run, [0, 1, 2, 3, 4], { window: 5 }), settle, [4, 2, 0, 3, 1]);
    expect(out).toEqual([0, 10, 20, 30, 40]);
  });

  it('yields in the order tasks finish when unordered', async () => {
    const { run, settle } = manualRun();
    const out = await drive(mapTasks(run, [0, 1, 2, 3, 4], { window: 5, ordered: false }), settle, [4, 2, 0, 3, 1]);
    expect(out).toEqual([40, 20, 0, 30, 10]);
  });

  it('keeps at most `window` tasks running or finished but not yet yielded', async () => {
    for (const ordered of [true, false]) {
      const { run, settle, started } = manualRun();
      const it = mapTasks(run, [0, 1, 2, 3, 4, 5], { window: 2, ordered });
      const first = it.next();
      await tick();
      expect(started).toEqual([0, 1]);
      settle(1); // finished, not yet yielded (ordered: it waits for 0): still counts
      await tick();
      expect(started).toEqual([0, 1]);
      settle(0);
      expect((await first).value).toBe(ordered ? 0 : 10);
      // One result yielded, the other still waiting in the engine: one new task may start.
      expect((await it.next()).value).toBe(ordered ? 10 : 0);
      expect(started).toEqual([0, 1, 2]);
      expect(await drive(it, settle, [2, 3, 4, 5])).toEqual([20, 30, 40, 50]);
    }
  });

  it('throws a task\'s error at its turn, and stops pulling input', async () => {
    const { run, settle } = manualRun();
    let returned = false;
    const input = {
      i: 0,
      [Symbol.iterator]() {
        return this;
      },
      next() {
        return { done: false as const, value: this.i++ };
      },
      return() {
        returned = true;
        return { done: true as const, value: undefined };
      },
    };
    const out: number[] = [];
    const consuming = (async () => {
      for await (const v of mapTasks(run, input, { window: 3 })) out.push(v);
    })();
    await tick();
    settle(1, new Error('task 1 failed'));
    settle(0);
    await expect(consuming).rejects.toThrow('task 1 failed');
    expect(out).toEqual([0]);
    expect(returned).toBe(true);
  });

  it("throws a source's error at its position: after the results of the items read before it, sync or async, in order or not", async () => {
    const boom = new Error('the source broke');
    function* syncSource() {
      yield* [0, 1, 2];
      throw boom;
    }
    async function* asyncSource() {
      yield* [0, 1, 2];
      throw boom;
    }
    for (const source of [syncSource, asyncSource]) {
      for (const ordered of [true, false]) {
        const { run, settle, started } = manualRun();
        const out: number[] = [];
        const consuming = (async () => {
          for await (const v of mapTasks(run, source(), { window: 10, ordered })) out.push(v);
        })();
        const outcome = consuming.then(() => undefined, (e: unknown) => e);
        await tick();
        await tick();
        expect(started).toEqual([0, 1, 2]);
        for (const t of [2, 0, 1]) {
          settle(t);
          await tick();
        }
        expect(await outcome).toBe(boom); // before: thrown at once, before any result
        expect(out).toEqual(ordered ? [0, 10, 20] : [20, 0, 10]);
      }
    }
  });

  it("a task's failure read before the source's comes first; a consumer that leaves first hears neither", async () => {
    function* source() {
      yield* [0, 1];
      throw new Error('the source broke');
    }
    const first = manualRun();
    const failing = mapTasks(first.run, source(), { window: 10 });
    const next = failing.next();
    await tick();
    first.settle(1, new Error('task 1 failed'));
    first.settle(0);
    expect(await next).toEqual({ value: 0, done: false });
    await expect(failing.next()).rejects.toThrow('task 1 failed');
    const second = manualRun();
    const left = mapTasks(second.run, source(), { window: 10 });
    const one = left.next();
    await tick();
    second.settle(0);
    expect(await one).toEqual({ value: 0, done: false });
    expect(await left.return(undefined)).toEqual({ value: undefined, done: true }); // task 1 still runs: its outcome is dropped
    second.settle(1);
  });

  it('takes a hand-written async iterator whose next() answers with a plain object', async () => {
    let i = 0;
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({ next: () => (i < 3 ? { value: i++, done: false } : { value: undefined, done: true }) as unknown as Promise<IteratorResult<number>> }),
    };
    const out: number[] = [];
    for await (const v of mapTasks(async (t: number) => t * 10, source, { window: 2 })) out.push(v);
    expect(out).toEqual([0, 10, 20]);
  });

  it('refuses a window that is not a positive integer', async () => {
    for (const window of [0, -1, 1.5, Number.NaN]) {
      await expect(mapTasks(async (t: number) => t, [1], { window }).next()).rejects.toThrow(TypeError);
    }
  });

  it('throws TaskAbortedError with the reason once its signal aborts, while its tasks still run, and pulls no more input', async () => {
    const { run, started } = manualRun();
    const controller = new AbortController();
    const it = mapTasks(run, [1, 2, 3, 4, 5], { window: 2, signal: controller.signal });
    const first = it.next();
    await tick();
    expect(started).toEqual([1, 2]);
    const reason = new Error('user gave up');
    controller.abort(reason);
    const error = await first.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TaskAbortedError);
    expect((error as TaskAbortedError).cause).toBe(reason);
    expect(error).toMatchObject({ message: 'The map was aborted', taskId: 0 });
    expect(started).toEqual([1, 2]);
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('runs nothing when its signal has already aborted', async () => {
    const { run, started } = manualRun();
    const it = mapTasks(run, [1, 2], { signal: AbortSignal.abort('too late') });
    await expect(it.next()).rejects.toMatchObject({ name: 'TaskAbortedError', cause: 'too late' });
    expect(started).toEqual([]);
  });

  it('throws TaskAbortedError when its signal aborts while an async source waits', async () => {
    const controller = new AbortController();
    let closed = false;
    async function* source() {
      try {
        yield 1;
        await new Promise(() => {}); // never answers
      } finally {
        closed = true;
      }
    }
    const it = mapTasks(async (t: number) => t * 10, source(), { signal: controller.signal });
    expect(await it.next()).toEqual({ value: 10, done: false });
    const second = it.next();
    await tick();
    controller.abort();
    await expect(second).rejects.toBeInstanceOf(TaskAbortedError);
    expect(closed).toBe(false); // the read under way is not waited for (see AsyncFeed.close)
  });
});
