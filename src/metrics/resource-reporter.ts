/**
 * `ResourceReporter`: a process reporting on itself to statsd every interval — CPU, memory,
 * event-loop delay and utilisation, loop backlog — plus whatever gauges and counters its owner
 * adds (a worker adds its tasks). The Node analogue of looppool's `looppool.utility.ResourceReporter`,
 * usable on its own in any process.
 */
import type { StatsD } from 'hot-shots';
import { isDelay, MAX_DELAY_MS } from '../internal/delay.ts';
import { assertOptionsArgument, readOptions, show } from '../internal/option-checks.ts';
import { isStatsdClient } from './statsd.ts';
import { SYSTEM_CLOCK, Ticker, type Clock } from './clock.ts';
import { MetricBatch } from './batch.ts';
import { sanitizePath, sanitizeSegment, sanitizeTags, type MetricScope, type MetricTags } from './names.ts';
import { reportOnce, stderrSink, type ErrorSink, type OnceSink } from './report-once.ts';
import { ProcessSampler, type ProcessSample } from './samplers.ts';
import { MetricSources, type MetricSource } from './metric-source.ts';

export type { MetricSource, MetricSourceResult } from './metric-source.ts';

export interface ResourceReporterOptions {
  /** Milliseconds between reports. @default 10000 */
  interval?: number | undefined;
  /** Tags added to every metric (for DogStatsD/Telegraf), e.g. `{ pool: 'demo', worker: '3' }`. @default {} */
  tags?: MetricTags | undefined;
  /** Gets the first error a sampler or source threw (later ones are counted). @default a line on stderr */
  onError?: ErrorSink | undefined;
  /** @internal for tests */
  clock?: Clock | undefined;
  /** @internal for tests */
  sampler?: Pick<ProcessSampler, 'start' | 'sample' | 'stop'> | undefined;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['interval', 'tags', 'onError', 'clock', 'sampler']);

/**
 * What the constructor takes, checked before anything starts: a mistake here would only show as
 * missing metrics. Returns the options read once (readOptions): what is checked is what is used.
 */
function readArguments(statsd: unknown, prefix: unknown, options: unknown): ResourceReporterOptions {
  if (!isStatsdClient(statsd)) throw new TypeError(`Expected a statsd client (a hot-shots StatsD, or createStatsd()'s client: gauge, increment, timing and flush), got ${show(statsd)}`);
  if (typeof prefix !== 'string') throw new TypeError(`Expected the prefix to be a string (it may be ''), got ${show(prefix)}`);
  assertOptionsArgument(options);
  const read = readOptions(options, OPTION_KEYS) as ResourceReporterOptions;
  const { tags, onError } = read;
  if (tags !== undefined && (typeof tags !== 'object' || tags === null || Array.isArray(tags))) {
    throw new TypeError(`Expected \`tags\` to be an object of names and values such as { pool: 'images' }, got ${show(tags)}`);
  }
  if (onError !== undefined && typeof onError !== 'function') throw new TypeError(`Expected \`onError\` to be a function, got ${show(onError)}`);
  return read;
}

/** Default interval, ms (looppool's was 10 s too). */
export const DEFAULT_REPORT_INTERVAL = 10_000;

/** Most distinct resource types tracked, to bound the number of series a process can create. */
const MAX_RESOURCE_TYPES = 32;

/**
 * Reports the process it runs in to statsd, one batch per interval. Its timer is unref'd, it never
 * throws once constructed, and a statsd that is down changes nothing for the process.
 *
 * @example
 * ```ts
 * import StatsD from 'hot-shots';
 * const reporter = new ResourceReporter(new StatsD({ host: '127.0.0.1' }), 'myapp.api');
 * reporter.addSource(() => ({ gauges: { 'requests.open': server.connections } }));
 * reporter.start(); // myapp.api.cpu, myapp.api.rss, myapp.api.loop.delay_p99, ... every 10 s
 * ```
 */
export class ResourceReporter {
  readonly #statsd: StatsD;
  readonly #scope: MetricScope;
  readonly #ticker: Ticker;
  readonly #sampler: Pick<ProcessSampler, 'start' | 'sample' | 'stop'>;
  readonly #onError: OnceSink;
  readonly #sources: MetricSources;
  readonly #resourceTypes = new Set<string>();
  #started = false;

  /**
   * @param statsd a hot-shots client (see `createStatsd`).
   * @param prefix dot-separated name prefix of every metric (`''` for none), e.g. `demo.worker.3`.
   * @throws {TypeError} when `interval` is not an integer from 1 to 2^31 - 1 (ms).
   */
  /** @throws {TypeError} on a client that is no statsd client, a prefix that is no string, or a bad option */
  constructor(statsd: StatsD, prefix: string, options: ResourceReporterOptions = {}) {
    const o = readArguments(statsd, prefix, options);
    const interval = o.interval ?? DEFAULT_REPORT_INTERVAL;
    if (!isDelay(interval, 1)) throw new TypeError(intervalError(interval));
    this.#statsd = statsd;
    this.#scope = { prefix: sanitizePath(prefix), tags: sanitizeTags(o.tags ?? {}) };
    this.#sampler = o.sampler ?? new ProcessSampler();
    const sink = o.onError ?? stderrSink('ResourceReporter');
    this.#onError = reportOnce(sink);
    this.#sources = new MetricSources(sink);
    this.#ticker = new Ticker(o.clock ?? SYSTEM_CLOCK, interval, () => this.report());
  }

  get isRunning(): boolean {
    return this.#ticker.isRunning;
  }

  /** Start measuring and report every interval. Calling it again does nothing. */
  start(): void {
    if (this.#ticker.isRunning) return;
    this.#guard(() => this.#sampler.start());
    this.#started = true;
    this.#ticker.start();
  }

  /** Stop reporting (no final report: call `report()` first if you want one). */
  stop(): void {
    this.#ticker.stop();
    this.#guard(() => this.#sampler.stop());
  }

  /**
   * Add per-interval metrics, e.g. tasks in flight (a gauge) and tasks done since the last call
   * (a counter). Returns a function that removes the source.
   */
  addSource(source: MetricSource): () => void {
    return this.#sources.add(source);
  }

  /** Sample now and send one batch: the interval since the previous report (or `start()`). */
  report(): void {
    const batch = new MetricBatch();
    if (this.#started) {
      const sample = this.#guard(() => this.#sampler.sample());
      if (sample) this.#addSample(batch, sample);
    }
    this.#sources.addFigures(batch, this.#scope);
    const failure = batch.send(this.#statsd);
    if (failure) this.#onError(failure);
  }

  #addSample(batch: MetricBatch, sample: ProcessSample): void {
    const s = this.#scope;
    batch.gauge(s, 'cpu', sample.cpu);
    batch.gauge(s, 'rss', sample.rss);
    batch.gauge(s, 'heap_used', sample.heapUsed);
    batch.gauge(s, 'heap_total', sample.heapTotal);
    batch.gauge(s, 'external', sample.external);
    if (sample.loopDelay) {
      batch.gauge(s, 'loop.delay_mean', sample.loopDelay.mean);
      batch.gauge(s, 'loop.delay_p99', sample.loopDelay.p99);
      batch.gauge(s, 'loop.delay_max', sample.loopDelay.max);
    }
    batch.gauge(s, 'loop.utilization', sample.loopUtilization);
    this.#addResources(batch, sample.resources);
  }

  /** Gauges per resource type; a type seen before and gone now is sent as 0 (statsd keeps a gauge's last value). */
  #addResources(batch: MetricBatch, resources: ReadonlyMap<string, number>): void {
    let total = 0;
    const counts = new Map<string, number>();
    for (const [type, count] of resources) {
      total += count;
      const name = sanitizeSegment(type.toLowerCase());
      if (this.#resourceTypes.size < MAX_RESOURCE_TYPES) this.#resourceTypes.add(name);
      counts.set(name, (counts.get(name) ?? 0) + count);
    }
    for (const name of this.#resourceTypes) batch.gauge(this.#scope, `loop.resources.${name}`, counts.get(name) ?? 0);
    batch.gauge(this.#scope, 'loop.resources.total', total);
  }

  #guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.#onError(err);
      return undefined;
    }
  }
}

/** The error of a bad `interval` option (shared with PoolReporter). */
export function intervalError(interval: unknown): string {
  return `Expected \`interval\` to be an integer from 1 to ${MAX_DELAY_MS} (ms), got \`${String(interval)}\` (${typeof interval})`;
}
