/**
 * Slots a ring keeps once it is empty again: a larger one (a backlog of a million tasks made it
 * 8 MB) is let go then, so a burst's room does not stay for the life of the pool. Below it, a
 * queue that fills and empties over and over keeps its room and does not grow again each time.
 */
const KEEP_WHEN_EMPTY = 1 << 14;

/** A FIFO queue on a growable ring buffer: O(1) push and shift, no per-item allocation. */
export class Deque<T> {
  #items: (T | undefined)[] = new Array<T | undefined>(16);
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  /** Slots in the ring (its room, not its items). */
  get capacity(): number {
    return this.#items.length;
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item;
    this.#length++;
  }

  /** Put an item back at the front. */
  unshift(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#items.length - 1);
    this.#items[this.#head] = item;
    this.#length++;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    if (--this.#length === 0 && this.#items.length > KEEP_WHEN_EMPTY) this.clear();
    return item;
  }

  /** Remove and return the newest item. */
  pop(): T | undefined {
    if (this.#length === 0) return undefined;
    this.#length--;
    const at = (this.#head + this.#length) & (this.#items.length - 1);
    const item = this.#items[at];
    this.#items[at] = undefined;
    if (this.#length === 0 && this.#items.length > KEEP_WHEN_EMPTY) this.clear();
    return item;
  }

  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** Drop every item (and the room a large backlog made). */
  clear(): void {
    this.#items = new Array<T | undefined>(16);
    this.#head = 0;
    this.#length = 0;
  }

  /** Remove and return every item, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }

  /** Remove every item `drop` picks, keeping the others in order (O(length)); returns how many went. */
  removeWhere(drop: (item: T) => boolean): number {
    const kept: T[] = [];
    for (let i = 0; i < this.#length; i++) {
      const item = this.#items[(this.#head + i) & (this.#items.length - 1)] as T;
      if (!drop(item)) kept.push(item);
    }
    const removed = this.#length - kept.length;
    if (removed === 0) return 0;
    let size = 16;
    while (size < kept.length) size *= 2;
    this.#items = new Array<T | undefined>(size);
    for (let i = 0; i < kept.length; i++) this.#items[i] = kept[i];
    this.#head = 0;
    this.#length = kept.length;
    return removed;
  }

  #grow(): void {
    const old = this.#items;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = next;
    this.#head = 0;
  }
}
