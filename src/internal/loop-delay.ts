/**
 * A loop-delay histogram like `perf_hooks.monitorEventLoopDelay()`, without its blind spot.
 *
 * Node's version forgets when it last ticked whenever it is enabled or reset, so its first tick
 * after either only starts the clock: a block that begins within one resolution of a reset (the
 * reporter resets every interval) or of the start is never recorded. Here an unref'd interval
 * records the time between its ticks into a `createHistogram()`, and `reset()` clears the values
 * but keeps the time of the last tick, so a block that spans a report is still measured, in the
 * interval in which it ends. Values are in nanoseconds and include the resolution, as Node's do.
 * Used by the metrics (samplers.ts) and by the control server's meter (`looppool top`).
 * (node:perf_hooks is loaded when a histogram is made, not imported: see metrics/clock.ts.)
 */

/** A histogram of loop delays (values in ns): the part of Node's `IntervalHistogram` the sampler uses. */
export interface DelayHistogram {
  readonly count: number;
  readonly mean: number;
  readonly max: number;
  percentile(p: number): number;
  enable(): boolean;
  disable(): boolean;
  reset(): void;
}

export function loopDelayHistogram(resolution: number): DelayHistogram {
  const histogram = process.getBuiltinModule('node:perf_hooks').createHistogram();
  let previous = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const now = performance.now();
    histogram.record(Math.max(1, Math.round((now - previous) * 1e6)));
    previous = now;
  };
  return {
    get count() {
      return histogram.count;
    },
    get mean() {
      return histogram.mean;
    },
    get max() {
      return histogram.max;
    },
    percentile: (p) => histogram.percentile(p),
    enable() {
      if (timer) return false;
      previous = performance.now();
      timer = setInterval(tick, resolution);
      timer.unref();
      return true;
    },
    disable() {
      if (!timer) return false;
      clearInterval(timer);
      timer = undefined;
      return true;
    },
    reset: () => histogram.reset(),
  };
}
