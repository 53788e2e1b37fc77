/**
 * One tick's worth of metrics, sent together: values are collected first, then written to the
 * client in one go and flushed, so a buffering client (the default: 1432-byte packets) sends
 * them as one or a few packets per tick instead of one per metric.
 */
import type { StatsD } from 'hot-shots';
import { joinName, sanitizePath, type MetricScope, type MetricTags } from './names.ts';

type Kind = 'gauge' | 'count' | 'timing';

interface Entry {
  readonly kind: Kind;
  readonly name: string;
  /** A number, or the digits of one that would print with an exponent (see {@link round}). */
  readonly value: number | string;
  readonly tags: MetricTags;
}

export class MetricBatch {
  readonly #entries: Entry[] = [];

  /** A gauge (`|g`): the value now. Negative values are clamped to 0, as statsd reads `-5|g` as "subtract 5". */
  gauge(scope: MetricScope, name: string, value: number): void {
    this.#add('gauge', scope, name, Math.max(0, value));
  }

  /** A counter (`|c`): how many since the previous tick. */
  count(scope: MetricScope, name: string, delta: number): void {
    this.#add('count', scope, name, delta);
  }

  /** A timing (`|ms`), in milliseconds. */
  timing(scope: MetricScope, name: string, ms: number): void {
    this.#add('timing', scope, name, Math.max(0, ms));
  }

  get size(): number {
    return this.#entries.length;
  }

  /**
   * Write every entry to `client`, then flush it. Returns the first error a client call threw
   * (hot-shots throws only in odd states, e.g. a cached DNS error with no handler); never throws.
   */
  send(client: StatsD): Error | undefined {
    let failure: Error | undefined;
    for (const entry of this.#entries) {
      try {
        write(client, entry);
      } catch (err) {
        failure ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    try {
      client.flush();
    } catch (err) {
      failure ??= err instanceof Error ? err : new Error(String(err));
    }
    this.#entries.length = 0;
    return failure;
  }

  #add(kind: Kind, scope: MetricScope, name: string, value: number): void {
    if (!Number.isFinite(value)) return;
    this.#entries.push({ kind, name: sanitizePath(joinName(scope.prefix, name)), value: round(value), tags: scope.tags });
  }
}

function write(client: StatsD, { kind, name, value, tags }: Entry): void {
  const hasTags = Object.keys(tags).length > 0;
  if (typeof value === 'string') return writeDigits(client, kind, name, value, hasTags ? tags : undefined);
  switch (kind) {
    case 'gauge':
      if (hasTags) client.gauge(name, value, tags);
      else client.gauge(name, value);
      return;
    case 'count':
      if (hasTags) client.increment(name, value, tags);
      else client.increment(name, value);
      return;
    case 'timing':
      if (hasTags) client.timing(name, value, tags);
      else client.timing(name, value);
      return;
  }
}

/**
 * A value written as its digits. hot-shots puts a string on the line as it is; `increment` takes
 * a value that is no number for its tags unless a sample rate (here none) follows it.
 */
function writeDigits(client: StatsD, kind: Kind, name: string, digits: string, tags: MetricTags | undefined): void {
  const value = digits as unknown as number;
  if (kind === 'gauge') client.gauge(name, value, undefined, tags);
  else if (kind === 'count') client.increment(name, value, undefined, tags);
  else client.timing(name, value, undefined, tags);
}

/**
 * At most 3 decimals, so values never print in exponent notation (`1e-7` and `1e+21` are not
 * valid in the statsd line protocol) and lines stay short. From 1e21 up, where a JavaScript
 * number prints with an exponent, the value is given as its digits; past 2^53 the decimals are
 * gone already, and multiplying by 1000 could overflow (to Infinity).
 */
export function round(value: number): number | string {
  if (Math.abs(value) >= 1e21) return digits(value);
  if (Math.abs(value) >= 2 ** 53) return value;
  const rounded = Math.round(value * 1000) / 1000;
  return Math.abs(rounded) < 0.001 ? 0 : rounded;
}

/**
 * The shortest digits of `value` (|value| >= 1e21, an integer), without the exponent
 * `String(value)` has: `2.5e+22` → `25000000000000000000000` (not BigInt's exact binary value,
 * `24999999999999997902848`).
 */
function digits(value: number): string {
  const [mantissa = '', exponent = '0'] = String(value).split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  return whole + fraction.padEnd(Number(exponent), '0');
}
