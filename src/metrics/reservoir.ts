/**
 * A bounded uniform sample of one interval's values (Vitter's algorithm R) plus their exact
 * count and max. The pool reporter keeps one per timing so a pool running 10,000 tasks a second
 * sends at most `size` timing lines per interval, not 10,000 packets a second.
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

  /** @param random returns a number in [0, 1); injected for tests. */
  constructor(size: number, random: () => number = Math.random) {
    this.#size = size;
    this.#random = random;
  }

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    this.#count++;
    if (this.#count === 1 || value > this.#max) this.#max = value;
    if (this.#samples.length < this.#size) {
      this.#samples.push(value);
      return;
    }
    const slot = Math.floor(this.#random() * this.#count);
    if (slot < this.#size) this.#samples[slot] = value;
  }

  /** What was added since the previous `take()`, and start over. */
  take(): ReservoirSnapshot {
    const snapshot = { samples: this.#samples, count: this.#count, max: this.#max };
    this.#samples = [];
    this.#count = 0;
    this.#max = 0;
    return snapshot;
  }
}
