/** `pool.results()`'s stream (src/parent/result-stream.ts): a backlog, the end, a reader that leaves. */
import { describe, expect, it } from 'vitest';
import { ResultStream } from '../../src/parent/result-stream.ts';

describe('ResultStream', () => {
  const info = (taskId: number) => ({ worker: 0, pid: 1, taskId });

  it('delivers a backlog in order, then what comes later, and ends after the backlog once the pool stops', async () => {
    const stream = new ResultStream<number>(() => {});
    for (let i = 0; i < 1000; i++) stream.push(i, info(i));
    const seen: number[] = [];
    for (let i = 0; i < 1000; i++) seen.push(((await stream.next()).value as { value: number }).value);
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const waiting = stream.next();
    stream.push(1000, info(1000));
    expect((await waiting).value).toEqual({ value: 1000, info: info(1000) });
    stream.push(1001, info(1001));
    stream.end();
    stream.push(1002, info(1002)); // after the end: dropped
    expect((await stream.next()).value).toEqual({ value: 1001, info: info(1001) });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('drops its backlog and detaches when the reader leaves', async () => {
    let detached = 0;
    const stream = new ResultStream<number>(() => detached++);
    for (let i = 0; i < 10; i++) stream.push(i, info(i));
    expect(await stream.return()).toEqual({ value: undefined, done: true });
    expect(detached).toBe(1);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
});
