/** `pool.stopOnSignals()`: the first signal drains, the second terminates. */

export interface StopOnSignalsOptions {
  /** @default ['SIGINT', 'SIGTERM'] */
  signals?: NodeJS.Signals[];
  /** Passed to `stop()` on the first signal. @default the pool's stopTimeout */
  timeout?: number;
  /** Called for each signal received, with how many have been received so far. */
  onSignal?: (signal: NodeJS.Signals, count: number) => void;
}

interface Stoppable {
  stop(options?: { drain?: boolean; timeout?: number }): Promise<void>;
  terminate(): Promise<void>;
}

export function installSignalHandlers(pool: Stoppable, options: StopOnSignalsOptions): () => void {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  let count = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    count++;
    options.onSignal?.(signal, count);
    const done = count === 1 ? pool.stop(options.timeout === undefined ? {} : { timeout: options.timeout }) : pool.terminate();
    done.catch(() => {}); // stop() only rejects on a bad timeout, checked before any signal arrives
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
