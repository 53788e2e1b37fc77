/** `pool.map()`: bounded in-flight work over a (possibly async) iterable, results in order or as they come. */
import { Deque } from '../internal/deque.ts';
import { assertKnownKeys } from '../internal/known-keys.ts';
import { show } from '../internal/option-checks.ts';

export interface MapOptions {
  /** Yield results in input order (`true`) or as tasks finish (`false`). @default true */
  ordered?: boolean;
  /** Tasks in flight at most. @default size × concurrency */
  window?: number;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['ordered', 'window']);

/**
 * Check what `pool.map()` is given, before anything runs.
 * @throws {TypeError} for an unknown option, an option of the wrong kind, or an input that is not iterable
 */
export function checkMapArguments(input: unknown, options: MapOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`Expected the options to be an object, got ${show(options)}`);
  assertKnownKeys(options, OPTION_KEYS);
  if (options.ordered !== undefined && typeof options.ordered !== 'boolean') throw new TypeError(`Expected \`ordered\` to be a boolean, got ${show(options.ordered)}`);
  if (options.window !== undefined) checkWindow(options.window);
  const i = input as Partial<Iterable<unknown> & AsyncIterable<unknown>> | null | undefined;
  if (typeof i?.[Symbol.asyncIterator] !== 'function' && typeof i?.[Symbol.iterator] !== 'function') {
    throw new TypeError(`Expected the input to be an iterable or async iterable, got ${show(input)}`);
  }
}

function checkWindow(window: unknown): void {
  if (!Number.isSafeInteger(window) || (window as number) < 1) throw new TypeError(`Expected \`window\` to be a positive integer, got ${show(window)}`);
}

type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** The tasks of one map in flight, and the outcomes that arrived but were not yet yielded. */
class Outcomes<R> {
  inFlight = 0;
  readonly #ordered: boolean;
  /** Ordered output: the outcomes not yet yielded, by input index. */
  readonly #byIndex = new Map<number, Outcome<R>>();
  /** Unordered output: the outcomes not yet yielded, in the order they arrived. */
  readonly #arrived = new Deque<Outcome<R>>();
  #nextOut = 0;
  #wake: (() => void) | undefined;

  constructor(ordered: boolean) {
    this.#ordered = ordered;
  }

  /** Tasks in flight plus outcomes not yet yielded: what the window bounds. */
  get held(): number {
    return this.inFlight + this.#byIndex.size + this.#arrived.length;
  }

  track(index: number, promise: Promise<R>): void {
    this.inFlight++;
    promise.then(
      (value) => this.#settle(index, { ok: true, value }),
      (error: unknown) => this.#settle(index, { ok: false, error }),
    );
  }

  /** The next outcome to yield (the next index if ordered, else the earliest to arrive), if it is here. */
  take(): Outcome<R> | undefined {
    if (!this.#ordered) return this.#arrived.shift();
    const outcome = this.#byIndex.get(this.#nextOut);
    if (outcome !== undefined) this.#byIndex.delete(this.#nextOut++);
    return outcome;
  }

  /** Resolves once another task has settled. */
  next(): Promise<void> {
    return new Promise<void>((resolve) => (this.#wake = resolve));
  }

  #settle(index: number, outcome: Outcome<R>): void {
    this.inFlight--;
    if (this.#ordered) this.#byIndex.set(index, outcome);
    else this.#arrived.push(outcome);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

export async function* mapTasks<T, R>(
  run: (task: T) => Promise<R>,
  input: Iterable<T> | AsyncIterable<T>,
  { ordered = true, window = 1 }: MapOptions,
): AsyncGenerator<R, void, undefined> {
  checkWindow(window);
  const isAsync = Symbol.asyncIterator in input;
  const source = isAsync ? input[Symbol.asyncIterator]() : input[Symbol.iterator]();
  const outcomes = new Outcomes<R>(ordered);
  let nextIndex = 0;
  let exhausted = false;
  try {
    for (;;) {
      // Finished-but-not-yet-yielded results count against the window too: memory stays bounded.
      while (!exhausted && outcomes.held < window) {
        // A sync source is read without an await: one microtask less per item.
        const item = isAsync ? await source.next() : (source as Iterator<T>).next();
        if (item.done) exhausted = true;
        else outcomes.track(nextIndex++, run(item.value));
      }
      const outcome = outcomes.take();
      if (outcome !== undefined) {
        if (!outcome.ok) throw outcome.error;
        yield outcome.value;
        continue;
      }
      if (exhausted && outcomes.held === 0) return;
      await outcomes.next();
    }
  } finally {
    // Stop pulling input; tasks still in flight finish on their own (their outcomes are dropped).
    await source.return?.();
  }
}
