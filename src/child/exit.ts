/**
 * How a worker process ends, step by step; the runtime decides when (it keeps the state). A plain
 * Worker's stop abandons its tasks, `dispose()` runs, an error that escaped every task is reported
 * to the parent (and the process exits, unless the pool asked it to go on), and the exit sends
 * the last metrics report and flushes Sentry's events and what is queued for the parent first.
 */
import { closeTerminals } from '../internal/close-terminals.ts';
import type { IdTable } from '../internal/id-table.ts';
import type { WorkerMetrics } from '../metrics/worker-metrics.ts';
import type { UncaughtOrigin } from '../protocol/messages.ts';
import { serializeError } from '../protocol/serialized-error.ts';
import type { Channel } from '../transport/channel.ts';
import type { WorkerSentry } from './services.ts';
import type { RunQueue } from './run-queue.ts';
import { flushStdio } from './stdio-guard.ts';
import type { RuntimeTaskContext } from './task-context.ts';
import type { Worker } from './worker.ts';

/** Where an error that escaped every task was caught. */
export type EscapeOrigin = 'uncaughtException' | 'unhandledRejection';

/** A plain Worker's stop: every task it holds, started or waiting for its turn, is abandoned, then forgotten. Returns how many. */
export function abandonTasks(tasks: IdTable<RuntimeTaskContext>, runQueue: RunQueue<RuntimeTaskContext>, reason: Error): number {
  const abandoned = tasks.values();
  for (const ctx of abandoned) ctx.abort(reason); // its abort listeners may still put results
  for (const ctx of abandoned) ctx.end('stopped');
  tasks.clear();
  runQueue.clear();
  return abandoned.length;
}

/**
 * Say `stopped`, then run the worker's `dispose()`; an error it throws is reported (to the parent,
 * and to `captured`: Sentry), not thrown. `stopped` goes first, flushed, so that the parent takes
 * an exit 0 from here on for the stop's (a `dispose()` that ends with `process.exit()`), and one
 * before it for a crash (a task's `process.exit(0)` while a SafeWorker drains).
 */
export async function disposeWorker(channel: Channel, worker: Worker | undefined, captured: (err: unknown) => void): Promise<void> {
  channel.send({ kind: 'stopped' });
  channel.flush();
  try {
    await worker?.dispose();
  } catch (err) {
    reportUncaught(channel, err, 'dispose');
    captured(err);
  }
}

/** Tell the parent about an error outside any task (`channel`: undefined before the runtime started). */
export function reportUncaught(channel: Channel | undefined, err: unknown, origin: UncaughtOrigin, stopping = false): void {
  if (!channel?.isOpen) return;
  try {
    channel.send(stopping ? { kind: 'uncaught', error: serializeError(err), origin, stopping } : { kind: 'uncaught', error: serializeError(err), origin });
  } catch {
    // the report itself failed to encode: the exit code still tells the parent
  }
}

/**
 * Tell the parent about an error that escaped every task: before the worker is ready (`stage`:
 * where its start was) it fails the start, and the parent's start() rejects with it (the parent
 * reports that to Sentry); after, it is an escaped error.
 */
export function reportEscaped(channel: Channel | undefined, err: unknown, origin: EscapeOrigin, stage: 'load' | 'initialize' | undefined, stopping: boolean): void {
  if (stage === undefined) reportUncaught(channel, err, origin, stopping);
  else if (channel?.isOpen) channel.send({ kind: 'initFailed', error: serializeError(err), stage });
}

/**
 * Send the last metrics report, flush Sentry's events, what the worker wrote to stdout and stderr
 * (stdio-guard.ts) and what is queued for the parent, then exit with `code` (after 2 s at the
 * latest: a reader that stops reading cannot hold the exit). Every way out sends the last report, not only a
 * stop: a worker that exits after an escaped error would otherwise lose the tasks it finished in
 * its last interval (metrics sent on 'exit' are lost). After a stop, which closed them already,
 * closing the metrics again does nothing.
 */
export function exitProcess(code: number, channel: Channel, sentry: WorkerSentry | undefined, metrics: WorkerMetrics | undefined): void {
  process.exitCode = code;
  const exit = (): void => {
    closeTerminals(); // a worker that outlived its terminal would end in an abort, a crash to the pool
    process.exit(code);
  };
  const force = setTimeout(exit, 2000);
  force.unref();
  const flushed = Promise.all([metrics?.close(1000), sentry?.flush(1500), flushStdio()]);
  void flushed.then(() => channel.end(exit));
}
