/** How a `looppool run --bullmq` ends, and the exit code each ending gives. */
import { EXIT, exitCodeForSignal } from '../exit-codes.ts';

/** Why a consuming run ends. */
export type ConsumeEndReason =
  | { readonly kind: 'signal'; readonly signal: NodeJS.Signals }
  | { readonly kind: 'maxJobs' }
  | { readonly kind: 'output'; readonly error: NodeJS.ErrnoException }
  | { readonly kind: 'closed' };

/** 128 + signal; 0 after `--max-jobs` with no failed attempt (or when stdout's reader left), else 1. */
export function consumeExitCode(reason: ConsumeEndReason, failed: number): number {
  switch (reason.kind) {
    case 'signal':
      return exitCodeForSignal(reason.signal);
    case 'output':
      return reason.error.code === 'EPIPE' ? EXIT.OK : EXIT.FAILED;
    case 'closed':
      return EXIT.FAILED;
    case 'maxJobs':
      return failed > 0 ? EXIT.FAILED : EXIT.OK;
  }
}

/**
 * What became of the jobs in flight at a stop: finished (a drain), put back (a forced stop), or,
 * when a forced stop found Redis down, `held` of them left active.
 */
export function inFlightFate(forced: boolean, held: number): string {
  if (!forced) return 'the jobs in flight finished';
  if (held === 0) return 'the jobs in flight went back to the queue';
  return `${held} job${held === 1 ? '' : 's'} in flight could not be put back (Redis did not answer): they stay active in Redis until their lock expires, and BullMQ's stalled-job check then puts them back`;
}
