/**
 * Starts the watchdog thread of a worker process: it ends the process when the parent dies
 * (even while the main loop is blocked) and, with `blockedLoopThreshold`, reports blocked
 * episodes with the blocking stack. See `thread.ts` for what the thread does.
 */
import inspector from 'node:inspector';
import { Worker } from 'node:worker_threads';
import type { LoopBlockedReport } from '../../protocol/watchdog-report.ts';
import { EXITING, HOLDS, now, type WatchdogThreadData } from './thread-data.ts';
import { lowerNewThreadPriority, threadIds } from './thread-priority.ts';

/** How often the thread checks whether the parent is still there, in ms. */
export const PARENT_POLL_MS = 100;
/** How long the thread waits for the main thread to pause before reporting without a stack, in ms. */
export const CAPTURE_TIMEOUT_MS = 1_000;
/** At most this long, in ms, the process's exit waits for the thread to close its inspector session and send its report. */
export const STAND_DOWN_MS = 500;

/** Options of {@link startWatchdog}. */
export interface WatchdogOptions {
  /** The parent's pid, read at start-up (`process.ppid`); the process dies once it is re-parented or this pid is gone. */
  readonly parentPid: number;
  /** Report an event loop blocked at least this long, in ms (a positive integer); unset: no detection. */
  readonly blockedLoopThreshold?: number | undefined;
  /** A file descriptor to write each report to as one JSON line (e.g. a pipe to the parent). */
  readonly reportFd?: number | undefined;
  /**
   * The thread's module, the built `thread.js`: this module is bundled into the worker's entry,
   * which passes the URL (a thread cannot run the `.ts` source: even with `--import tsx` passed
   * on, Node 20 refused `thread.ts`).
   */
  readonly threadUrl: URL;
  /** Called on the main thread with each report, once the loop runs again (tests, in-process logging). */
  readonly onReport?: ((report: LoopBlockedReport) => void) | undefined;
  /**
   * `false`: blocked-loop detection waits for {@link Watchdog.arm} (a worker starts its watchdog
   * first thing and arms it once ready, so its start-up is never reported). The parent watch
   * runs from the start either way. @default true
   */
  readonly armed?: boolean | undefined;
}

/** How many times a failed watchdog thread is started again. */
const MAX_THREAD_RESTARTS = 3;
/** At most this long, in ms, `watching` waits for the thread (it boots at a lower priority). */
const WATCHING_WAIT_MS = 2_000;

/** A running watchdog. */
export interface Watchdog {
  /** Start blocked-loop detection, if it waits for this (`armed: false`); later calls do nothing. */
  arm(): void;
  /**
   * With a threshold: resolves once the thread polls (or failed to start, or after 2 s). A worker
   * waits for it before it says it is ready: a block in its first tasks that ended before the
   * thread, slowed by busy CPUs, first looked was never reported.
   */
  readonly watching: Promise<void>;
  /** Stand down (see {@link startWatchdog}), stop the heartbeat and end the thread. */
  stop(): Promise<void>;
}

/**
 * Start the watchdog thread. Cheap while the loop is healthy: one thread polling `process.ppid`
 * (on Linux at a lower CPU priority, so its boot mostly uses idle CPU) and a heartbeat timer
 * (unref'd) when `blockedLoopThreshold` is set; the debugger is enabled only for the few
 * milliseconds of a stack capture. With a threshold, the process's `'exit'` stands it down: the
 * thread opens no inspector session from then on, and the exit waits (at most
 * {@link STAND_DOWN_MS}) while it closes the one it has and sends the report it was making, without
 * a stack. Else Node, exiting with a session open, prints "Waiting for the debugger to
 * disconnect..." and the report is lost.
 * @example
 * const watchdog = startWatchdog({ parentPid: process.ppid, blockedLoopThreshold: 500, reportFd: 5, threadUrl: new URL('./watchdog/thread.js', import.meta.url) });
 * // ...
 * await watchdog.stop();
 */
export function startWatchdog(options: WatchdogOptions): Watchdog {
  const threshold = options.blockedLoopThreshold;
  if (threshold !== undefined && !(Number.isInteger(threshold) && threshold > 0)) {
    throw new RangeError(`Expected \`blockedLoopThreshold\` to be a positive integer, got \`${threshold}\``);
  }
  const pollMs = threshold === undefined ? PARENT_POLL_MS : clamp(Math.floor(threshold / 4), 10, PARENT_POLL_MS);
  const heartbeat = startHeartbeat(threshold === undefined ? undefined : pollMs);
  if (options.armed !== false) heartbeat.start();
  const control = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  const data: WatchdogThreadData = {
    parentPid: options.parentPid,
    pollMs,
    heartbeat: heartbeat.buffer,
    blockedLoopThreshold: threshold,
    captureTimeoutMs: CAPTURE_TIMEOUT_MS,
    captureStacks: !isDebuggerInUse(),
    reportFd: options.reportFd,
    postReports: options.onReport !== undefined,
    control: control.buffer as SharedArrayBuffer,
  };
  // A thread that fails (out of memory reading a stack, say) is started again: it is also what
  // ends this process when the parent dies where the kernel does not. A few times, not in a loop.
  let restarts = 0;
  let stopped = false;
  const start = (): ReturnType<typeof startThread> =>
    startThread(options.threadUrl, data, options.onReport, () => {
      Atomics.store(control, HOLDS, 0); // its sessions ended with it
      if (!stopped && restarts++ < MAX_THREAD_RESTARTS) current = start();
    });
  let current = start();
  const standDown = (): void => {
    Atomics.store(control, EXITING, 1);
    if (Atomics.load(control, HOLDS) === 0) return;
    current.thread.postMessage('standDown');
    waitForRelease(control, STAND_DOWN_MS);
  };
  if (threshold !== undefined) process.on('exit', standDown);
  return {
    arm: heartbeat.start,
    watching: threshold === undefined ? Promise.resolve() : current.watching,
    async stop(): Promise<void> {
      stopped = true;
      process.off('exit', standDown);
      standDown();
      heartbeat.stop();
      await current.thread.terminate();
    },
  };
}

/** The watchdog thread itself, unref'd (it never keeps the worker alive). */
function startThread(url: URL, data: WatchdogThreadData, onReport: WatchdogOptions['onReport'], onFailed: () => void): { thread: Worker; watching: Promise<void> } {
  // No execArgv: the thread is plain JavaScript and must not load the process's `--import` hooks
  // (tsx would slow its start and compile nothing it needs).
  // A small heap: the thread only polls and, rarely, reads a stack (a few MiB less per worker).
  const before = threadIds();
  const thread = new Worker(url, {
    workerData: data,
    execArgv: [],
    stdout: false,
    stderr: false,
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 1, codeRangeSizeMb: 4 },
  });
  lowerNewThreadPriority(before); // its boot must not take the CPU from the worker's first tasks
  thread.on('error', (err) => {
    process.emitWarning(`looppool watchdog thread failed: ${String(err)}`, 'LooppoolWarning');
    onFailed();
  });
  if (onReport) thread.on('message', (message: LoopBlockedReport | { kind: 'watching' }) => message.kind === 'loopBlocked' && onReport(message));
  const watching = whenWatching(thread);
  // After the listeners: adding a 'message' listener refs the thread's port again.
  thread.unref();
  return { thread, watching };
}

/** Resolves on the thread's first message ({@link Watchdog.watching}), its end, or after {@link WATCHING_WAIT_MS}. */
function whenWatching(thread: Worker): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, WATCHING_WAIT_MS).unref();
    const done = (): void => {
      clearTimeout(timer);
      thread.off('message', done).off('error', done).off('exit', done);
      resolve();
    };
    thread.on('message', done).on('error', done).on('exit', done);
  });
}

/**
 * The main thread's heartbeat: the time of its last beat in a shared slot, written by an
 * unref'd interval (it never keeps the process alive) once started. It beats several times per
 * threshold so a healthy loop is never taken for a blocked one. Without an interval it writes
 * once. Until it starts the slot holds 0, which the thread reads as "not armed".
 */
function startHeartbeat(intervalMs: number | undefined): { buffer: SharedArrayBuffer; start(): void; stop(): void } {
  const buffer = new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT);
  const slot = new BigInt64Array(buffer);
  const beat = (): void => {
    Atomics.store(slot, 0, BigInt(Math.round(now())));
  };
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  return {
    buffer,
    start: () => {
      if (started) return;
      started = true;
      beat();
      timer = intervalMs === undefined ? undefined : setInterval(beat, intervalMs);
      timer?.unref();
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * Block until the thread holds nothing ({@link HOLDS} is 0), at most `ms`. The thread's session
 * closes on this thread too: V8 interrupts the wait to run that, so it cannot deadlock.
 */
function waitForRelease(control: Int32Array, ms: number): void {
  const deadline = now() + ms;
  for (let held = Atomics.load(control, HOLDS); held !== 0; held = Atomics.load(control, HOLDS)) {
    const left = deadline - now();
    if (left <= 0) return;
    Atomics.wait(control, HOLDS, held, left);
  }
}

/** `--inspect*` in argv, or an inspector listening (e.g. from NODE_OPTIONS): leave the debugger alone. */
function isDebuggerInUse(): boolean {
  return process.execArgv.some((arg) => /^--(?:inspect|debug)/.test(arg)) || inspector.url() !== undefined;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
