/**
 * The callers' AbortSignals, watched with one 'abort' listener per signal however many tasks
 * share it. A listener per task made a batch under one signal quadratic (an EventTarget finds the
 * listener to remove by walking its list: 60,000 tasks under one signal took 9 s against 0.2 s
 * without) and made Node warn of a leak past 10 listeners.
 */

interface Watched<T> {
  readonly items: Set<T>;
  readonly listener: () => void;
}

export class SignalWatch<T> {
  readonly #signals = new Map<AbortSignal, Watched<T>>();
  readonly #aborted: (item: T, signal: AbortSignal) => void;

  /** `aborted` runs for every item still watched when its signal aborts, in the order they were added. */
  constructor(aborted: (item: T, signal: AbortSignal) => void) {
    this.#aborted = aborted;
  }

  /** Watch `signal` (not aborted yet) for `item` until the returned function is called. */
  watch(item: T, signal: AbortSignal): () => void {
    let watched = this.#signals.get(signal);
    if (watched === undefined) {
      const items = new Set<T>();
      const listener = (): void => {
        this.#signals.delete(signal);
        for (const each of items) this.#aborted(each, signal);
      };
      signal.addEventListener('abort', listener, { once: true });
      this.#signals.set(signal, (watched = { items, listener }));
    }
    watched.items.add(item);
    return () => this.#unwatch(item, signal);
  }

  #unwatch(item: T, signal: AbortSignal): void {
    const watched = this.#signals.get(signal);
    if (watched === undefined || !watched.items.delete(item) || watched.items.size > 0) return;
    signal.removeEventListener('abort', watched.listener);
    this.#signals.delete(signal);
  }
}
