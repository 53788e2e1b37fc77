/** `pool.map()`: bounded in-flight work over a (possibly async) iterable, results in order or as they come. */

export interface MapOptions {
  /** Yield results in input order (`true`) or as tasks finish (`false`). @default true */
  ordered?: boolean;
  /** Tasks in flight at most. @default size × concurrency */
  window?: number;
}

type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export async function* mapTasks<T, R>(
  run: (task: T) => Promise<R>,
  input: Iterable<T> | AsyncIterable<T>,
  { ordered = true, window = 1 }: MapOptions,
): AsyncGenerator<R, void, undefined> {
  if (!Number.isSafeInteger(window) || window < 1) throw new TypeError(`Expected \`window\` to be a positive integer, got ${String(window)}`);
  const source = Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : input[Symbol.iterator]();
  const outcomes = new Map<number, Outcome<R>>();
  const finished: number[] = []; // arrival order, for unordered output
  let wake: (() => void) | undefined;
  let inFlight = 0;
  let nextIndex = 0;
  let nextOut = 0;
  let exhausted = false;
  const settle = (index: number, outcome: Outcome<R>): void => {
    inFlight--;
    outcomes.set(index, outcome);
    finished.push(index);
    wake?.();
  };
  try {
    for (;;) {
      // Finished-but-not-yet-yielded results count against the window too: memory stays bounded.
      while (!exhausted && inFlight + outcomes.size < window) {
        const item = await source.next();
        if (item.done) {
          exhausted = true;
          break;
        }
        const index = nextIndex++;
        inFlight++;
        run(item.value).then(
          (value) => settle(index, { ok: true, value }),
          (error: unknown) => settle(index, { ok: false, error }),
        );
      }
      const key = ordered ? nextOut : finished[0];
      const outcome = key === undefined ? undefined : outcomes.get(key);
      if (outcome !== undefined && key !== undefined) {
        outcomes.delete(key);
        if (ordered) nextOut++;
        else finished.shift();
        if (!outcome.ok) throw outcome.error;
        yield outcome.value;
        continue;
      }
      if (exhausted && inFlight === 0 && outcomes.size === 0) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    // Stop pulling input; tasks still in flight finish on their own (their outcomes are dropped).
    await source.return?.();
  }
}
