import type { EventLoopUtilization } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import {
  countResources, cpuPercent, loopDelayOf, ProcessSampler, utilizationPercent,
} from '../../../src/metrics/samplers.ts';
import { loopDelayHistogram, type DelayHistogram } from '../../../src/internal/loop-delay.ts';

const elu = (idle: number, active: number): EventLoopUtilization => ({ idle, active, utilization: 0 });

/** A histogram holding fixed values, in ns as Node's does. */
function histogram(values: number[]): DelayHistogram & { resets: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const h = {
    resets: 0,
    count: values.length,
    mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN,
    max: values.length ? (sorted.at(-1) as number) : 0,
    percentile: (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0,
    catchUp: () => {},
    enable: () => true,
    disable: () => true,
    reset: () => void h.resets++,
  };
  return h;
}

describe('samplers: the arithmetic', () => {
  it('cpuPercent is (user + system) CPU time over wall time, in % of one core', () => {
    expect(cpuPercent({ user: 0, system: 0 }, { user: 300_000, system: 200_000 }, 1000)).toBe(50);
    expect(cpuPercent({ user: 1_000_000, system: 0 }, { user: 3_000_000, system: 0 }, 1000)).toBe(200);
    expect(cpuPercent({ user: 0, system: 0 }, { user: 5, system: 5 }, 0)).toBe(0);
  });

  it('utilizationPercent is active time over active + idle time between two readings', () => {
    expect(utilizationPercent(elu(100, 50), elu(850, 300))).toBe(25);
    expect(utilizationPercent(elu(1, 1), elu(1, 1))).toBe(0);
  });

  it('loopDelayOf reports ms and subtracts the resolution every sample includes', () => {
    const h = histogram([10.5e6, 11e6, 160e6]);
    const delay = loopDelayOf(h, 10);
    expect(delay?.max).toBeCloseTo(150);
    expect(delay?.p99).toBeCloseTo(150);
    expect(delay?.mean).toBeCloseTo((10.5 + 11 + 160) / 3 - 10);
    expect(loopDelayOf(histogram([9e6]), 10)).toEqual({ mean: 0, p99: 0, max: 0 });
    expect(loopDelayOf(histogram([]), 10)).toBeUndefined();
  });

  it('countResources counts active handles and requests by type', () => {
    expect(Object.fromEntries(countResources(['Timeout', 'FSReqCallback', 'Timeout']))).toEqual({ Timeout: 2, FSReqCallback: 1 });
  });
});

describe('ProcessSampler', () => {
  it('reports each interval since the previous sample, then resets the delay histogram', () => {
    let now = 0;
    let cpu = { user: 0, system: 0 };
    let loop = elu(0, 0);
    const h = histogram([12e6, 30e6]);
    const sampler = new ProcessSampler({
      now: () => now,
      cpuUsage: () => cpu,
      eventLoopUtilization: () => loop,
      memoryUsage: () => ({ rss: 5000, heapUsed: 1000, heapTotal: 2000, external: 300 }),
      delayHistogram: () => h,
      activeResources: () => ['Timeout', 'TCPSocketWrap'],
    });
    sampler.start();
    now = 2000;
    cpu = { user: 1_500_000, system: 500_000 };
    loop = elu(1500, 500);
    const first = sampler.sample();
    expect(first).toMatchObject({ cpu: 100, rss: 5000, heapUsed: 1000, heapTotal: 2000, external: 300, loopUtilization: 25 });
    expect(first.loopDelay?.max).toBeCloseTo(20);
    expect(Object.fromEntries(first.resources)).toEqual({ Timeout: 1, TCPSocketWrap: 1 });
    const resetsAfterFirst = h.resets;
    now = 3000;
    cpu = { user: 1_600_000, system: 500_000 };
    loop = elu(2400, 600);
    expect(sampler.sample()).toMatchObject({ cpu: 10, loopUtilization: 10 });
    expect(h.resets).toBe(resetsAfterFirst + 1);
  });

  it('measures the real process: CPU time spent and a loop blocked by synchronous work', async () => {
    const sampler = new ProcessSampler();
    sampler.start();
    const held = Buffer.alloc(32 * 1024 * 1024, 1); // outside the V8 heap
    await new Promise((resolve) => setTimeout(resolve, 30)); // let the histogram timer run
    const end = performance.now() + 200; // the monotonic clock the histogram measures with
    while (performance.now() < end); // block the loop
    await new Promise((resolve) => setTimeout(resolve, 30));
    const sample = sampler.sample();
    sampler.stop();
    expect(sample.cpu).toBeGreaterThan(0);
    expect(sample.rss).toBeGreaterThan(sample.heapUsed);
    expect(sample.external).toBeGreaterThanOrEqual(held.length); // a Buffer leak shows here, not in heapUsed
    // The 200 ms block is one delay sample of at least 200 ms minus the 10 ms resolution.
    expect(sample.loopDelay?.max).toBeGreaterThanOrEqual(185);
    expect(sample.loopUtilization).toBeGreaterThan(0);
  });

  it('a sample taken right after a block, before the loop turned, has the block in its loop delay', async () => {
    // As a report whose timer ran before the histogram's (both late after the block), or a
    // worker's last report in the callback that blocked: no tick had recorded the block yet, and
    // it showed in the next interval (beside that interval's CPU and utilisation), or never.
    const sampler = new ProcessSampler();
    sampler.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 30)); // let the histogram timer run
      const end = performance.now() + 150;
      while (performance.now() < end); // block the loop
      const sample = sampler.sample(); // at once, in the same callback
      expect(sample.loopDelay?.max).toBeGreaterThanOrEqual(140); // 150 ms less the 10 ms resolution
    } finally {
      sampler.stop();
    }
  });

  it('a block counts in the interval it ended in, not again in the next', () => {
    let now = 0;
    let tick = (): void => {};
    const clock = { now: () => now, every: (_ms: number, t: () => void) => ((tick = t), () => {}) };
    const sampler = new ProcessSampler({ now: () => now, delayHistogram: (resolution) => loopDelayHistogram(resolution, clock) });
    sampler.start();
    now = 10;
    tick(); // on time
    now = 310; // blocked 290 ms: the tick due at 20 ms has not run when the report samples
    expect(sampler.sample().loopDelay?.max).toBeCloseTo(290, 0); // the histogram keeps 3 significant digits
    now = 310.5;
    tick(); // the late tick, right after the report
    now = 320.5;
    tick();
    const next = sampler.sample();
    expect(next.loopDelay?.max).toBeCloseTo(0, 1);
    expect(next.loopDelay?.mean).toBeCloseTo(0, 1);
    sampler.stop();
  });
});
