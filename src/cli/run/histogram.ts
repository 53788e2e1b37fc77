/**
 * A log-bucketed histogram of durations: constant memory whatever the number of tasks, and
 * percentiles within 2 % of the true value (buckets grow by 2 % from 1 µs).
 */
const GROWTH = 1.02;
const MIN_MS = 0.001;
const LOG_GROWTH = Math.log(GROWTH);

/** Durations in ms; `summary()` gives p50, p99 and max. */
export class Histogram {
  readonly #counts = new Map<number, number>();
  #count = 0;
  #max = 0;

  get count(): number {
    return this.#count;
  }

  record(ms: number): void {
    const value = Math.max(ms, MIN_MS);
    const bucket = Math.ceil(Math.log(value / MIN_MS) / LOG_GROWTH);
    this.#counts.set(bucket, (this.#counts.get(bucket) ?? 0) + 1);
    this.#count++;
    if (value > this.#max) this.#max = value;
  }

  /** The value below which `p` percent of the recorded durations fall (0 when empty). */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.#count);
    let seen = 0;
    for (const bucket of [...this.#counts.keys()].sort((a, b) => a - b)) {
      seen += this.#counts.get(bucket) as number;
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
