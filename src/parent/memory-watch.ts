/**
 * maxMemoryPerWorker, watched from outside the workers: every `memoryCheckInterval` the RSS of
 * the workers the supervisor names is sampled (a worker whose loop is blocked is measured too),
 * and each one over the limit goes back to the supervisor, which recycles it. Workers over the
 * limit from their first sample, again and again, make the pool warn once: the limit looks too low.
 */
import { readUsage } from '../metrics/process-probe.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import type { WorkerHandle } from './worker-handle.ts';

/** Workers over `maxMemoryPerWorker` at their first sample, in a row, before the pool warns that the limit looks too low. */
const FIRST_SAMPLE_OVERS = 3;

/** What the watch asks of the supervisor. */
export interface MemoryWatchHost {
  /** The workers to sample now. */
  sampled(): WorkerHandle[];
  /** `handle` was over the limit. */
  over(handle: WorkerHandle): void;
}

export class MemoryWatch {
  readonly #options: ResolvedPoolOptions;
  readonly #host: MemoryWatchHost;
  #memoryTimer: NodeJS.Timeout | undefined;
  /** Pids whose RSS was sampled already, and workers in a row found over the limit at their first sample. */
  readonly #sampled = new Set<number>();
  #firstSampleOvers = 0;
  #memoryWarned = false;

  constructor(options: ResolvedPoolOptions, host: MemoryWatchHost) {
    this.#options = options;
    this.#host = host;
  }

  /** maxMemoryPerWorker: sample the RSS of every worker from outside (a blocked worker is measured too). */
  start(): void {
    const limit = this.#options.maxMemoryPerWorker;
    if (limit === Infinity) return;
    this.#memoryTimer = setInterval(() => {
      const ready = this.#host.sampled();
      if (ready.length === 0) return;
      readUsage(ready.map((h) => h.pid))
        .then((usage) => {
          for (const h of ready) {
            const over = (usage[h.pid]?.memory ?? 0) > limit;
            if (!this.#sampled.has(h.pid)) this.#firstSample(h.pid, over, limit);
            if (over) this.#host.over(h);
          }
        })
        .catch(() => {}); // a worker exited between listing and sampling: the next round sees the new one
    }, this.#options.memoryCheckInterval);
    this.#memoryTimer.unref();
  }

  stop(): void {
    clearInterval(this.#memoryTimer);
  }

  /**
   * A worker's first RSS sample. Workers over the limit from the start, again and again, are each
   * replaced at once, for ever, while the pool looks healthy: a limit below what a worker needs.
   * Said once, as a process warning (Node prints it on stderr, unless --no-warnings; 'warning' listeners get it too).
   */
  #firstSample(pid: number, over: boolean, limit: number): void {
    this.#sampled.add(pid);
    if (this.#sampled.size > 4 * this.#options.size) this.#sampled.delete(this.#sampled.values().next().value as number); // only recent pids matter
    this.#firstSampleOvers = over ? this.#firstSampleOvers + 1 : 0;
    if (this.#firstSampleOvers < FIRST_SAMPLE_OVERS || this.#memoryWarned) return;
    this.#memoryWarned = true;
    process.emitWarning(
      `${FIRST_SAMPLE_OVERS} workers in a row of pool '${this.#options.name}' were over maxMemoryPerWorker (${limit} bytes) at their first memory check: each is recycled at once. The limit may be below what a worker needs.`,
      { type: 'LooppoolWarning', code: 'LOOPPOOL_MEMORY_LIMIT' },
    );
  }
}
