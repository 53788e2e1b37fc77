/** The `looppool` command's exit codes (documented in manual/cli.md), the signals that stop it, and the usage error. */
import os from 'node:os';

/** Exit codes of every `looppool` command. */
export const EXIT = Object.freeze({
  /** Every task succeeded (or `stop`/`ps`/`top` did what was asked). */
  OK: 0,
  /** At least one input line ended with an error record (or `stop` timed out). */
  FAILED: 1,
  /** Bad usage: unknown flag, bad value, missing or rejected worker module, a module without a Worker. */
  USAGE: 2,
  /** The pool could not start: the module loaded but `initialize()` failed or a worker died while starting. */
  START: 3,
  /** A bug in looppool itself. */
  INTERNAL: 70,
  /** Stopped by a hang-up: the terminal closed or the SSH session dropped. */
  SIGHUP: 129,
  SIGINT: 130,
  SIGTERM: 143,
});

/**
 * The signals that stop `looppool run` and `looppool enqueue` (first one: drain; second: at once),
 * each exiting with 128 + its number. SIGHUP too, which a shell sends its jobs when its terminal
 * closes or its SSH session drops: by default it killed the command at once, with no record for
 * the tasks in flight, no note of where to resume and the control socket left behind.
 */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = Object.freeze(['SIGINT', 'SIGTERM', 'SIGHUP']);

/** 128 + the signal's number, as shells report a death by signal. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 0);
}

/** A mistake of the person typing the command: printed as one line, exit code 2. */
export class UsageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.USAGE) {
    super(message);
    this.name = 'UsageError';
    this.exitCode = exitCode;
  }
}
