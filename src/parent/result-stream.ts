/**
 * `pool.results()`: an async iterator over the pool's result stream, ending when the pool stops.
 * The pool holds the stream; the caller gets a {@link ResultReader} over it, which the pool does
 * not hold, so that a reader the caller drops without `return()` (it read what it wanted with
 * `next()`) lets the stream go: the pool held it, and pushed every later result into its backlog,
 * for the life of the pool (a stream per request read once: 10,000 requests ran out of heap).
 */
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
  /** Its reader was collected: only the reads already asked for are answered, then it goes. */
  #dropped = false;
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
      if (this.#dropped && this.#waiting.length === 0) void this.return();
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

  /**
   * Nobody can read it any more but the reads asked for already (`await pool.results().next()`
   * drops its reader at once): it ends once they are answered, without a backlog meanwhile.
   */
  drop(): void {
    this.#dropped = true;
    this.#buffer.clear();
    if (this.#waiting.length === 0) void this.return();
  }
}

/** A collected reader drops its stream. */
const READERS = new FinalizationRegistry<ResultStream<unknown>>((stream) => stream.drop());

/** What `pool.results()` returns: the stream's iterator, which the stream does not point back to. */
export class ResultReader<TResult> implements AsyncIterableIterator<StreamedResult<TResult>> {
  readonly #stream: ResultStream<TResult>;

  constructor(stream: ResultStream<TResult>) {
    this.#stream = stream;
    READERS.register(this, stream as ResultStream<unknown>, this);
  }

  next(): Promise<IteratorResult<StreamedResult<TResult>>> {
    return this.#stream.next();
  }

  return(): Promise<IteratorResult<StreamedResult<TResult>>> {
    READERS.unregister(this);
    return this.#stream.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
