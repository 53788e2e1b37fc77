/**
 * The options of a call, beside the pool's own (options.ts): a task's `timeout` for `run`/`put`,
 * and `stop()`'s. Invalid ones throw a `TypeError` naming the option and the value.
 */
import { MAX_DELAY_MS } from '../internal/delay.ts';
import { assertOptionsArgument, boolean, delayOption, readOptions, show } from '../internal/option-checks.ts';

/** A per-task timeout given to `run`/`put`: undefined, or an integer from 1 to {@link MAX_DELAY_MS}. */
export function taskTimeoutOption(value: unknown): number | undefined {
  return value === undefined ? undefined : delayOption('timeout', value, 1);
}

const STOP_KEYS: ReadonlySet<string> = new Set(['drain', 'timeout']);

/**
 * `stop()`'s options, each read once (readOptions): an object of known keys, `drain` a boolean
 * (`timeout` is checked where it is used, the value read here).
 * @throws {TypeError}
 */
export function readStopOptions(options: unknown): { drain?: boolean; timeout?: number } {
  assertOptionsArgument(options);
  const read = readOptions(options, STOP_KEYS, '', ' (stop takes `drain` and `timeout`)');
  if (read.drain !== undefined) boolean('drain', read.drain);
  return read as { drain?: boolean; timeout?: number };
}

const BROADCAST_KEYS: ReadonlySet<string> = new Set(['timeout']);

/**
 * `broadcast()`'s options, each read once: `timeout` ms from 1 to {@link MAX_DELAY_MS}, or
 * Infinity (the default: no limit).
 * @throws {TypeError}
 */
export function readBroadcastOptions(options: unknown): { timeout: number } {
  assertOptionsArgument(options);
  const read = readOptions(options, BROADCAST_KEYS, '', ' (broadcast takes `timeout`)');
  return { timeout: read.timeout === undefined ? Infinity : delayOption('timeout', read.timeout, 1, true) };
}

/** `stop()`'s timeout, and `stopOnSignals()`'s: ms from 0 to {@link MAX_DELAY_MS} (not only integers), or Infinity (no timer). */
export function stopTimeoutOption(value: unknown): number {
  if (value === Infinity || (typeof value === 'number' && value >= 0 && value <= MAX_DELAY_MS)) return value;
  throw new TypeError(`Expected \`timeout\` to be a number of ms from 0 to ${MAX_DELAY_MS}, or Infinity, got ${show(value)}`);
}
