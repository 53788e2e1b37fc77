/**
 * "Reported once, not thrown": the first error of a kind is written out (or handed to a callback),
 * later ones are only counted, so a statsd host that stays down costs one line of log, not one
 * per packet.
 */

/** What a reporter does with an error it will not throw. */
export type ErrorSink = (error: Error) => void;

/** An error sink that forwards only the first error; `count` is how many arrived in total. */
export interface OnceSink {
  (error: unknown): void;
  readonly count: number;
}

/** Writes `looppool: <what>: <message>` to stderr. */
export function stderrSink(what: string): ErrorSink {
  return (error) => {
    try {
      process.stderr.write(`looppool: ${what}: ${error.message} (reported once; later errors are not logged)\n`);
    } catch {
      // stderr itself is gone: nothing left to tell
    }
  };
}

/** Wrap `sink` so it sees only the first error; never throws, even if `sink` does. */
export function reportOnce(sink: ErrorSink): OnceSink {
  let count = 0;
  const report = (error: unknown): void => {
    count++;
    if (count !== 1) return;
    try {
      sink(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // a failing error callback must not break reporting
    }
  };
  Object.defineProperty(report, 'count', { get: () => count });
  return report as OnceSink;
}
