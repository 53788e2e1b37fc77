/**
 * Metric sources: the extra figures a reporter's owner adds to each report (a worker's tasks, a
 * queue consumer's counters, your own), and how a reporter reads one. Each source is read on its
 * own, so a source that fails costs only its own figures, never the rest of the report.
 */
import type { MetricBatch } from './batch.ts';
import type { MetricScope } from './names.ts';
import { reportOnce, type ErrorSink, type OnceSink } from './report-once.ts';

/** Extra metrics of one interval, from the reporter's owner. Names are relative to the reporter's prefix. */
export interface MetricSourceResult {
  /** Values now (sent as `|g`). */
  readonly gauges?: Readonly<Record<string, number>> | undefined;
  /** Increments since the previous call (sent as `|c`). */
  readonly counters?: Readonly<Record<string, number>> | undefined;
}

/**
 * Called once per tick; must be cheap, and synchronous: a promise (an `async` function's) has no
 * figures, and is reported once. A throw is reported once and skipped.
 */
export type MetricSource = () => MetricSourceResult | undefined;

/** @throws {TypeError} unless `source` is a function (what `addSource` takes; shared by both reporters and the pool). */
export function checkSource(source: unknown): void {
  if (typeof source !== 'function') throw new TypeError(`Expected the metric source to be a function returning { gauges, counters }, got \`${String(source)}\` (${typeof source})`);
}

/**
 * Add `source`'s figures of this interval to `batch`, under `scope`. What it throws (or a getter
 * of its result throws) goes to `onError` and costs only this source's figures: the caller has
 * often taken counters of the interval already (crashes, tasks done), which must still be sent.
 * A promise goes to `onError` too, as an error saying that sources are synchronous: a promise
 * has no figures, and nothing else would tell. Its rejection is caught, or it would be unhandled
 * in the process.
 */
function addSourceFigures(batch: MetricBatch, scope: MetricScope, source: MetricSource, onError: (error: unknown) => void): void {
  try {
    const result = source() ?? {};
    if (isThenable(result)) {
      onError(new TypeError('Expected the metric source to return { gauges, counters }, got a promise: sources are called synchronously each interval (not an async function), and its figures are not sent'));
      Promise.resolve(result).then(undefined, onError);
      return;
    }
    // Read whole before anything is added: a getter that throws half-way adds nothing.
    const gauges = Object.entries(result.gauges ?? {});
    const counters = Object.entries(result.counters ?? {});
    for (const [name, value] of gauges) batch.gauge(scope, name, value);
    for (const [name, value] of counters) batch.count(scope, name, value);
  } catch (err) {
    onError(err);
  }
}

/**
 * The sources a reporter reads each interval, each with its own "reported once": the first error
 * of every broken source is written out, not only the first of all (one broken source, or a
 * statsd that was down, silenced the rest).
 */
export class MetricSources {
  readonly #sink: ErrorSink;
  readonly #sources = new Map<MetricSource, OnceSink>();

  constructor(sink: ErrorSink) {
    this.#sink = sink;
  }

  /** Read `source` each interval from now on (once, however often it is added); returns its removal. */
  add(source: MetricSource): () => void {
    checkSource(source);
    if (!this.#sources.has(source)) this.#sources.set(source, reportOnce(this.#sink));
    return () => this.#sources.delete(source);
  }

  /** Every source's figures of this interval, into `batch`. */
  addFigures(batch: MetricBatch, scope: MetricScope): void {
    for (const [source, onError] of this.#sources) addSourceFigures(batch, scope, source, onError);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
