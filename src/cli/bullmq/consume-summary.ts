/** The end-of-run summary of `looppool run --bullmq`, for people (stderr) and as JSON (`--json-summary`). */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ConsumerStats } from '../../bullmq/index.ts';
import { count, formatMs, formatRate } from '../format.ts';
import type { RunStats } from '../run/run-stats.ts';

/** What `--json-summary` writes for a consuming run. */
export interface ConsumeSummary {
  readonly queue: string;
  /** Job attempts that finished here (a retried job counts once per attempt): completed + failed. */
  readonly jobs: number;
  readonly completed: number;
  readonly failed: number;
  /** Failed attempts by the name of the error the task failed with. */
  readonly failures: Readonly<Record<string, number>>;
  /** Jobs put back in the queue untouched (a forced stop, an unhealthy pool). */
  readonly requeued: number;
  /**
   * Jobs this run took that it neither finished nor put back: still active in Redis when it ended
   * (Redis did not take their result or their put-back, or their lock was lost), until the
   * stalled-job check puts them back.
   */
  readonly leftActive: number;
  /** Results tasks streamed (`ctx.putResult`, `this.putResult`): one record each. */
  readonly extras: number;
  /** Records the output took (one per finished attempt, and one per extra result): fewer only when the output failed. */
  readonly written: number;
  readonly elapsedMs: number;
  /** Finished attempts per second over the run. */
  readonly throughput: number;
  /** From the job being added to the queue to this pool taking it, in ms (earlier attempts included). */
  readonly waitMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** From taking the job to its task settling, in ms. */
  readonly runMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly restarts: number;
  /** The signal that stopped the run, or null. */
  readonly signal: string | null;
  readonly exitCode: number;
}

/** Build the summary from the run's counters and the consumer's. */
export function consumeSummary(stats: RunStats, consumer: ConsumerStats, extra: { written: number; restarts: number; signal: string | null; exitCode: number; leftActive: number }): ConsumeSummary {
  const s = stats.summary({ ...extra, stoppedEarly: false });
  return {
    queue: consumer.queue,
    jobs: s.tasks,
    completed: s.ok,
    failed: s.failed,
    failures: s.failures,
    requeued: consumer.requeued,
    leftActive: extra.leftActive,
    extras: s.extras,
    written: s.written,
    elapsedMs: s.elapsedMs,
    throughput: s.throughput,
    waitMs: s.waitMs,
    runMs: s.runMs,
    restarts: s.restarts,
    signal: s.signal,
    exitCode: s.exitCode,
  };
}

/** Two lines for stderr. */
export function formatConsumeSummary(name: string, s: ConsumeSummary): string {
  const failures = Object.entries(s.failures)
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key} ${n}`)
    .join(', ');
  return (
    `looppool ${name}: ${count(s.jobs, 'job')} from queue ${s.queue} in ${(s.elapsedMs / 1000).toFixed(1)} s (${formatRate(s.throughput)}): ` +
    `${s.completed} completed, ${s.failed} failed${failures ? ` (${failures})` : ''}, ${s.requeued} requeued` +
    (s.leftActive > 0 ? `, ${s.leftActive} left active` : '') +
    (s.extras > 0 ? `, ${count(s.extras, 'extra result')}` : '') + '\n' +
    `  queue wait p50 ${formatMs(s.waitMs.p50)}, p99 ${formatMs(s.waitMs.p99)} · run p50 ${formatMs(s.runMs.p50)}, p99 ${formatMs(s.runMs.p99)} · ${count(s.restarts, 'restart')}\n`
  );
}

/** Where the summary goes: `json` is `--json-summary` (a file, `-` for stderr, or undefined). */
export interface ConsumeSummaryTarget {
  readonly name: string;
  readonly json: string | undefined;
  readonly quiet: boolean;
  readonly cwd: string;
  readonly stderr: NodeJS.WritableStream;
}

/** Write the summary where it was asked for; resolves with an error message if the file failed. */
export async function writeConsumeSummary(summary: ConsumeSummary, to: ConsumeSummaryTarget): Promise<string | undefined> {
  if (to.json === '-') {
    to.stderr.write(`${JSON.stringify(summary)}\n`);
    return undefined;
  }
  if (!to.quiet) to.stderr.write(formatConsumeSummary(to.name, summary));
  if (to.json === undefined) return undefined;
  try {
    await writeFile(path.resolve(to.cwd, to.json), `${JSON.stringify(summary, null, 2)}\n`);
    return undefined;
  } catch (err) {
    return `cannot write --json-summary ${to.json}: ${(err as Error).message}`;
  }
}
