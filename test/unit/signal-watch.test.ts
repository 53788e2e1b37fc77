/** The callers' AbortSignals, one listener per signal (src/parent/signal-watch.ts). */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { SignalWatch } from '../../src/parent/signal-watch.ts';

describe('signal watch', () => {
  it('tells every item still watched, in order, once, when its signal aborts; other signals are left alone', () => {
    const heard: [string, unknown][] = [];
    const watch = new SignalWatch<string>((item, signal) => heard.push([item, signal.reason]));
    const shared = new AbortController();
    const other = new AbortController();
    watch.watch('a', shared.signal);
    const unwatchB = watch.watch('b', shared.signal);
    watch.watch('c', shared.signal);
    watch.watch('x', other.signal);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
    unwatchB();
    shared.abort('stop');
    shared.abort('again');
    expect(heard).toEqual([
      ['a', 'stop'],
      ['c', 'stop'],
    ]);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(1);
  });

  it('removes its listener once the last item is unwatched, and adds one again for the next', () => {
    const watch = new SignalWatch<number>(() => {});
    const { signal } = new AbortController();
    const unwatch = [1, 2].map((n) => watch.watch(n, signal));
    for (const u of unwatch) u();
    unwatch[0]?.(); // twice: nothing more
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    watch.watch(3, signal);
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
  });

  it('lets an item be unwatched from inside the abort (a task that settles as it is told)', () => {
    const heard: number[] = [];
    const unwatch = new Map<number, () => void>();
    const watch = new SignalWatch<number>((n) => {
      heard.push(n);
      unwatch.get(n)?.();
    });
    const controller = new AbortController();
    for (const n of [1, 2, 3]) unwatch.set(n, watch.watch(n, controller.signal));
    controller.abort();
    expect(heard).toEqual([1, 2, 3]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
