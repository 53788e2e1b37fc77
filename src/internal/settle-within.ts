/** Waiting for a callback that may never come (a client's close or flush), with a bound. */

/**
 * Call `start(done)` and resolve when it calls `done`, it throws, or `timeout` ms pass. The timer
 * is not unref'd: hot-shots' TCP `close()` never calls back once the connection was refused, and
 * Sentry's flush waits on unref'd sockets (sentry/client.ts): with nothing else keeping the
 * process alive, an unref'd timer let a script that awaits the close (`await pool.stop()`) exit
 * with the promise unsettled. It keeps the process up for `timeout` ms at most.
 */
export function settleWithin(timeout: number, start: (done: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeout);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    try {
      start(done);
    } catch {
      done();
    }
  });
}
