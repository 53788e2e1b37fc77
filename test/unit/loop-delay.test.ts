import { describe, expect, it } from 'vitest';
import { loopDelayHistogram } from '../../src/internal/loop-delay.ts';

/** Block this thread's event loop for `ms` milliseconds. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Let the loop turn until `histogram` has recorded at least `count` values. */
async function recorded(histogram: { count: number }, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (histogram.count < count) {
    if (Date.now() > deadline) throw new Error(`only ${histogram.count} values recorded`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('loopDelayHistogram', () => {
  it('measures a block that begins at once after enable() and after reset(), where monitorEventLoopDelay sees nothing', async () => {
    const histogram = loopDelayHistogram(10);
    expect(histogram.enable()).toBe(true);
    expect(histogram.enable()).toBe(false);
    try {
      block(150); // before its first tick
      await recorded(histogram, 2);
      expect(histogram.max).toBeGreaterThanOrEqual(150e6);

      histogram.reset();
      expect(histogram.count).toBe(0);
      block(120); // right after a reset, as when a report has just been sent
      await recorded(histogram, 1);
      expect(histogram.max).toBeGreaterThanOrEqual(120e6);
      expect(histogram.percentile(100)).toBe(histogram.max);
      expect(histogram.mean).toBeGreaterThan(0);
    } finally {
      expect(histogram.disable()).toBe(true);
    }
    expect(histogram.disable()).toBe(false);
  });

  it('catchUp() records a tick that is late now, once: the late tick then records only what held it up after', () => {
    let now = 0;
    let tick = (): void => {};
    let cancelled = 0;
    const clock = { now: () => now, every: (_ms: number, t: () => void) => ((tick = t), () => void cancelled++) };
    const histogram = loopDelayHistogram(10, clock);
    histogram.enable();
    now = 5;
    histogram.catchUp(); // no tick is late: nothing
    expect(histogram.count).toBe(0);
    now = 10;
    tick();
    now = 210; // blocked: the tick due at 20 has not run
    histogram.catchUp();
    expect(histogram.count).toBe(2);
    expect(histogram.max / 1e6).toBeCloseTo(200, 0); // ns, kept to 3 significant digits
    histogram.catchUp(); // twice in a row: the same delay, not again
    expect(histogram.count).toBe(2);
    histogram.reset();
    now = 210.4;
    tick(); // the late tick, at once: its place was taken by the catch-up
    expect(histogram.count).toBe(0);
    now = 220.4;
    tick();
    expect(histogram.max / 1e6).toBeCloseTo(10, 0);
    now = 240;
    histogram.catchUp(); // late by 9.6 ms
    now = 245;
    tick(); // held up 5 ms more after the catch-up: a delay of its own, with the resolution as every value
    expect(histogram.max / 1e6).toBeCloseTo(19.6, 1);
    expect(histogram.percentile(1) / 1e6).toBeCloseTo(10, 1); // the smallest
    expect(histogram.count).toBe(3);
    expect(histogram.percentile(50) / 1e6).toBeCloseTo(15, 1);
    histogram.disable();
    expect(cancelled).toBe(1);
  });
});
