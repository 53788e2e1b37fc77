/** What the main thread hands the watchdog thread (its `workerData`), and the clock both share. */

/** The watchdog thread's configuration. Plain data: it crosses the thread boundary by structured clone. */
export interface WatchdogThreadData {
  /** The pid of the parent at start; the process kills itself once it is re-parented or that pid is gone. */
  readonly parentPid: number;
  /** How often the thread checks the parent and the heartbeat, in ms. */
  readonly pollMs: number;
  /** Slot 0 holds the time of the main thread's last heartbeat ({@link now}); 0 until detection is armed. */
  readonly heartbeat: SharedArrayBuffer;
  /** A loop silent this long (ms) is blocked; `undefined`: no blocked-loop detection. */
  readonly blockedLoopThreshold: number | undefined;
  /** How long to wait for the main thread to pause before reporting without a stack, in ms. */
  readonly captureTimeoutMs: number;
  /** False when a debugger is attached or listening: the watchdog must not touch the inspector. */
  readonly captureStacks: boolean;
  /** Where to write one JSON line per report, if anywhere. */
  readonly reportFd: number | undefined;
  /** Post each report to the main thread too (for the `onReport` callback). */
  readonly postReports: boolean;
  /** Two Int32 slots, {@link HOLDS} and {@link EXITING}: how the main thread's exit waits for the thread. */
  readonly control: SharedArrayBuffer;
}

/**
 * Slot of `control` the thread counts in: reports being made plus inspector sessions open to the
 * main thread. The main thread's exit waits (briefly) until it is 0: a session still open when the
 * process exits makes Node print "Waiting for the debugger to disconnect..." and wait for it.
 */
export const HOLDS = 0;
/** Slot of `control` the main thread sets to 1 as it exits: the thread opens no session from then on and ends those it has. */
export const EXITING = 1;

/**
 * Milliseconds on the process-wide monotonic clock (`process.hrtime`): the same in every
 * thread, and it never jumps with the wall clock.
 */
export function now(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}
