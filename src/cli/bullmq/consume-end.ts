/** How a `looppool run --bullmq` ends, and the exit code each ending gives. */
import { EXIT, exitCodeForSignal } from '../exit-codes.ts';
import { count } from '../format.ts';

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

/** What became of the jobs in flight at a stop (the consumer's counts since the stop began). */
export interface StopCounts {
  /** Jobs completed or failed in Redis. */
  readonly finished: number;
  /** Jobs put back in the queue untouched. */
  readonly back: number;
  /** Jobs neither stored nor put back: left active in Redis (Redis did not take them, or their lock was lost). */
  readonly left: number;
}

/** The consumer's counts a stop compares: those of `stats()`. */
export interface StopStats {
  readonly active: number;
  readonly completed: number;
  readonly failed: number;
  readonly requeued: number;
}

/**
 * What became of the `atStop.active` jobs held when the stop began, from the counts then and now.
 * Those not finished nor put back are left: still held now (their result or put-back waits for a
 * Redis that is down), or given up by BullMQ (a lost lock). A job BullMQ handed over during the stop
 * goes back uncounted, as it was not taken.
 */
export function stopCounts(atStop: StopStats, now: StopStats): StopCounts {
  const finished = now.completed + now.failed - atStop.completed - atStop.failed;
  const back = now.requeued - atStop.requeued;
  return { finished, back, left: Math.max(now.active, atStop.active - finished - back) };
}

/** The stop's last line, after `stopped by SIGTERM: `. */
export function inFlightFate(c: StopCounts): string {
  const total = c.finished + c.back + c.left;
  if (total === 0) return 'no job was in flight; the jobs stay in the queue';
  const one = c.left === 1;
  const left = `${one ? 'was' : 'were'} neither stored nor put back (Redis did not take ${one ? 'it' : 'them'}): ${one ? 'it stays' : 'they stay'} active in Redis until ${one ? 'its' : 'their'} lock expires, and BullMQ's stalled-job check then puts ${one ? 'it' : 'them'} back`;
  const parts = [
    ...(c.finished > 0 ? [[c.finished, 'finished']] : []),
    ...(c.back > 0 ? [[c.back, 'went back to the queue']] : []),
    ...(c.left > 0 ? [[c.left, left]] : []),
  ] as [number, string][];
  const [only] = parts;
  if (parts.length === 1 && only) return `the ${count(total, 'job')} in flight ${only[1]}; the others stay in the queue`;
  const listed = parts.map(([n, what]) => `${n} ${what}`);
  return `of the ${count(total, 'job')} in flight, ${listed.slice(0, -1).join(', ')} and ${listed.at(-1) ?? ''}; the others stay in the queue`;
}
