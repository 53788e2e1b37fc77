/**
 * The checks of the option objects the metrics API takes besides `ResourceReporter`'s and the
 * statsd settings' own (resource-reporter.ts, statsd.ts): `PoolReporter`'s, `startPoolMetrics`'
 * and `createStatsd`'s second argument. Each gets what every options object of the API gets
 * (internal/known-keys.ts): a typo or a null is refused, and a value of the wrong kind is named.
 * Each returns the options read once (readOptions): its caller uses what was checked.
 */
import { assertOptionsArgument, boolean, callback, poolName, readOptions } from '../internal/option-checks.ts';

const POOL_REPORTER_KEYS: ReadonlySet<string> = new Set(['name', 'tags', 'interval', 'reservoirSize', 'onError', 'clock', 'probe', 'random']);
const POOL_METRICS_KEYS: ReadonlySet<string> = new Set(['name', 'interval', 'onError']);
const CREATE_STATSD_KEYS: ReadonlySet<string> = new Set(['onError', 'tags']);

interface Common {
  name?: unknown;
  tags?: unknown;
  onError?: unknown;
}

/** `PoolReporter`'s options (its `interval` and `reservoirSize` are checked where they are read). */
export function readPoolReporterOptions<T extends object>(options: T): T {
  return checkCommon(options, POOL_REPORTER_KEYS) as T;
}

/** `startPoolMetrics`' options (`interval` is checked by the reporters it starts). */
export function readPoolMetricsOptions<T extends object>(options: T): T {
  return checkCommon(options, POOL_METRICS_KEYS) as T;
}

/** `createStatsd`'s second argument. */
export function readCreateStatsdOptions<T extends object>(options: T): T {
  return checkCommon(options, CREATE_STATSD_KEYS) as T;
}

function checkCommon(options: unknown, keys: ReadonlySet<string>): Record<string, unknown> {
  assertOptionsArgument(options);
  const read = readOptions(options, keys);
  const { name, tags, onError } = read as Common;
  if (name !== undefined) poolName('name', name);
  if (tags !== undefined) boolean('tags', tags);
  if (onError !== undefined) callback('onError', onError);
  return read;
}
