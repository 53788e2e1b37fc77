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
});
