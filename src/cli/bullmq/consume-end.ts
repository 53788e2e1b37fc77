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
