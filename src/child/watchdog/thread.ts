/**
 * The watchdog thread of a worker process (a `worker_threads` Worker started by
 * `startWatchdog`). It runs on its own event loop, so it keeps working while the main thread is
 * stuck in a busy loop:
 * - every poll it checks that the parent still exists and, when it is gone, kills the whole
 *   process with SIGKILL (`process.exit()` here would only end this thread, and the main
 *   thread, which exits when its data channel closes, does not see it close while its loop is
 *   blocked);
 * - when a blocked-loop threshold is set, it watches the main thread's heartbeat and reports
 *   each blocked episode once, with the blocking stack;
 * - when the main thread exits, it ends its inspector sessions at once and sends the report it is
 *   making, without a stack (see `standDown` in start-watchdog.ts).
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { BLOCK_ENDED, captureMainThreadStack, CAPTURE_TIMED_OUT } from './capture-stack.ts';
import type { LoopBlockedReport } from '../../protocol/watchdog-report.ts';
import { StallDetector } from './stall-detector.ts';
import { EXITING, HOLDS, now, type WatchdogThreadData } from './thread-data.ts';

const data = workerData as WatchdogThreadData;
const heartbeat = new BigInt64Array(data.heartbeat);
const control = new Int32Array(data.control);
const detector = data.blockedLoopThreshold === undefined ? undefined : new StallDetector(data.blockedLoopThreshold);
let capturing = false;
const backoff = new Int32Array(new SharedArrayBuffer(4));
/** Aborted when the main thread exits: every inspector session is disconnected at once. */
const exiting = new AbortController();

// The interval must exist before anything is awaited: an inspector session does not keep this
// thread's event loop alive on its own.
setInterval(poll, data.pollMs);
parentPort?.on('message', (message: unknown) => message === 'standDown' && exiting.abort());
parentPort?.postMessage({ kind: 'watching' }); // startWatchdog's `watching`

function poll(): void {
  if (isParentGone()) process.kill(process.pid, 'SIGKILL');
  if (!detector || capturing || exiting.signal.aborted) return;
  const lastBeat = Number(Atomics.load(heartbeat, 0));
  if (lastBeat === 0) return; // not armed yet: the worker is still starting
  const blockedMs = detector.observe(lastBeat, now());
  if (blockedMs !== undefined) void reportBlocked(blockedMs, lastBeat);
}

/** Re-parented (the pid at start is compared, not 1: a subreaper may adopt us), or the parent pid is gone. */
function isParentGone(): boolean {
  if (process.ppid !== data.parentPid) return true;
  try {
    process.kill(data.parentPid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** @param lastBeat the heartbeat the block began after: a newer one means the loop ran again. */
async function reportBlocked(blockedMs: number, lastBeat: number): Promise<void> {
  capturing = true;
  const held = hold(); // the main thread's exit waits for the report
  try {
    // Once the main thread exits, its loop ran again: a pause landing then is not the block's.
    const stillBlocked = (): boolean => Number(Atomics.load(heartbeat, 0)) === lastBeat && Atomics.load(control, EXITING) === 0;
    send(await describeBlock(Math.round(blockedMs), stillBlocked));
  } finally {
    capturing = false;
    if (held) release();
  }
}

async function describeBlock(blockedMs: number, stillBlocked: () => boolean): Promise<LoopBlockedReport> {
  if (!data.captureStacks) return { kind: 'loopBlocked', blockedMs, frames: [], stackUnavailable: 'inspectorInUse' };
  // No session once the main thread exits: the block is over.
  if (!hold()) return { kind: 'loopBlocked', blockedMs, frames: [], stackUnavailable: 'blockEnded' };
  try {
    const frames = await captureMainThreadStack(data.captureTimeoutMs, stillBlocked, { signal: exiting.signal, onClosed: release });
    if (frames === CAPTURE_TIMED_OUT) return { kind: 'loopBlocked', blockedMs, frames: [], stackUnavailable: 'captureTimeout' };
    if (frames === BLOCK_ENDED) return { kind: 'loopBlocked', blockedMs, frames: [], stackUnavailable: 'blockEnded' };
    return { kind: 'loopBlocked', blockedMs, frames };
  } catch {
    return { kind: 'loopBlocked', blockedMs, frames: [], stackUnavailable: 'captureFailed' };
  }
}

/**
 * Count something the main thread's exit must wait for (a report, a session); false, and not
 * counted, once it exits. Counting before reading EXITING (and the main thread setting EXITING
 * before reading HOLDS) means that one of the two always sees the other.
 */
function hold(): boolean {
  Atomics.add(control, HOLDS, 1);
  if (Atomics.load(control, EXITING) === 0) return true;
  release();
  return false;
}

function release(): void {
  if (Atomics.sub(control, HOLDS, 1) === 1) Atomics.notify(control, HOLDS);
}

function send(report: LoopBlockedReport): void {
  if (data.reportFd !== undefined) writeLine(data.reportFd, `${JSON.stringify(report)}\n`);
  if (data.postReports) parentPort?.postMessage(report);
}

/** The pipe may be momentarily full (EAGAIN) or gone (EPIPE, EBADF): a report is never worth a crash. */
function writeLine(fd: number, line: string): void {
  const bytes = Buffer.from(line);
  let offset = 0;
  for (let attempt = 0; offset < bytes.length && attempt < 100; attempt++) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      Atomics.wait(backoff, 0, 0, 5);
    }
  }
}
