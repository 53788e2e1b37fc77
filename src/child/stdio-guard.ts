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

/** The streams made so far: those that can hold writes not yet handed to the system. */
const made = new Set<NodeJS.WritableStream>();

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
          made.add(stream);
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

/**
 * Resolves once what was written to the stdout and stderr made so far has been handed to the
 * system, or has failed. A write to a terminal or a file is synchronous, but one to a pipe (a
 * `| tee`, a container's log collector, `workerStdout` into the parent's pipe) is not on Linux:
 * what the pipe cannot take at once waits in the stream, and `process.exit()` drops it. A worker
 * that wrote 1 MB in its last task before a stop lost all but the first 128-192 KiB of it, even to
 * a reader as fast as `wc -c`. Writes are done in order, so an empty write's callback comes once
 * those before it are done. Makes no stream.
 */
export function flushStdio(): Promise<void> {
  return Promise.all([...made].map(flushStream)).then(() => undefined);
}

function flushStream(stream: NodeJS.WritableStream): Promise<void> {
  const writable = stream as NodeJS.WritableStream & { readonly writableLength?: number; readonly destroyed?: boolean };
  if (!writable.writable || writable.destroyed === true || writable.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    writable.write('', () => resolve()); // an error (the reader went away) ends the wait too
  });
}
