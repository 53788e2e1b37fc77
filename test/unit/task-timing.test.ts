import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { elapsedMs, TaskTiming } from '../../src/parent/task-timing.ts';
import { PendingTask } from '../../src/parent/task.ts';

const task = (id: number): PendingTask => new PendingTask(id, 'run', String(id), -1);

/** Let the current run of code end (and the timing's reading with it). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Make `performance.now()` return these readings, in order. */
function clockReads(...readings: number[]): void {
  const spy = vi.spyOn(performance, 'now');
  for (const ms of readings) spy.mockReturnValueOnce(ms);
}

describe('TaskTiming', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('measures the wait from submission to dispatch and the run from dispatch to settling', async () => {
    const sink = vi.fn();
    const timing = new TaskTiming(sink);
    const t = task(1);
    clockReads(1_000.25, 1_999.75, 2_500.5);
    timing.submitted(t);
    await nextTurn();
    timing.dispatched(t); // queued: dispatched in a later turn
    await nextTurn();
    timing.settled(t, true);
    expect(sink).toHaveBeenCalledTimes(1);
    const [wait, run, ok] = sink.mock.calls[0] as [number, number, boolean];
    expect(wait).toBeCloseTo(999.5, 6);
    expect(run).toBeCloseTo(500.75, 6);
    expect(ok).toBe(true);
  });

  it('a task dispatched within its own submission waited 0 ms and costs no extra clock read', async () => {
    const sink = vi.fn();
    const timing = new TaskTiming(sink);
    const t = task(2);
    clockReads(50, 80);
    timing.submitted(t);
    timing.dispatched(t);
    await nextTurn();
    timing.settled(t, false);
    expect(sink).toHaveBeenCalledWith(0, 30, false);
    expect(performance.now).toHaveBeenCalledTimes(2);
  });

  it('submissions, dispatches and settlements in one run of code share a reading; the next run reads again', async () => {
    const sink = vi.fn();
    const timing = new TaskTiming(sink);
    const [a, b, c] = [task(3), task(4), task(5)];
    clockReads(10, 45);
    for (const t of [a, b, c]) timing.submitted(t); // one reading: 10
    timing.dispatched(a);
    await nextTurn();
    timing.dispatched(b); // 45: a new turn reads
    timing.settled(a, true); // the same turn: 45
    timing.dispatched(c);
    await nextTurn();
    expect(performance.now).toHaveBeenCalledTimes(2);
    expect([a.enqueuedUs, b.enqueuedUs, c.enqueuedUs]).toEqual([10_000, 10_000, 10_000]);
    expect(sink).toHaveBeenCalledWith(0, 35, true);
    expect([b.startedS, b.startedUs, c.startedUs]).toEqual([0, 45_000, 45_000]);
  });

  it('a reading made by a promise job serves the rest of that drain of promise jobs', async () => {
    const sink = vi.fn();
    const timing = new TaskTiming(sink);
    const tasks = [task(6), task(7), task(8)];
    clockReads(100, 200, 300);
    timing.submitted(tasks[0] as PendingTask);
    await nextTurn();
    // Three promise jobs of one drain, as when results resolve the awaits of a loop's lanes.
    await Promise.all(tasks.map(async (t) => {
      await null;
      timing.dispatched(t);
    }));
    expect(performance.now).toHaveBeenCalledTimes(2);
    expect(tasks.map((t) => t.startedUs)).toEqual([200_000, 200_000, 200_000]);
    await nextTurn();
    timing.dispatched(tasks[0] as PendingTask);
    expect(tasks[0]?.startedUs).toBe(300_000);
  });

  it('stores stamps as small integers, exact across second boundaries and over long spans', () => {
    const timing = new TaskTiming(() => {});
    const t = task(3);
    clockReads(123_456.789);
    timing.submitted(t);
    expect(Number.isInteger(t.enqueuedS) && Number.isInteger(t.enqueuedUs)).toBe(true);
    expect([t.enqueuedS, t.enqueuedUs]).toEqual([123, 456_789]);
    expect(elapsedMs(0, 999_999, 1, 1)).toBeCloseTo(0.002, 9);
    // Six hours of queueing or running is still reported to the microsecond.
    expect(elapsedMs(10, 500_000, 10 + 6 * 3600, 500_001)).toBeCloseTo(6 * 3600 * 1000 + 0.001, 6);
  });
});
