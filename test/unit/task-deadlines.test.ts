/** Task timeouts on per-duration lists (src/parent/task-deadlines.ts), on a fake clock. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TaskDeadlines } from '../../src/parent/task-deadlines.ts';

const task = (id: number) => ({ id });
const handle = { number: 0 };

describe('task deadlines', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'hrtime'] }));
  afterEach(() => vi.useRealTimers());

  function setup() {
    const expired: number[] = [];
    const deadlines = new TaskDeadlines<{ id: number }, { number: number }>((t, h) => {
      expect(h).toBe(handle);
      expired.push(t.id);
    });
    return { expired, deadlines };
  }

  it('expires each task once, in order, when its time has come, with one timer for a duration', () => {
    const { expired, deadlines } = setup();
    for (let id = 1; id <= 3; id++) {
      deadlines.arm(task(id), handle, 100);
      vi.advanceTimersByTime(10);
    }
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(69); // t = 99: the first is due at 100
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual([1]);
    vi.advanceTimersByTime(19);
    expect(expired).toEqual([1, 2]);
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual([1, 2, 3]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never expires a cancelled task; the others keep their own times', () => {
    const { expired, deadlines } = setup();
    const first = deadlines.arm(task(1), handle, 100);
    vi.advanceTimersByTime(50);
    deadlines.arm(task(2), handle, 100);
    const third = deadlines.arm(task(3), handle, 100);
    first.cancel();
    third.cancel();
    third.cancel(); // idempotent
    vi.advanceTimersByTime(60); // t = 110: only the first would have been due
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(40); // t = 150
    expect(expired).toEqual([2]);
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual([2]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps durations apart: a shorter one armed later expires first', () => {
    const { expired, deadlines } = setup();
    deadlines.arm(task(1), handle, 1_000);
    deadlines.arm(task(2), handle, 10);
    expect(vi.getTimerCount()).toBe(2);
    vi.advanceTimersByTime(10);
    expect(expired).toEqual([2]);
    vi.advanceTimersByTime(990);
    expect(expired).toEqual([2, 1]);
  });

  it('takes new tasks after a duration has emptied, and after its cancelled first one had set the timer', () => {
    const { expired, deadlines } = setup();
    deadlines.arm(task(1), handle, 100).cancel(); // the list's timer still waits for t = 100
    vi.advanceTimersByTime(30);
    deadlines.arm(task(2), handle, 100); // due at 130
    vi.advanceTimersByTime(70); // t = 100: the timer finds nothing due and waits again
    expect(expired).toEqual([]);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(30);
    expect(expired).toEqual([2]);
    deadlines.arm(task(3), handle, 100);
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([2, 3]);
  });

  it('clear() ends every timer at once, settled tasks\' too (a stopped pool is not held until they fire), and expires nothing', () => {
    const { expired, deadlines } = setup();
    deadlines.arm(task(1), handle, 100).cancel(); // settled: the list's timer still waits for t = 100
    deadlines.arm(task(2), handle, 100);
    deadlines.arm(task(3), handle, 5_000);
    expect(vi.getTimerCount()).toBe(2);
    deadlines.clear();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(expired).toEqual([]);
    deadlines.arm(task(4), handle, 100); // still usable
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([4]);
  });
});
