/**
 * User code the pool calls while it handles a worker's message (event listeners, `onDispatch`):
 * a throw there must not unwind through the pool, which would leave the message half handled (a
 * task unsettled, the worker killed for a "protocol" error). It is thrown again on its own, after
 * the pool's work, as an uncaught exception: what Node does for a listener that throws in an I/O
 * callback.
 */

function rethrow(error: unknown): never {
  throw error;
}

/** Throw `error` again on its own, once the current work is done. */
export function rethrowLater(error: unknown): void {
  process.nextTick(rethrow, error);
}

/** `callback`, made so that what it throws is thrown again on its own (see {@link rethrowLater}). */
export function guarded<A extends unknown[]>(callback: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      callback(...args);
    } catch (error) {
      rethrowLater(error);
    }
  };
}
