/**
 * Incidents the parent reports beyond a task's own promise: blocked loops (event, stderr,
 * statsd, Sentry), worker crashes and task timeouts (Sentry). One place, so every path reports
 * the same way.
 */
import { WorkerCrashedError, type TaskTimeoutError } from '../errors.ts';
import type { PoolMetrics } from '../metrics/pool-metrics.ts';
import { formatBlockedStack, type LoopBlockedReport } from '../protocol/watchdog-report.ts';
import { captureBlockedLoop, captureCrash, captureStartFailure, captureTimeout } from '../sentry/capture.ts';
import type { SentryClient } from '../sentry/client.ts';
import type { LoopBlockedInfo } from './events.ts';
import type { ExitDetails } from './supervisor.ts';
import type { PendingTask } from './task.ts';
import type { WorkerHandle } from './worker-handle.ts';

/** Where incidents go: the pool's events (or stderr when nobody listens) and its metrics. */
export interface IncidentSink {
  readonly name: string;
  emitLoopBlocked(info: LoopBlockedInfo): boolean;
  metrics(): PoolMetrics | undefined;
  /** The pool's Sentry client; undefined without Sentry. */
  sentry(): SentryClient | undefined;
}

/** A worker's last blocked-loop report, and what tells whether it explains a later timeout. */
interface BlockedEpisode {
  readonly report: LoopBlockedReport;
  /** The tasks the worker held when the report came: the block held them up. */
  readonly taskIds: ReadonlySet<number>;
  /** True while nothing has come from the worker since the report. */
  readonly quiet: () => boolean;
}

export class Incidents {
  readonly #sink: IncidentSink;
  /** Each worker's last blocked-loop report, attached to a later timeout's Sentry event when it explains it. */
  readonly #lastBlocked = new WeakMap<WorkerHandle, BlockedEpisode>();

  constructor(sink: IncidentSink) {
    this.#sink = sink;
  }

  /** `quiet()`: true while nothing has come from the worker since the report (see `HandleEvents`). */
  loopBlocked(h: WorkerHandle, report: LoopBlockedReport, quiet: () => boolean): void {
    const taskIds = h.tasks.ids();
    this.#lastBlocked.set(h, { report, taskIds: new Set(taskIds), quiet });
    const stack = formatBlockedStack(report.frames);
    const info: LoopBlockedInfo = {
      worker: h.number, pid: h.pid, blockedMs: report.blockedMs, frames: report.frames, stack,
      ...(report.stackUnavailable ? { stackUnavailable: report.stackUnavailable } : {}),
    };
    this.#sink.metrics()?.pool.countBlockedLoop(h.number);
    captureBlockedLoop(this.#sink.sentry(), report, { ...this.#tags(h), taskIds });
    if (this.#sink.emitLoopBlocked(info)) return;
    const where = stack || `  (no stack: ${report.stackUnavailable ?? 'unknown'})`;
    process.stderr.write(`looppool ${this.#sink.name}: worker ${h.number} (pid ${h.pid}) event loop blocked for ${report.blockedMs} ms at\n${where}\n`);
  }

  /** A worker died unexpectedly (crash or protocol breach), or failed its start (a start timeout too). */
  crashed(h: WorkerHandle, details: ExitDetails): void {
    if (details.reason === 'stop' || details.reason === 'recycle') return;
    if (h.initError) return void captureStartFailure(this.#sink.sentry(), h.initError, { ...this.#tags(h), stage: h.initError.stage }); // with its cause: the worker's error
    if (details.reason !== 'crash' && details.reason !== 'protocol') return;
    const { exitCode, signal } = details;
    captureCrash(this.#sink.sentry(), new WorkerCrashedError({ worker: h.number, pid: h.pid, exitCode, signal }), { ...this.#tags(h), exitCode, signal });
  }

  timedOut(h: WorkerHandle, task: PendingTask, error: TaskTimeoutError): void {
    captureTimeout(this.#sink.sentry(), error, { ...this.#tags(h), taskId: task.id, attempt: task.attempt, timeoutMs: task.timeout }, this.#blockBehind(h, task, error));
  }

  /**
   * The worker's last blocked-loop report when it explains this timeout: the block was reported
   * while the task was on the worker (it held the task up), or it is still going on (the worker
   * did not answer the timeout's ping, and nothing has come from it since the report). A block
   * that was over before the task was sent explains nothing.
   */
  #blockBehind(h: WorkerHandle, task: PendingTask, error: TaskTimeoutError): LoopBlockedReport | undefined {
    const episode = this.#lastBlocked.get(h);
    if (episode === undefined) return undefined;
    const goesOn = error.phase === 'hard' && episode.quiet();
    return goesOn || episode.taskIds.has(task.id) ? episode.report : undefined;
  }

  #tags(h: WorkerHandle): { pool: string; worker: number; pid: number } {
    return { pool: this.#sink.name, worker: h.number, pid: h.pid };
  }
}
