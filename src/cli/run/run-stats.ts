/** What `looppool run` counts while it runs: for the progress display, the summary and `top`. */
import { Histogram } from './histogram.ts';

/** The summary `--json-summary` writes (also printed for people at the end of a run). */
export interface RunSummary {
  /** Input lines that got a record (blank lines excluded). */
  readonly tasks: number;
  readonly ok: number;
  readonly failed: number;
  /** Failures by error name (the worker's error name for task errors; `InputError` for bad lines). */
  readonly failures: Readonly<Record<string, number>>;
  /** Extra results streamed with putResult. */
  readonly extras: number;
  /**
   * Records the output took (one per task, ok or failed, and one per extra result): all of them
   * after a whole run; fewer when the output failed (a full disk, its reader gone), and then
   * `lastLineStarted` no longer says which lines have a record.
   */
  readonly written: number;
  readonly elapsedMs: number;
  /** Records per second over the run. */
  readonly throughput: number;
  /** Time a read line waited for a free slot in the pool, in ms. */
  readonly waitMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Time from handing a task to the pool to its result, in ms. */
  readonly runMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly restarts: number;
  /** The signal that stopped the run early, or null. */
  readonly signal: string | null;
  /** Number of the last input line that was started (every line up to it has a record), or 0. */
  readonly lastLineStarted: number;
  /**
   * True when input was left unread: the run ended before its input did (a stop request or a
   * closed output came first, or the input failed). A stop while the last tasks run leaves it false.
   */
  readonly stoppedEarly: boolean;
  readonly exitCode: number;
}

/** The counters and timings of one run. */
export class RunStats {
  readonly startedAt = performance.now();
  readonly wait = new Histogram();
  readonly run = new Histogram();
  readonly failures: Record<string, number> = Object.create(null) as Record<string, number>;
  /** Non-blank lines read, a line waiting for a free slot in the pool included. */
  read = 0;
  /** Non-blank lines started: handed to the pool, or given an input-error record. */
  started = 0;
  ok = 0;
  failed = 0;
  extras = 0;
  lastLineStarted = 0;
  /** Non-blank lines in the whole input, once known (end of input, or counted ahead for a file). */
  total: number | undefined;

  get finished(): number {
    return this.ok + this.failed;
  }

  fail(key: string): void {
    this.failed++;
    this.failures[key] = (this.failures[key] ?? 0) + 1;
  }

  summary(extra: { written: number; restarts: number; signal: string | null; stoppedEarly: boolean; exitCode: number }): RunSummary {
    const elapsedMs = performance.now() - this.startedAt;
    return {
      tasks: this.finished,
      ok: this.ok,
      failed: this.failed,
      failures: { ...this.failures },
      extras: this.extras,
      written: extra.written,
      elapsedMs: Math.round(elapsedMs),
      throughput: elapsedMs > 0 ? Math.round((this.finished * 1000 * 10) / elapsedMs) / 10 : 0,
      waitMs: this.wait.summary(),
      runMs: this.run.summary(),
      restarts: extra.restarts,
      signal: extra.signal,
      lastLineStarted: this.lastLineStarted,
      stoppedEarly: extra.stoppedEarly,
      exitCode: extra.exitCode,
    };
  }
}
