import { describe, expect, it } from 'vitest';
import { LoopDelayMeter } from '../../src/control/meters.ts';

/** Block this thread's event loop for `ms` milliseconds. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('LoopDelayMeter (the loop delay `looppool top` shows)', () => {
  it('reports a block that begins right after a read reset its window', async () => {
    const meter = new LoopDelayMeter(10, 0); // a window of 0 ms: every read starts a new one
    try {
      await sleep(50);
      meter.read(); // ends the window: what the next reads see happened after this
      block(150); // at once after that read's reset
      let max = 0;
      const deadline = Date.now() + 10_000;
      while (max < 140 && Date.now() < deadline) {
        await sleep(20);
        max = Math.max(max, meter.read().max);
      }
      expect(max).toBeGreaterThanOrEqual(140); // 150 ms, less nothing but timer slack
    } finally {
      meter.stop();
    }
  });

  it('forgets a block once its window has passed, read or not', async () => {
    // Before: with no read meanwhile, the first read showed a block of any age (hours, in a quiet pool).
    const meter = new LoopDelayMeter(10, 200);
    try {
      block(300);
      await sleep(700); // more than two windows, none of them read
      expect(meter.read().max).toBeLessThan(250);
    } finally {
      meter.stop();
    }
  });
});
