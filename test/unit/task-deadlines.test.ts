/** Task timeouts on per-duration lists (src/parent/task-deadlines.ts), on a fake clock. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { monotonicMs } from '../../src/internal/monotonic.ts';
import { KEEP_EMPTIED, TaskDeadlines } from '../../src/parent/task-deadlines.ts';

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

  it('keeps no timer for each of many durations once their tasks settle: past KEEP_EMPTIED, an emptied one goes at once', () => {
    const { expired, deadlines } = setup();
    const n = 10_000; // a duration each, as `timeout: budget - elapsed` gives
    const armed = Array.from({ length: n }, (_, i) => deadlines.arm(task(i), handle, 60_000 + i));
    expect(vi.getTimerCount()).toBe(n); // in flight: a timer each, as a timer per task would be
    for (const d of armed) d.cancel();
    expect(deadlines.durations).toBe(KEEP_EMPTIED); // before: 10,000 lists, each with its timer, for a minute
    expect(vi.getTimerCount()).toBe(KEEP_EMPTIED);
    deadlines.arm(task(n), handle, 60_000 + n - 1); // a dropped duration, armed again
    deadlines.arm(task(n + 1), handle, 60_000); // a kept one
    vi.advanceTimersByTime(60_000 + n);
    expect(expired).toEqual([n + 1, n]);
    expect(vi.getTimerCount()).toBe(0);
    expect(deadlines.durations).toBe(0);
  });

  it('a duration dropped while its timer fires, and armed again there, keeps the new list: clear() still ends its timer', () => {
    const expired: number[] = [];
    const others: { cancel(): void }[] = [];
    const deadlines = new TaskDeadlines<{ id: number }, { number: number }>((t) => {
      expired.push(t.id);
      if (t.id !== 0) return;
      for (const d of others) d.cancel(); // the pool settles tasks as one expires (a worker killed)
      deadlines.arm(task(99), handle, 100);
    });
    for (let i = 1; i <= KEEP_EMPTIED; i++) deadlines.arm(task(1000 + i), handle, 1_000 + i);
    deadlines.arm(task(0), handle, 100);
    vi.advanceTimersByTime(50);
    others.push(deadlines.arm(task(1), handle, 100));
    vi.advanceTimersByTime(50); // task 0 expires; task 1 is cancelled, its list is dropped, 99 armed in a new one
    expect(expired).toEqual([0]);
    deadlines.clear(); // the pool stops
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual([0]);
  });

  it('gives Node few distinct delays however many durations (Node keeps memory for each one it was given), and expires each task on time', () => {
    const delays = new Set<unknown>();
    const setTimer = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms: number) => {
      delays.add(ms);
      return setTimer(fn, ms);
    }) as typeof setTimeout);
    const late: number[] = [];
    const due = new Map<number, number>();
    const deadlines = new TaskDeadlines<{ id: number }, unknown>((t) => late.push(monotonicMs() - (due.get(t.id) as number)));
    const n = 1_000;
    for (let i = 0; i < n; i++) {
      const ms = 1_000 + 7 * i;
      due.set(i, monotonicMs() + ms);
      deadlines.arm(task(i), handle, ms);
      vi.advanceTimersByTime(1); // each armed at a time of its own: the time left to a list's first deadline takes many values
    }
    vi.advanceTimersByTime(1_000 + 7 * n);
    spy.mockRestore();
    expect(late.length).toBe(n);
    expect(late.every((ms) => ms >= 0 && ms < 1)).toBe(true);
    expect(delays.size).toBeLessThan(250); // before: about one per duration, 1,000
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
