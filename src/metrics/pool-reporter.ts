/**
 * `PoolReporter`: the parent's view of a pool, sent to statsd every interval — queue, tasks in
 * flight, throughput, restarts and crashes, task wait and run times, and every worker's CPU and
 * RSS measured from outside with pidusage (so a worker whose loop is blocked is still measured).
 */
import type { StatsD } from 'hot-shots';
import type { WorkerExitInfo, WorkerInfo } from '../parent/events.ts';
import { MetricBatch } from './batch.ts';
import { readPoolReporterOptions } from './option-checks.ts';
import { MetricSources, type MetricSource } from './metric-source.ts';
import { SYSTEM_CLOCK, Ticker, type Clock } from './clock.ts';
import { poolScope, workerScope, type MetricScope } from './names.ts';
import { ProcessProbe, pidusageReader, type ProcessUsage } from './process-probe.ts';
import { reportOnce, stderrSink, type ErrorSink, type OnceSink } from './report-once.ts';
import { Reservoir } from './reservoir.ts';
import { isDelay } from '../internal/delay.ts';
import { DEFAULT_REPORT_INTERVAL, intervalError } from './resource-reporter.ts';

/** The part of `pool.stats()` the reporter reads. */
export interface PoolSnapshot {
  readonly queued: number;
  readonly inFlight: number;
  readonly done: number;
  readonly failed: number;
  readonly restarts: number;
  readonly handedBack: number;
  readonly workers: readonly { readonly worker: number; readonly pid: number; readonly state: string; readonly inFlight: number }[];
}

/**
 * What the reporter needs from a pool: snapshots and the worker lifecycle events. `Pool` fits.
 * (It does not listen to `taskError`/`workerError`: a listener there would silence the pool's
 * stderr fallback for them.)
 */
export interface PoolSource {
  stats(): PoolSnapshot;
  on(event: 'workerStart', listener: (info: WorkerInfo) => void): unknown;
  on(event: 'workerExit', listener: (info: WorkerExitInfo) => void): unknown;
  off(event: 'workerStart', listener: (info: WorkerInfo) => void): unknown;
  off(event: 'workerExit', listener: (info: WorkerExitInfo) => void): unknown;
}

/** What the reporter uses of a {@link ProcessProbe} (tests pass their own). @internal */
export type ProbeLike = Pick<ProcessProbe, 'warmUp' | 'prime' | 'forget' | 'sample'>;

export interface PoolReporterOptions {
  /** The pool's name, used in metric names or tags. @default 'pool' */
  name?: string | undefined;
  /** Pool and worker number as tags (DogStatsD/Telegraf) instead of in the path. @default false */
  tags?: boolean | undefined;
  /** Milliseconds between reports. @default 10000 */
  interval?: number | undefined;
  /** Task timings kept per interval and per timing (a uniform sample beyond that). @default 100 */
  reservoirSize?: number | undefined;
  /** Gets the first error reading stats or sending threw (later ones are counted). @default a line on stderr */
  onError?: ErrorSink | undefined;
  /** @internal for tests */
  clock?: Clock | undefined;
  /** @internal for tests */
  probe?: ProbeLike | undefined;
  /** @internal for tests */
  random?: (() => number) | undefined;
}

/** Counters of events between two reports. */
interface Pending {
  crashes: number;
  timeouts: number;
  blockedLoops: number;
  blockedByWorker: Map<number, number>;
}

const emptyPending = (): Pending => ({ crashes: 0, timeouts: 0, blockedLoops: 0, blockedByWorker: new Map() });

/**
 * Reports a pool from the parent. Never throws once constructed; one batch per interval; timers
 * unref'd. The pool calls `recordTask` per settled task, `countTimeout` and `countBlockedLoop`
 * when those happen; everything is aggregated and sent at the next tick.
 */
export class PoolReporter {
  readonly #statsd: StatsD;
  readonly #pool: PoolSource;
  readonly #name: string;
  readonly #tagged: boolean;
  readonly #scope: MetricScope;
  readonly #sources: MetricSources;
  readonly #ticker: Ticker;
  readonly #clock: Clock;
  readonly #probe: ProbeLike;
  readonly #onError: OnceSink;
  readonly #timings: Record<'wait' | 'run' | 'runFailed', Reservoir>;
  #pending = emptyPending();
  #last = { at: 0, done: 0, failed: 0, restarts: 0, handedBack: 0 };
  #listening = false;
  /** The last report asked for: reports go out one after the other, so one that waits for its readings is not overtaken. */
  #reporting: Promise<void> = Promise.resolve();

  /**
   * @throws {TypeError} when `interval` (ms, at most 2^31 - 1) or `reservoirSize` is not a positive
   * integer, for an unknown or null option, a `name` that is no pool name, a `tags` that is no boolean
   */
  constructor(statsd: StatsD, pool: PoolSource, options: PoolReporterOptions = {}) {
    const o = readPoolReporterOptions(options); // each option read once: what is checked is what is used
    const interval = o.interval ?? DEFAULT_REPORT_INTERVAL;
    if (!isDelay(interval, 1)) throw new TypeError(intervalError(interval));
    const size = positiveInteger('reservoirSize', o.reservoirSize ?? 100);
    this.#statsd = statsd;
    this.#pool = pool;
    this.#name = o.name ?? 'pool';
    this.#tagged = o.tags ?? false;
    this.#scope = poolScope(this.#name, this.#tagged);
    this.#clock = o.clock ?? SYSTEM_CLOCK;
    // pidusage forgets a pid after `maxage` without readings; keep it across a few slow ticks (capped: process-probe.ts).
    this.#probe = o.probe ?? new ProcessProbe(pidusageReader(Math.max(60_000, interval * 3)));
    const sink = o.onError ?? stderrSink('PoolReporter');
    this.#onError = reportOnce(sink);
    this.#sources = new MetricSources(sink);
    const random = o.random ?? Math.random;
    this.#timings = { wait: new Reservoir(size, random), run: new Reservoir(size, random), runFailed: new Reservoir(size, random) };
    this.#ticker = new Ticker(this.#clock, interval, () => this.report());
  }

  /** Listen to the pool, take a first reading of every worker, and report every interval. */
  start(): void {
    if (this.#ticker.isRunning) return;
    this.#listen(true);
    const stats = this.#stats();
    this.#last = { at: this.#clock.now(), done: stats?.done ?? 0, failed: stats?.failed ?? 0, restarts: stats?.restarts ?? 0, handedBack: stats?.handedBack ?? 0 };
    void this.#probe.warmUp(); // pidusage's costly first call, before the first tasks (process-probe.ts)
    for (const w of stats?.workers ?? []) if (w.pid > 0) void this.#probe.prime(w.pid);
    this.#ticker.start();
  }

  /** Stop the timer and the listeners (no final report: `await report()` first if you want one). */
  stop(): void {
    this.#ticker.stop();
    this.#listen(false);
  }

  /**
   * One settled task: `waitMs` from `put` to dispatch, `runMs` from dispatch to its answer,
   * `ok` false if it failed. Aggregated; nothing is sent per task.
   */
  recordTask(waitMs: number, runMs: number, ok: boolean): void {
    this.#timings.wait.add(waitMs);
    (ok ? this.#timings.run : this.#timings.runFailed).add(runMs);
  }

  /** A task timed out. */
  countTimeout(): void {
    this.#pending.timeouts++;
  }

  /** Worker `worker`'s event loop was blocked past the threshold. */
  countBlockedLoop(worker: number): void {
    this.#pending.blockedLoops++;
    this.#pending.blockedByWorker.set(worker, (this.#pending.blockedByWorker.get(worker) ?? 0) + 1);
  }

  /**
   * Add per-interval metrics reported under the pool's scope (e.g. a queue consumer's counters).
   * Returns a function that removes the source.
   */
  addSource(source: MetricSource): () => void {
    return this.#sources.add(source);
  }

  /**
   * Measure and send one batch now (the interval since the previous report). Never rejects. Each
   * source is read on its own (a throw costs only its figures), and whatever else fails, what was
   * collected is still sent: the interval's counters (crashes, timeouts) are taken at the start,
   * and a batch thrown away would lose them for good.
   */
  report(): Promise<void> {
    // A stop's last report waits for a tick's that still waits for pidusage (many pools read one
    // at a time): that one went out after the client had closed ("Not running" on stderr).
    this.#reporting = this.#reporting.then(() => this.#report());
    return this.#reporting;
  }

  async #report(): Promise<void> {
    const batch = new MetricBatch();
    try {
      await this.#collect(batch);
    } catch (err) {
      this.#onError(err);
    }
    const failure = batch.send(this.#statsd);
    if (failure) this.#onError(failure);
  }

  async #collect(batch: MetricBatch): Promise<void> {
    const stats = this.#stats();
    this.#addEvents(batch);
    this.#sources.addFigures(batch, this.#scope);
    this.#addTimings(batch);
    if (!stats) return;
    this.#addStats(batch, stats);
    const pids = stats.workers.filter((w) => w.pid > 0 && w.state !== 'exited').map((w) => w.pid);
    this.#addUsage(batch, stats, await this.#probe.sample(pids));
  }

  #addStats(batch: MetricBatch, stats: PoolSnapshot): void {
    const now = this.#clock.now();
    const seconds = (now - this.#last.at) / 1000;
    const done = Math.max(0, stats.done - this.#last.done);
    const s = this.#scope;
    batch.gauge(s, 'workers', stats.workers.filter((w) => w.state === 'ready').length);
    batch.gauge(s, 'queued', stats.queued);
    batch.gauge(s, 'in_flight', stats.inFlight);
    batch.count(s, 'tasks.done', done);
    batch.count(s, 'tasks.failed', Math.max(0, stats.failed - this.#last.failed));
    batch.gauge(s, 'throughput', seconds > 0 ? done / seconds : 0);
    batch.count(s, 'restarts', Math.max(0, stats.restarts - this.#last.restarts));
    batch.count(s, 'tasks.handed_back', Math.max(0, stats.handedBack - this.#last.handedBack));
    this.#last = { at: now, done: stats.done, failed: stats.failed, restarts: stats.restarts, handedBack: stats.handedBack };
    for (const w of stats.workers) batch.gauge(this.#worker(w.worker), 'in_flight', w.inFlight);
  }

  #addEvents(batch: MetricBatch): void {
    const p = this.#pending;
    this.#pending = emptyPending();
    batch.count(this.#scope, 'crashes', p.crashes);
    batch.count(this.#scope, 'timeouts', p.timeouts);
    batch.count(this.#scope, 'blocked_loops', p.blockedLoops);
    for (const [worker, n] of p.blockedByWorker) batch.count(this.#worker(worker), 'blocked_loops', n);
  }

  /** Each timing as up to `reservoirSize` `|ms` lines (statsd computes the percentiles) plus the exact max as a gauge. */
  #addTimings(batch: MetricBatch): void {
    const names = { wait: 'task.wait', run: 'task.run', runFailed: 'task.run_failed' } as const;
    for (const key of ['wait', 'run', 'runFailed'] as const) {
      const { samples, count, max } = this.#timings[key].take();
      if (count === 0) continue;
      for (const ms of samples) batch.timing(this.#scope, names[key], ms);
      batch.gauge(this.#scope, `${names[key]}_max`, max);
    }
  }

  #addUsage(batch: MetricBatch, stats: PoolSnapshot, usage: ReadonlyMap<number, ProcessUsage>): void {
    let cpuTotal = 0;
    let cpuCount = 0;
    let rssTotal = 0;
    for (const w of stats.workers) {
      const u = usage.get(w.pid);
      if (!u) continue;
      const scope = this.#worker(w.worker);
      batch.gauge(scope, 'os.rss', u.rss);
      rssTotal += u.rss;
      if (u.cpu === undefined) continue;
      batch.gauge(scope, 'os.cpu', u.cpu);
      cpuTotal += u.cpu;
      cpuCount++;
    }
    batch.gauge(this.#scope, 'os.rss_total', rssTotal);
    if (cpuCount > 0) {
      batch.gauge(this.#scope, 'os.cpu_total', cpuTotal);
      batch.gauge(this.#scope, 'os.cpu_mean', cpuTotal / cpuCount);
    } else if (!stats.workers.some((w) => w.pid > 0 && w.state !== 'exited')) {
      // No worker runs (a stop's last report): nothing uses CPU. Left unsent, statsd kept the last
      // figure, and a pool stopped while busy stayed at 65% on a dashboard, its alarm firing.
      batch.gauge(this.#scope, 'os.cpu_total', 0);
      batch.gauge(this.#scope, 'os.cpu_mean', 0);
    }
  }

  #worker(n: number): MetricScope {
    return workerScope(this.#name, n, this.#tagged);
  }

  #stats(): PoolSnapshot | undefined {
    try {
      return this.#pool.stats();
    } catch (err) {
      this.#onError(err);
      return undefined;
    }
  }

  readonly #onStart = (info: WorkerInfo): void => void this.#probe.prime(info.pid);

  readonly #onExit = (info: WorkerExitInfo): void => {
    this.#probe.forget(info.pid);
    if (!info.expected) this.#pending.crashes++;
  };

  #listen(on: boolean): void {
    if (on === this.#listening) return;
    this.#listening = on;
    try {
      if (on) {
        this.#pool.on('workerStart', this.#onStart);
        this.#pool.on('workerExit', this.#onExit);
      } else {
        this.#pool.off('workerStart', this.#onStart);
        this.#pool.off('workerExit', this.#onExit);
      }
    } catch (err) {
      this.#onError(err);
    }
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`Expected \`${name}\` to be an integer >= 1, got \`${String(value)}\` (${typeof value})`);
  return value;
}
