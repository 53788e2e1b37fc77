/**
 * The queue Sentry captures wait in (src/sentry/capture-queue.ts), with a hand-driven "next loop
 * turn" and clock: one capture per turn, a bound with a count of what it dropped, and an error
 * repeating fast sent a few times per interval, then once with how often it occurred.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CaptureQueue, type Tally } from '../../../src/sentry/capture-queue.ts';

/** A queue whose turns run only when `turn()` is called, on a clock `at(ms)` sets. */
function handDriven(options: { maxWaiting?: number; perKey?: number; intervalMs?: number; maxKeys?: number } = {}) {
  const turns: (() => void)[] = [];
  let now = 0;
  const queue = new CaptureQueue({ ...options, defer: (fn) => turns.push(fn), now: () => now });
  const sent: { name: string; tally: Tally }[] = [];
  return {
    queue,
    sent,
    add: (key: string | undefined, name: string) => queue.add(key, (tally) => sent.push({ name, tally })),
    /** Run the callbacks deferred so far (one loop turn); returns how many ran. */
    turn: () => turns.splice(0).map((fn) => fn()).length,
    at: (ms: number) => {
      now = ms;
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('CaptureQueue', () => {
  it('captures nothing in the turn that queued it, then one per loop turn, in order', () => {
    const q = handDriven();
    for (const name of ['a', 'b', 'c']) q.add(undefined, name);
    expect(q.sent).toEqual([]);
    q.turn();
    expect(q.sent.map((s) => s.name)).toEqual(['a']);
    q.turn();
    q.turn();
    expect(q.sent.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    expect(q.sent.every((s) => s.tally.occurrences === 1 && s.tally.dropped === 0)).toBe(true);
    expect(q.turn()).toBe(0); // nothing left: no more turns asked for
  });

  it('keeps at most maxWaiting; the next capture sent tells how many were dropped', () => {
    const q = handDriven({ maxWaiting: 2 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) q.add(undefined, name);
    q.turn();
    q.turn();
    expect(q.sent).toEqual([
      { name: 'a', tally: { occurrences: 1, dropped: 3 } },
      { name: 'b', tally: { occurrences: 1, dropped: 0 } },
    ]);
  });

  it('sends an error repeating fast perKey times per interval, then once at its end with the occurrences held', () => {
    vi.useFakeTimers();
    const q = handDriven({ perKey: 2, intervalMs: 1000 });
    for (let i = 0; i < 5; i++) q.add('same', `same ${i}`);
    q.add('other', 'other');
    while (q.turn() > 0);
    expect(q.sent.map((s) => s.name)).toEqual(['same 0', 'same 1', 'other']);
    q.at(1000);
    vi.advanceTimersByTime(1000); // the interval's end
    while (q.turn() > 0);
    expect(q.sent.slice(3)).toEqual([{ name: 'same 2', tally: { occurrences: 3, dropped: 0 } }]);
    q.add('same', 'same again'); // a new interval
    while (q.turn() > 0);
    expect(q.sent.at(-1)).toEqual({ name: 'same again', tally: { occurrences: 1, dropped: 0 } });
  });

  it("sends the held occurrences at their own interval's end, also when the timer fires a little early by the clock", () => {
    vi.useFakeTimers();
    const q = handDriven({ perKey: 1, intervalMs: 1000 });
    for (let i = 0; i < 2; i++) q.add('a', `a ${i}`);
    q.at(400);
    for (let i = 0; i < 2; i++) q.add('b', `b ${i}`);
    while (q.turn() > 0);
    expect(q.sent.map((s) => s.name)).toEqual(['a 0', 'b 0']);
    // Node measures a timer from its loop turn's start: it may fire before the interval is over by this clock.
    q.at(999.5);
    vi.advanceTimersByTime(1000);
    q.at(1001);
    vi.advanceTimersByTime(2);
    while (q.turn() > 0);
    expect(q.sent.slice(2)).toEqual([{ name: 'a 1', tally: { occurrences: 1, dropped: 0 } }]); // not one interval late
    q.at(1400);
    vi.advanceTimersByTime(400); // b's interval began at 400: it ends now, not at a's next sweep
    while (q.turn() > 0);
    expect(q.sent.slice(3)).toEqual([{ name: 'b 1', tally: { occurrences: 1, dropped: 0 } }]);
    expect(vi.getTimerCount()).toBe(0); // nothing counted any more: no timer left
  });

  it('sends the occurrences held when the same error comes again after the interval, before it', () => {
    const q = handDriven({ perKey: 1, intervalMs: 1000 });
    for (let i = 0; i < 3; i++) q.add('k', `k ${i}`);
    q.at(1500);
    q.add('k', 'k later');
    while (q.turn() > 0);
    expect(q.sent.map((s) => [s.name, s.tally.occurrences])).toEqual([['k 0', 1], ['k 1', 2], ['k later', 1]]);
  });

  it('limits no key beyond maxKeys counted at once', () => {
    const q = handDriven({ perKey: 1, maxKeys: 1 });
    for (let i = 0; i < 3; i++) q.add('first', 'first');
    for (let i = 0; i < 3; i++) q.add('second', 'second');
    while (q.turn() > 0);
    expect(q.sent.map((s) => s.name)).toEqual(['first', 'second', 'second', 'second']);
  });

  it('release() sends the held occurrences at once and calls back once everything ran', () => {
    const q = handDriven({ perKey: 1 });
    for (let i = 0; i < 4; i++) q.add('k', `k ${i}`);
    const done = vi.fn();
    q.queue.release(done);
    expect(done).not.toHaveBeenCalled();
    while (q.turn() > 0);
    expect(done).toHaveBeenCalledOnce();
    expect(q.sent.map((s) => [s.name, s.tally.occurrences])).toEqual([['k 0', 1], ['k 1', 3]]);
    const idle = vi.fn();
    q.queue.release(idle);
    expect(idle).toHaveBeenCalledOnce(); // nothing waited
  });

  it('a capture that throws does not stop the ones after it', () => {
    const q = handDriven();
    q.queue.add(undefined, () => {
      throw new Error('SDK failure');
    });
    q.add(undefined, 'next');
    while (q.turn() > 0);
    expect(q.sent.map((s) => s.name)).toEqual(['next']);
  });
});
