import { describe, expect, it } from 'vitest';
import { Ticker, type Clock } from '../../../src/metrics/clock.ts';

/** A clock whose time the test sets, and which records each timer asked for. */
function manualClock() {
  const state = { now: 0, timers: [] as Array<{ ms: number; fire: () => void }> };
  const clock: Clock = {
    now: () => state.now,
    setTimer: (fire, ms) => {
      state.timers.push({ ms, fire });
      return { cancel: () => {} };
    },
  };
  return { state, clock };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Ticker', () => {
  it('keeps to the grid set at start: a tick that takes time does not push the next one later', async () => {
    // Before: each timer was set `interval` after the tick settled, so reports drifted by the
    // tick's own time (a pool report waits for pidusage), in and out of statsd's flushes.
    const { state, clock } = manualClock();
    const ticks: number[] = [];
    const ticker = new Ticker(clock, 1000, async () => {
      ticks.push(state.now);
      state.now += 5; // the tick's own time
    });
    ticker.start();
    expect(state.timers.map((t) => t.ms)).toEqual([1000]);
    for (const at of [1000, 2000, 3000]) {
      state.now = at;
      state.timers.at(-1)?.fire();
      await settle();
    }
    expect(ticks).toEqual([1000, 2000, 3000]);
    expect(state.timers.map((t) => t.ms)).toEqual([1000, 995, 995, 995]);
  });

  it('skips to the next slot after a tick that ran past it, and never ticks twice for one slot', async () => {
    const { state, clock } = manualClock();
    const ticker = new Ticker(clock, 1000, () => {
      state.now += 1500; // past the next slot
    });
    ticker.start();
    state.now = 1000;
    state.timers.at(-1)?.fire();
    await settle();
    expect(state.timers.at(-1)?.ms).toBe(500); // 2500 now: the slot at 3000
    state.now = 2999.5; // a timer that fires a fraction of a ms early
    state.timers.at(-1)?.fire();
    await settle();
    expect(state.timers.at(-1)?.ms).toBe(500.5); // 4499.5 now (the tick took 1500 again): the slot at 5000, not one at 4000 or 3000 again
    ticker.stop();
  });
});
