/**
 * A map from non-negative integer ids to values, for tables that see an insert and a delete per
 * task (a worker's tasks in flight). Open addressing with linear probing over arrays that are
 * allocated once (and again only to grow); a delete shifts the following entries back instead of
 * leaving a tombstone.
 *
 * An id's home slot is a multiplicative (Fibonacci) hash of it, not the id itself: a pool's ids
 * are consecutive, and as their own home slots a worker's thousand tasks in flight filled a
 * thousand consecutive slots, one run that every delete's backward shift walked to its end
 * (13% of the parent's busy time in a long workload C went there).
 *
 * Why not a `Map`: V8 rebuilds a `Map`'s hash table every few hundred deletes, and each old table
 * keeps its entries and a link to the next table. Once one of those tables has been promoted to the
 * old generation and died there, the young-generation collector still treats what it points to as
 * live: each table kept the next one, and the tasks in them, alive until a full collection, and
 * the pool's parent promoted megabytes of short-lived tasks at every scavenge
 * (manual/performance-notes.md, "A, small tasks"). A worker's tasks in flight live in one too: with
 * statsd metrics on, its `Map` had the workers collecting as much garbage and A ran 25% slower.
 */
const EMPTY = -1;

export class IdTable<T> {
  #keys: Float64Array;
  #values: (T | undefined)[];
  #mask: number;
  /** 32 - log2(capacity): the hash keeps the top bits of the product. */
  #shift: number;
  #size = 0;

  /** @param capacity initial number of slots, a power of two from 2 to 2^30 */
  constructor(capacity = 64) {
    if (!(Number.isInteger(capacity) && capacity >= 2 && capacity <= 2 ** 30 && (capacity & (capacity - 1)) === 0)) {
      throw new RangeError(`Expected \`capacity\` to be a power of two from 2 to 2^30, got ${capacity}`);
    }
    this.#keys = new Float64Array(capacity).fill(EMPTY);
    this.#values = new Array<T | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
    this.#shift = 32 - Math.log2(capacity);
  }

  get size(): number {
    return this.#size;
  }

  get(id: number): T | undefined {
    const i = this.#find(id);
    return i < 0 ? undefined : this.#values[i];
  }

  has(id: number): boolean {
    return this.#find(id) >= 0;
  }

  /** Add or replace the value of `id` (a non-negative safe integer). */
  set(id: number, value: T): void {
    if ((this.#size + 1) * 2 > this.#keys.length) this.#grow();
    const keys = this.#keys;
    let i = this.#home(id);
    while (keys[i] !== EMPTY && keys[i] !== id) i = (i + 1) & this.#mask;
    if (keys[i] === EMPTY) this.#size++;
    keys[i] = id;
    this.#values[i] = value;
  }

  /** Remove `id`; false if it was not there. */
  delete(id: number): boolean {
    let hole = this.#find(id);
    if (hole < 0) return false;
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    // Backward shift: move each following entry of the run into the hole unless its home slot
    // lies after the hole (cyclically), where moving it would put it before its home.
    for (let j = (hole + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.#home(keys[j] as number);
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      keys[hole] = keys[j] as number;
      values[hole] = values[j];
      hole = j;
    }
    keys[hole] = EMPTY;
    values[hole] = undefined;
    this.#size--;
    return true;
  }

  /** The ids present, ascending (what a `Map` filled in id order would give). */
  keys(): number[] {
    return this.#slots().map((i) => this.#keys[i] as number);
  }

  /** Whether `test` holds for every value (in no particular order; stops at the first that fails, allocates nothing). */
  every(test: (value: T) => boolean): boolean {
    for (let i = 0; i < this.#keys.length; i++) if (this.#keys[i] !== EMPTY && !test(this.#values[i] as T)) return false;
    return true;
  }

  /** The values present, by ascending id. */
  values(): T[] {
    return this.#slots().map((i) => this.#values[i] as T);
  }

  clear(): void {
    this.#keys.fill(EMPTY);
    this.#values.fill(undefined);
    this.#size = 0;
  }

  /** The occupied slots, by ascending id. */
  #slots(): number[] {
    const slots: number[] = [];
    for (let i = 0; i < this.#keys.length; i++) if (this.#keys[i] !== EMPTY) slots.push(i);
    return slots.sort((a, b) => (this.#keys[a] as number) - (this.#keys[b] as number));
  }

  #find(id: number): number {
    const keys = this.#keys;
    for (let i = this.#home(id); ; i = (i + 1) & this.#mask) {
      const key = keys[i];
      if (key === id) return i;
      if (key === EMPTY) return -1;
    }
  }

  /** The slot an id probes first. `Math.imul` takes the id's low 32 bits; ids above 2^32 still hash well. */
  #home(id: number): number {
    return Math.imul(id, 0x9e3779b1) >>> this.#shift;
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    this.#keys = new Float64Array(keys.length * 2).fill(EMPTY);
    this.#values = new Array<T | undefined>(keys.length * 2).fill(undefined);
    this.#mask = keys.length * 2 - 1;
    this.#shift--;
    this.#size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) this.set(keys[i] as number, values[i] as T);
  }
}
