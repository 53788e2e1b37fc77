/** `pool.results()`: an async iterator over the pool's result stream, ending when the pool stops. */
import { Deque } from '../internal/deque.ts';
import type { ResultInfo } from './events.ts';

export interface StreamedResult<TResult> {
  readonly value: TResult;
  readonly info: ResultInfo;
}

export class ResultStream<TResult> implements AsyncIterableIterator<StreamedResult<TResult>> {
  /** Results not yet read: a reader slower than the pool can leave a long backlog (O(1) shift, unlike an array's). */
  readonly #buffer = new Deque<StreamedResult<TResult>>();
  /**
   * Reads waiting for a result, oldest first: a caller may ask for several before the first is
   * answered (`Promise.all([it.next(), it.next()])`), and each gets its own result.
   */
  readonly #waiting = new Deque<(r: IteratorResult<StreamedResult<TResult>>) => void>();
  #ended = false;
  readonly #detach: () => void;

  constructor(detach: (stream: ResultStream<TResult>) => void) {
    this.#detach = () => detach(this);
  }

  push(value: TResult, info: ResultInfo): void {
    if (this.#ended) return;
    const item = { value, info };
    const waiting = this.#waiting.shift();
    if (waiting) {
      waiting({ value: item, done: false });
    } else {
      this.#buffer.push(item);
    }
  }

  /** No more results will come (the pool stopped); buffered ones are still delivered. */
  end(): void {
    this.#ended = true;
    for (let waiting = this.#waiting.shift(); waiting; waiting = this.#waiting.shift()) waiting({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<StreamedResult<TResult>>> {
    const item = this.#buffer.shift();
    if (item) return Promise.resolve({ value: item, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  return(): Promise<IteratorResult<StreamedResult<TResult>>> {
    this.#buffer.clear();
    this.end();
    this.#detach();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
