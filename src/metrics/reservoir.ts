/**
 * A bounded uniform sample of one interval's values plus their exact count and max. The pool
 * reporter keeps one per timing so a pool running 10,000 tasks a second sends at most `size`
 * timing lines per interval, not 10,000 packets a second.
 *
 * Once full it skips ahead (Li's algorithm L): it draws random numbers only for the values it
 * keeps, about `size × ln(count / size)` per interval, instead of one per value (algorithm R).
 */
export interface ReservoirSnapshot {
  /** Up to `size` values, a uniform random sample of everything added. */
  readonly samples: readonly number[];
  /** How many values were added. */
  readonly count: number;
  /** The largest value added (exact), or 0 if none. */
  readonly max: number;
}

export class Reservoir {
  readonly #size: number;
  readonly #random: () => number;
  #samples: number[] = [];
  #count = 0;
  #max = 0;
  /** Algorithm L's running weight. */
  #w = 1;
  /** The count at which the next value is kept, once the reservoir is full. */
  #next = 0;

  /** @param random returns a number in [0, 1); injected for tests. */
  constructor(size: number, random: () => number = Math.random) {
    this.#size = size;
    this.#random = random;
  }

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    const count = ++this.#count;
    if (count === 1 || value > this.#max) this.#max = value;
    if (count <= this.#size) {
      this.#samples.push(value);
      if (count === this.#size) {
        this.#w = this.#weight();
        this.#skip();
      }
    } else if (count === this.#next) {
      this.#samples[Math.floor(this.#random() * this.#size)] = value;
      this.#w *= this.#weight();
      this.#skip();
    }
  }

  /** What was added since the previous `take()`, and start over. */
  take(): ReservoirSnapshot {
    const snapshot = { samples: this.#samples, count: this.#count, max: this.#max };
    this.#samples = [];
    this.#count = 0;
    this.#max = 0;
    return snapshot;
  }

  /** A factor of algorithm L's weight: U^(1/size), U uniform in (0, 1]. */
  #weight(): number {
    return Math.exp(Math.log(1 - this.#random()) / this.#size);
  }

  /** Set the count of the next value to keep: geometric jump with success probability 1 - w. */
  #skip(): void {
    const jump = Math.floor(Math.log(1 - this.#random()) / Math.log(1 - this.#w));
    // w = 1 (a stubbed random) gives 0 or NaN: keep the very next value. Infinity: keep no more.
    this.#next = this.#count + 1 + (jump > 0 ? jump : 0);
  }
}
