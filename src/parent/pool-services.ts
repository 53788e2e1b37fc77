/**
 * What a pool runs beside its workers when its options ask for it: Sentry, statsd metrics (with
 * the sources added through `addMetricSource`) and the control channel. Sentry and metrics start
 * before the workers (they report the start), the control channel once the workers are up; all
 * close after the workers are gone. Every pool also holds its instance number among the running
 * pools of its name in the process (pool-instances.ts), from its start until it is stopped.
 *
 * The control server is imported statically, though most pools never open one: as a lazy chunk
 * it split the loop-delay sampler, which the metrics share, into a file of its own, and every
 * `import 'looppool'` loaded one ES module more (about 1 ms) to save parsing 11 KB.
 */
import { startControlServer, type ControlledPool, type ControlServer } from '../control/server.ts';
import { startPoolMetrics, type PoolMetrics } from '../metrics/pool-metrics.ts';
import type { PoolSource } from '../metrics/pool-reporter.ts';
import { checkSource, type MetricSource } from '../metrics/metric-source.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import { SentryClient } from '../sentry/client.ts';
import { claimInstance, type PoolInstance } from '../internal/pool-instances.ts';
import type { WorkerInitExtras } from './worker-handle.ts';

export class PoolServices {
  readonly #options: ResolvedPoolOptions;
  /** The sources added through `addMetricSource`, each with its removal from the running reporter (once it runs). */
  readonly #metricSources = new Set<{ readonly source: MetricSource; remove?: (() => void) | undefined }>();
  #metrics: PoolMetrics | undefined;
  #control: ControlServer | undefined;
  #sentry: SentryClient | undefined;
  #instance: PoolInstance | undefined;

  constructor(options: ResolvedPoolOptions) {
    this.#options = options;
  }

  /** The pool's Sentry client once started; undefined without Sentry. */
  get sentry(): SentryClient | undefined {
    return this.#sentry;
  }

  /** The pool's metrics once started; undefined without `statsd`. */
  get metrics(): PoolMetrics | undefined {
    return this.#metrics;
  }

  /**
   * Start Sentry and metrics, before the workers, and take the pool's instance number; returns
   * what the workers' init carries for them. `facade`: the Pool, which its control server claims
   * the number for too.
   */
  async startBeforeWorkers(facade: PoolSource): Promise<WorkerInitExtras> {
    const o = this.#options;
    if (o.sentry) this.#sentry ??= SentryClient.open({ ...o.sentry, role: 'parent' });
    if (o.statsd) {
      this.#metrics = startPoolMetrics(facade, o.statsd, { name: o.name, interval: o.reportInterval });
      for (const added of this.#metricSources) added.remove = this.#metrics.pool.addSource(added.source);
    }
    // Taken last: a start that throws before this has its services left unclosed (pool-lifecycle.ts), which would keep the number.
    this.#instance ??= claimInstance(o.name, facade);
    if (this.#instance.others > 0) warnOfSharedName(o.name);
    return {
      ...(this.#metrics ? { metrics: this.#metrics.workerConfig } : {}),
      ...(this.#instance.instance > 1 ? { instance: this.#instance.instance } : {}),
    };
  }

  /** Open the control channel, when asked for; a channel that cannot open is a line on stderr, not a failed start. */
  async openControl(facade: ControlledPool): Promise<void> {
    const o = this.#options;
    if (!o.control) return;
    try {
      this.#control = await startControlServer(facade, { name: o.name });
    } catch (err) {
      process.stderr.write(`looppool ${o.name}: the control channel could not be opened: ${(err as Error).message}\n`);
    }
  }

  /** Report `source`'s metrics with the pool's (from now on, or from the start); returns its removal. */
  addMetricSource(source: MetricSource): () => void {
    checkSource(source);
    const added = { source, remove: this.#metrics?.pool.addSource(source) };
    this.#metricSources.add(added);
    return () => {
      this.#metricSources.delete(added);
      added.remove?.();
    };
  }

  /** The last metrics report, Sentry's queued events (up to 2 s; then its client closes), the control socket. Never rejects. */
  async close(): Promise<void> {
    await Promise.all([this.#metrics?.close(), this.#sentry?.close(2000), this.#control?.close()]);
    this.#instance?.release();
  }
}

/** The names already warned of: an application that starts a pool of a name beside another again and again hears it once. */
const warnedNames = new Set<string>();

/**
 * A pool started while another of its name runs in this process. `looppool ps` tells them apart
 * (`<name>@2`), but the metrics and Sentry events cannot: said once per name, as a process
 * warning (Node prints it on stderr, unless --no-warnings; 'warning' listeners get it too).
 */
function warnOfSharedName(name: string): void {
  if (warnedNames.has(name)) return;
  warnedNames.add(name);
  process.emitWarning(
    `Another pool named '${name}' is running in this process: their statsd metric names and Sentry tags are the same, so their figures and events mix. Give each pool its own \`name\` option.`,
    { type: 'LooppoolWarning', code: 'LOOPPOOL_DUPLICATE_NAME' },
  );
}
