/**
 * What a command prints about the pool's workers while it runs (stderr, or above the progress
 * display): a worker that exited unexpectedly, an error that escaped a worker's tasks, and an
 * event loop blocked past `--blocked-threshold`.
 */
import type { Pool, WorkerExitInfo } from '../../index.ts';

/** How a notice says a worker ended, by the pool's reason (a stop or a recycle prints none). */
const ENDED: Readonly<Record<WorkerExitInfo['reason'], string>> = {
  crash: 'exited unexpectedly',
  error: 'exited: an error escaped its tasks',
  timeout: 'was killed: a task blocked its event loop past its timeout',
  protocol: 'was killed: it sent a message the pool could not read',
  stop: 'stopped',
  recycle: 'was recycled',
};

/** Print the pool's worker notices through `log`; `started()` is false while the pool starts (its failures are reported once, as the start's error). */
export function printPoolNotices(pool: Pool<unknown, unknown>, log: (text: string) => void, started: () => boolean): void {
  pool.on('workerExit', (info) => {
    if (info.expected || !started()) return;
    const cause = info.startError?.cause;
    // A replacement that failed to start: why (a restart loop said only "exited unexpectedly" each time).
    if (info.startError) log(`worker ${info.worker} (pid ${info.pid}) failed to start (${info.startError.stage}): ${cause instanceof Error ? `${cause.name}: ${cause.message}` : info.startError.message}`);
    else log(`worker ${info.worker} (pid ${info.pid}) ${ENDED[info.reason]} (${info.signal ?? `exit code ${info.exitCode}`})`);
  });
  pool.on('workerError', (error, info) => log(`worker ${info.worker} (pid ${info.pid}) ${info.origin}: ${error.stack ?? error.message}`));
  pool.on('loopBlocked', (info) =>
    log(`worker ${info.worker} (pid ${info.pid}) event loop blocked for ${info.blockedMs} ms at\n${info.stack || `  (no stack: ${info.stackUnavailable ?? 'unknown'})`}`),
  );
}
