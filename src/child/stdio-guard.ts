/**
 * A worker's stdout and stderr outlive whoever reads them. Workers write to descriptors they
 * share with their parent (a pipe to `| head`, a terminal): once that reader is gone, a write
 * fails with EPIPE (a closed pipe) or EIO (a terminal that hung up), the stream emits 'error',
 * and with no listener the worker died — then its replacement, at its first log line, and so on,
 * failing the tasks each one held. Such a write is dropped instead; any other error on the stream
 * surfaces as before.
 */

/** The errors that only say nobody reads the stream any more. */
const GONE_READER = new Set(['EPIPE', 'EIO']);

/**
 * Guard `target`'s `stdout` and `stderr` as each stream is made. Node makes them lazily, the first
 * time `process.stdout` or `process.stderr` is read (their getters are configurable properties of
 * `process`), and making one costs start-up time a worker that never writes should not pay: the
 * getter is wrapped, not called. The global `console` reads the same properties on its first
 * write, so `console.log` and `console.error` go through the guarded streams too.
 */
export function guardStdio(target: object = process): void {
  for (const name of ['stdout', 'stderr']) {
    const descriptor = Object.getOwnPropertyDescriptor(target, name);
    const get = descriptor?.get;
    if (get === undefined || descriptor?.configurable !== true) continue;
    let guarded: unknown;
    Object.defineProperty(target, name, {
      configurable: true,
      enumerable: descriptor.enumerable === true,
      get(this: unknown) {
        const stream = get.call(this) as NodeJS.WritableStream;
        if (stream !== guarded) {
          guarded = stream;
          stream.on('error', (error: NodeJS.ErrnoException) => dropGoneReader(stream, error));
        }
        return stream;
      },
    });
  }
}

/**
 * Drop an error that says the reader is gone. Another error is thrown when no one else listens,
 * which is what `emit('error')` does without a listener: it ends the worker as it did before.
 */
function dropGoneReader(stream: NodeJS.WritableStream, error: NodeJS.ErrnoException): void {
  if (error.code !== undefined && GONE_READER.has(error.code)) return;
  if (stream.listenerCount('error') === 1) throw error;
}
