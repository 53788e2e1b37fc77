/** `pool.map()`: bounded in-flight work over a (possibly async) iterable, results in order or as they come. */
import { TaskAbortedError } from '../errors.ts';
import { Deque } from '../internal/deque.ts';
import { assertOptionsArgument, readOptions, show } from '../internal/option-checks.ts';
import { taskTimeoutOption } from './call-options.ts';
import { SignalWatch } from './signal-watch.ts';
import { checkSignal } from './submission.ts';

export interface MapOptions {
  /** Yield results in input order (`true`) or as tasks finish (`false`). @default true */
  ordered?: boolean | undefined;
  /** Tasks in flight at most. @default size × concurrency, at most `Number.MAX_SAFE_INTEGER` */
  window?: number | undefined;
  /**
   * Cancels the map: its queued tasks are dropped, its running ones see `ctx.signal` aborted, and
   * the iterator throws a `TaskAbortedError` whose `cause` is the signal's reason.
   */
  signal?: AbortSignal | undefined;
  /** Each task's `taskTimeout` in ms (overrides the pool's), as `run()`'s `timeout`. */
  timeout?: number | undefined;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['ordered', 'window', 'signal', 'timeout']);

/**
 * Check what `pool.map()` is given, before anything runs; returns the options read once
 * (readOptions), which the map then uses: what is checked is what is used.
 * @throws {TypeError} for an unknown option, an option of the wrong kind, or an input that is not iterable
 */
export function readMapArguments(input: unknown, options: MapOptions): MapOptions {
  assertOptionsArgument(options);
  const read = readOptions(options, OPTION_KEYS) as MapOptions;
  if (read.ordered !== undefined && typeof read.ordered !== 'boolean') throw new TypeError(`Expected \`ordered\` to be a boolean, got ${show(read.ordered)}`);
  if (read.window !== undefined) checkWindow(read.window);
  checkSignal(read.signal);
  taskTimeoutOption(read.timeout);
  const i = input as Partial<Iterable<unknown> & AsyncIterable<unknown>> | null | undefined;
  if (typeof i?.[Symbol.asyncIterator] !== 'function' && typeof i?.[Symbol.iterator] !== 'function') {
    throw new TypeError(`Expected the input to be an iterable or async iterable, got ${show(input)}`);
  }
  return read;
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

  /** Ends the current `next()` wait (an outcome arrived, or the async source answered). */
  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #settle(index: number, outcome: Outcome<R>): void {
    this.inFlight--;
    if (this.#ordered) this.#byIndex.set(index, outcome);
    else this.#arrived.push(outcome);
    this.wake();
  }
}

/**
 * Where a map's items come from: `fill` reads while `room()` says the window has room. A source
 * that throws is read no further (`exhausted`), and its error waits in `check()`: the map throws
 * it at its position, once the results of the items read before it are yielded.
 */
interface Feed<T> {
  readonly exhausted: boolean;
  fill(room: () => boolean, take: (item: T) => void): void;
  /** Throws what the source threw, if it threw. */
  check(): void;
  /** Read no further. */
  close(): Promise<void>;
}

/** A sync source is read in the map's loop, without an await: one microtask less per item. */
class SyncFeed<T> implements Feed<T> {
  exhausted = false;
  #failure: { error: unknown } | undefined;
  readonly #source: Iterator<T>;

  constructor(source: Iterator<T>) {
    this.#source = source;
  }

  fill(room: () => boolean, take: (item: T) => void): void {
    while (!this.exhausted && room()) {
      let item: IteratorResult<T>;
      try {
        item = this.#source.next();
      } catch (error) {
        this.#failure = { error };
        this.exhausted = true;
        return;
      }
      if (item.done) this.exhausted = true;
      else take(item.value);
    }
  }

  check(): void {
    if (this.#failure) throw this.#failure.error;
  }

  /** Not after it threw: as `for...of`, which calls `return()` only on an iterator still open. */
  async close(): Promise<void> {
    if (!this.#failure) this.#source.return?.();
  }
}

/**
 * An async source is read one item at a time in the background, so that results already finished
 * are yielded while the source waits for its next item (a socket, stdin, a queue): awaiting the
 * source in the map's loop held them back until the next item came, for ever if it came only
 * once the reader had seen them.
 */
class AsyncFeed<T> implements Feed<T> {
  exhausted = false;
  #pending: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;
  #closed = false;
  readonly #source: AsyncIterator<T>;
  /** Called once a read has answered (the map's loop waits for it, or for an outcome). */
  readonly #answered: () => void;

  constructor(source: AsyncIterator<T>, answered: () => void) {
    this.#source = source;
    this.#answered = answered;
  }

  fill(room: () => boolean, take: (item: T) => void): void {
    if (this.#pending || this.exhausted || this.#failure || !room()) return;
    // Promise.resolve: a hand-written iterator may answer next() with a plain object.
    this.#pending = Promise.resolve(this.#source.next()).then(
      (item) => {
        this.#pending = undefined;
        if (this.#closed) return; // the map ended meanwhile: the item is not run
        if (item.done) this.exhausted = true;
        else take(item.value);
        this.#answered();
      },
      (error: unknown) => {
        this.#pending = undefined;
        this.#failure = { error };
        this.exhausted = true;
        this.#answered();
      },
    );
  }

  check(): void {
    if (this.#failure) throw this.#failure.error;
  }

  /** A read under way is not waited for (it may never answer); the source is closed after it (not after it threw: as `for await`). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#failure) return;
    if (this.#pending === undefined) await this.#source.return?.();
    else void this.#pending.then(() => this.#source.return?.()).catch(() => {});
  }
}

/** The maps' signals: one listener per signal however many maps share it (past 10, Node warns of a leak). */
const MAP_SIGNALS = new SignalWatch<{ wake(): void }>((outcomes) => outcomes.wake());

/** `run` is given each item; the caller passes `signal` and `timeout` on to it. */
export async function* mapTasks<T, R>(
  run: (task: T) => Promise<R>,
  input: Iterable<T> | AsyncIterable<T>,
  { ordered = true, window = 1, signal }: MapOptions,
): AsyncGenerator<R, void, undefined> {
  checkWindow(window);
  const outcomes = new Outcomes<R>(ordered);
  // Read as a property, not with `in`: a string is iterable too. A source that throws here has nothing to clean up.
  const asyncSource = (input as Partial<AsyncIterable<T>>)[Symbol.asyncIterator];
  const feed: Feed<T> =
    typeof asyncSource === 'function' ? new AsyncFeed(asyncSource.call(input), () => outcomes.wake()) : new SyncFeed((input as Iterable<T>)[Symbol.iterator]());
  let nextIndex = 0;
  // Finished-but-not-yet-yielded results count against the window too: memory stays bounded.
  const room = (): boolean => outcomes.held < window;
  const take = (item: T): void => outcomes.track(nextIndex++, run(item));
  try {
    for (;;) {
      if (signal?.aborted) throw new TaskAbortedError(0, { cause: signal.reason }, 'The map was aborted');
      feed.fill(room, take);
      const outcome = outcomes.take();
      if (outcome !== undefined) {
        if (!outcome.ok) throw outcome.error;
        yield outcome.value;
        continue;
      }
      if (feed.exhausted && outcomes.held === 0) {
        // What the source threw comes at its position: after the results of the items read before it.
        feed.check();
        return;
      }
      // An abort ends the wait for an outcome: the map throws at once, not when its tasks'
      // rejections come. Watched only while it waits: a map left at a `yield` (an iterator
      // dropped without return()) holds nothing on the signal.
      const unwatch = signal && !signal.aborted ? MAP_SIGNALS.watch(outcomes, signal) : undefined;
      try {
        await outcomes.next();
      } finally {
        unwatch?.();
      }
    }
  } finally {
    // Stop pulling input; tasks still in flight finish on their own (their outcomes are dropped).
    await feed.close();
  }
}
