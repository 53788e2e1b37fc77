/** `pool.stopOnSignals()`: the first signal drains, the second terminates. */
import { assertOptionsArgument, readOptions, show } from '../internal/option-checks.ts';
import { stopTimeoutOption } from './call-options.ts';

export interface StopOnSignalsOptions {
  /** The signals that stop the pool; add 'SIGHUP' to drain on a hang-up too (`looppool run` does). @default ['SIGINT', 'SIGTERM'] */
  signals?: readonly NodeJS.Signals[] | undefined;
  /** Passed to `stop()` on the first signal. @default the pool's stopTimeout */
  timeout?: number | undefined;
  /** Called for each signal received, with how many have been received so far. */
  onSignal?: ((signal: NodeJS.Signals, count: number) => void) | undefined;
}

interface Stoppable {
  stop(options?: { drain?: boolean; timeout?: number }): Promise<void>;
  terminate(): Promise<void>;
}

/** @throws {TypeError} on bad options, before any handler is installed */
export function installSignalHandlers(pool: Stoppable, options: StopOnSignalsOptions): () => void {
  const { signals = ['SIGINT', 'SIGTERM'], timeout, onSignal: notify } = readSignalOptions(options);
  let count = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    count++;
    notify?.(signal, count);
    const done = count === 1 ? pool.stop(timeout === undefined ? {} : { timeout }) : pool.terminate();
    done.catch(() => {}); // stop() rejects only on a bad timeout, checked by readSignalOptions
  };
  for (const signal of signals) listen(signal, onSignal);
  return () => {
    for (const signal of signals) unlisten(signal, onSignal);
  };
}

/**
 * Each signal's handlers, every pool's, behind one process listener per signal: a listener per
 * pool made Node warn of a leak (MaxListenersExceededWarning) from the eleventh pool on, in an
 * application that runs many pools at once.
 */
const handlers = new Map<NodeJS.Signals, Set<(signal: NodeJS.Signals) => void>>();

function dispatch(signal: NodeJS.Signals): void {
  for (const handler of [...(handlers.get(signal) ?? [])]) handler(signal);
}

function listen(signal: NodeJS.Signals, handler: (signal: NodeJS.Signals) => void): void {
  let set = handlers.get(signal);
  if (set === undefined) {
    handlers.set(signal, (set = new Set()));
    process.on(signal, dispatch);
  }
  set.add(handler);
}

function unlisten(signal: NodeJS.Signals, handler: (signal: NodeJS.Signals) => void): void {
  const set = handlers.get(signal);
  if (set === undefined || !set.delete(handler) || set.size > 0) return;
  handlers.delete(signal);
  process.off(signal, dispatch);
}

/** Signals a process can listen for (not SIGKILL or SIGSTOP). */
function isCatchable(signal: unknown): boolean {
  const names = process.getBuiltinModule('node:os').constants.signals;
  return typeof signal === 'string' && Object.hasOwn(names, signal) && signal !== 'SIGKILL' && signal !== 'SIGSTOP';
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['signals', 'timeout', 'onSignal']);

/**
 * The options, each read once (readOptions), checked before any handler is installed; `signals`
 * a copy, checked as copied: the remover must remove what was installed.
 */
function readSignalOptions(options: StopOnSignalsOptions): StopOnSignalsOptions {
  assertOptionsArgument(options);
  const read = readOptions(options, OPTION_KEYS) as StopOnSignalsOptions;
  const { timeout, onSignal } = read;
  const signals = Array.isArray(read.signals) ? Array.from(read.signals) : read.signals;
  if (signals !== undefined && !(Array.isArray(signals) && signals.length > 0 && signals.every(isCatchable))) {
    throw new TypeError(`Expected \`signals\` to be a non-empty array of signal names a process can catch, such as 'SIGINT', got ${show(read.signals)}`);
  }
  // Listed twice, one signal would count as two: the first already terminating instead of draining.
  const twice = signals?.find((signal, i) => signals.indexOf(signal) !== i);
  if (twice !== undefined) throw new TypeError(`Expected \`signals\` to name each signal once, got '${twice}' twice`);
  if (timeout !== undefined) stopTimeoutOption(timeout);
  if (onSignal !== undefined && typeof onSignal !== 'function') throw new TypeError(`Expected \`onSignal\` to be a function, got ${show(onSignal)}`);
  return { ...read, ...(signals && { signals }) };
}
