/** Small measurements the control server adds to a pool's snapshot: throughput and loop delay. */
import { loopDelayHistogram, type DelayHistogram } from '../internal/loop-delay.ts';

const WINDOW_SAMPLES = 11; // ten one-second intervals

/** Finished tasks per second over the last ten seconds, from a counter sampled once a second. */
export class RateMeter {
  readonly #samples: { t: number; count: number }[] = [];
  readonly #read: () => number;
  readonly #timer: NodeJS.Timeout;

  constructor(read: () => number, intervalMs = 1000) {
    this.#read = read;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  /** Tasks per second (0 until two samples exist). */
  get rate(): number {
    const first = this.#samples[0];
    const now = { t: performance.now(), count: this.#read() };
    if (!first || now.t - first.t <= 0) return 0;
    return ((now.count - first.count) * 1000) / (now.t - first.t);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(): void {
    this.#samples.push({ t: performance.now(), count: this.#read() });
    if (this.#samples.length > WINDOW_SAMPLES) this.#samples.shift();
  }
}

/**
 * This process's event-loop delay, in ms, over a window of at most `windowMs`. The histogram is
 * looppool's own (internal/loop-delay.ts): Node's monitorEventLoopDelay would miss a block that
 * begins within one resolution of the window's reset.
 */
export class LoopDelayMeter {
  readonly #histogram: DelayHistogram;
  readonly #resolution: number;
  readonly #windowMs: number;
  #since = performance.now();
  /** Ends a window nobody read: the first read after a long while showed a block of hours ago. */
  readonly #windowTimer: NodeJS.Timeout | undefined;

  constructor(resolution = 20, windowMs = 10_000) {
    this.#resolution = resolution;
    this.#windowMs = windowMs;
    this.#histogram = loopDelayHistogram(resolution);
    this.#histogram.enable();
    if (windowMs > 0) {
      this.#windowTimer = setInterval(() => this.#startWindow(), windowMs);
      this.#windowTimer.unref();
    }
  }

  #startWindow(): void {
    this.#histogram.reset();
    this.#since = performance.now();
  }

  /** p50/p99/max; the histogram's own sampling interval is subtracted, as it is part of every sample. */
  read(): { p50: number; p99: number; max: number } {
    const h = this.#histogram;
    h.catchUp(); // a block that has just ended counts now, not one refresh later
    const ms = (ns: number): number => (h.count === 0 ? 0 : Math.max(0, Math.round((ns / 1e6 - this.#resolution) * 100) / 100));
    const out = { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
    if (performance.now() - this.#since > this.#windowMs) this.#startWindow();
    return out;
  }

  stop(): void {
    clearInterval(this.#windowTimer);
    this.#histogram.disable();
  }
}
