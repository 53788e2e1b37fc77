/**
 * A log-bucketed histogram of durations: constant memory whatever the number of tasks, and
 * percentiles within 2 % of the true value (buckets grow by 2 % from 1 µs). Recording is a few
 * arithmetic operations and an array increment: `looppool run` records two durations per task.
 */
const GROWTH = 1.02;
const MIN_MS = 0.001;
const LOG_GROWTH = Math.log(GROWTH);
/** Buckets up to about 11.6 days (1 µs × 1.02^2000); longer durations share the last one. */
const BUCKETS = 2001;

/** Durations in ms; `summary()` gives p50, p99 and max. */
export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #max = 0;

  get count(): number {
    return this.#count;
  }

  record(ms: number): void {
    this.#count++;
    const counts = this.#counts;
    if (!(ms > MIN_MS)) {
      counts[0] = (counts[0] as number) + 1; // 1 µs or less (or not a number)
      if (this.#max < MIN_MS) this.#max = MIN_MS;
      return;
    }
    const bucket = Math.min(Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH), BUCKETS - 1);
    counts[bucket] = (counts[bucket] as number) + 1;
    if (ms > this.#max) this.#max = ms;
  }

  /** The value below which `p` percent of the recorded durations fall (0 when empty). */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.#count);
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.#counts[bucket] as number;
      if (seen >= rank) return Math.min(MIN_MS * GROWTH ** bucket, this.#max);
    }
    return this.#max;
  }

  /** `{ p50, p99, max }` in ms, rounded to the microsecond. */
  summary(): { p50: number; p99: number; max: number } {
    const round = (ms: number): number => Math.round(ms * 1000) / 1000;
    return { p50: round(this.percentile(50)), p99: round(this.percentile(99)), max: round(this.#count === 0 ? 0 : this.#max) };
  }
}
