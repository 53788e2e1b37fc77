import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { elapsedMs, TaskTiming } from '../../src/parent/task-timing.ts';
import { PendingTask } from '../../src/parent/task.ts';

const task = (id: number): PendingTask => new PendingTask(id, 'run', String(id), id, -1);

/** Make `performance.now()` return these readings, in order. */
function clockReads(...readings: number[]): void {
  const spy = vi.spyOn(performance, 'now');
  for (const ms of readings) spy.mockReturnValueOnce(ms);
}

describe('TaskTiming', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('measures the wait from submission to dispatch and the run from dispatch to settling', () => {
    const sink = vi.fn();
    const timing = new TaskTiming(sink);
    const t = task(1);
    clockReads(1_000.25, 1_999.75, 2_500.5);
    timing.submitted(t);
    timing.dispatched(t); // queued: dispatched later, in another call
    timing.settled(t, true);
    expect(sink).toHaveBeenCalledTimes(1);
    const [wait, run, ok] = sink.mock.calls[0] as [number, number, boolean];
    expect(wait).toBeCloseTo(999.5, 6);
    expect(run).toBeCloseTo(500.75, 6);
    expect(ok).toBe(true);
  });

  it('a task dispatched within its own submission waited 0 ms and costs no extra clock read', () => {
    const sink = vi.fn();
    const timing = new TaskTiming(sink);
    const t = task(2);
    clockReads(50, 80);
    timing.submitted(t);
    timing.submitting = t;
    timing.dispatched(t);
    timing.submitting = undefined;
    timing.settled(t, false);
    expect(sink).toHaveBeenCalledWith(0, 30, false);
    expect(performance.now).toHaveBeenCalledTimes(2);
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
