/**
 * A loop-delay histogram like `perf_hooks.monitorEventLoopDelay()`, without its blind spot.
 *
 * Node's version forgets when it last ticked whenever it is enabled or reset, so its first tick
 * after either only starts the clock: a block that begins within one resolution of a reset (the
 * reporter resets every interval) or of the start is never recorded. Here an unref'd interval
 * records the time between its ticks into a `createHistogram()`, and `reset()` clears the values
 * but keeps the time of the last tick, so a block that spans a report is still measured, in the
 * interval in which it ends. Values are in nanoseconds and include the resolution, as Node's do.
 * A reader calls `catchUp()` first: a block that ended just before the read has no tick recorded
 * yet when the read's own timer runs before the histogram's (it was due first) or when the read
 * follows the block in the same callback (a worker's last report), and without it that block
 * showed in the next interval's figures, beside another interval's CPU and utilisation, or never.
 * Used by the metrics (samplers.ts) and by the control server's meter (`looppool top`).
 * (node:perf_hooks is loaded when a histogram is made, not imported: see metrics/clock.ts.)
 */

/** A histogram of loop delays (values in ns): the part of Node's `IntervalHistogram` the sampler uses. */
export interface DelayHistogram {
  readonly count: number;
  readonly mean: number;
  readonly max: number;
  percentile(p: number): number;
  /**
   * Record the delay of a tick that is late now (the loop was held up past its time), so that a
   * read made now includes it; that tick, when it runs, records only what it was held up after this.
   */
  catchUp(): void;
  enable(): boolean;
  disable(): boolean;
  reset(): void;
}

/** The time and the repeating timer a histogram uses (tests pass their own). @internal */
export interface LoopDelayClock {
  now(): number;
  /** Call `tick` every `ms`; the timer must not keep the process alive. Returns its cancellation. */
  every(ms: number, tick: () => void): () => void;
}

const NODE_CLOCK: LoopDelayClock = {
  now: () => performance.now(),
  every(ms, tick) {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

export function loopDelayHistogram(resolution: number, clock: LoopDelayClock = NODE_CLOCK): DelayHistogram {
  const histogram = process.getBuiltinModule('node:perf_hooks').createHistogram();
  const record = (ms: number): void => histogram.record(Math.max(1, Math.round(ms * 1e6)));
  let previous = 0;
  /** A read caught up with the late tick that is about to run: it records only the delay after that. */
  let caughtUp = false;
  let cancel: (() => void) | undefined;
  const tick = (): void => {
    const now = clock.now();
    const elapsed = now - previous;
    previous = now;
    if (!caughtUp) return record(elapsed);
    caughtUp = false;
    // Due already at the catch-up: what held it up since is a delay of its own (under 1 ms: none,
    // and no sample: the catch-up's took this tick's place).
    if (elapsed >= 1) record(resolution + elapsed);
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
    catchUp() {
      if (!cancel) return;
      const now = clock.now();
      if (now - previous <= resolution) return; // the next tick is not late
      record(now - previous);
      previous = now;
      caughtUp = true;
    },
    enable() {
      if (cancel) return false;
      previous = clock.now();
      caughtUp = false;
      cancel = clock.every(resolution, tick);
      return true;
    },
    disable() {
      if (!cancel) return false;
      cancel();
      cancel = undefined;
      return true;
    },
    reset: () => histogram.reset(),
  };
}
