/**
 * The consumer's counters as a metrics source: the shape `ResourceReporter.addSource()` takes
 * (gauges now, counters since the previous call), without importing the metrics layer.
 */
import type { ConsumerStats } from './consumer-types.ts';

/** What a metrics reporter reads each interval. */
export interface ConsumerMetrics {
  readonly gauges: Readonly<Record<string, number>>;
  readonly counters: Readonly<Record<string, number>>;
}

const COUNTERS = ['taken', 'completed', 'failed', 'requeued'] as const;

/**
 * A function that, each time it is called, returns the consumer's gauges and its counters since
 * the previous call, named `bullmq.<queue>.…` (the queue's name with anything but letters,
 * digits, `_` and `-` turned into `_`):
 *
 * - counters `bullmq.<queue>.jobs.taken` / `.completed` / `.failed` / `.requeued`
 * - gauges `bullmq.<queue>.jobs.active`, `bullmq.<queue>.capacity`, `bullmq.<queue>.paused` (0 or 1)
 *
 * @example
 * ```ts
 * reporter.addSource(consumerMetricSource(consumer)); // under the pool's scope: <prefix>.<pool>.bullmq.<queue>.…
 * ```
 */
export function consumerMetricSource(consumer: { stats(): ConsumerStats }): () => ConsumerMetrics {
  let last = consumer.stats();
  const scope = `bullmq.${last.queue.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return () => {
    const now = consumer.stats();
    const counters: Record<string, number> = {};
    for (const name of COUNTERS) counters[`${scope}.jobs.${name}`] = now[name] - last[name];
    last = now;
    return {
      gauges: { [`${scope}.jobs.active`]: now.active, [`${scope}.capacity`]: now.capacity, [`${scope}.paused`]: now.paused ? 1 : 0 },
      counters,
    };
  };
}
