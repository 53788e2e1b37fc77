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
  readonly value: number;
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
 * At most 3 decimals, so values never print in exponent notation (`1e-7` is not valid in the
 * statsd line protocol) and lines stay short.
 */
export function round(value: number): number {
  const rounded = Math.round(value * 1000) / 1000;
  return Math.abs(rounded) < 0.001 ? 0 : rounded;
}
