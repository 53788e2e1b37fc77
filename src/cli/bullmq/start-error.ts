/**
 * What `looppool enqueue` and `looppool run --bullmq` make of an error at start: its exit code
 * and the line printed for it. Errors are told apart by their stable `code`, not `instanceof`.
 */
import { EXIT } from '../exit-codes.ts';
import { startFailureExitCode, startFailureMessage } from '../run/start-error.ts';

/** A start failure, as the command reports it. */
export interface StartFailure {
  readonly exitCode: number;
  readonly message: string;
}

/**
 * 2 for a missing `bullmq`/`ioredis` (fix the installation) and for a worker module at fault;
 * 3 when Redis does not answer or the pool could not start (worth retrying later).
 * Returns undefined for any other error (a bug: let it through).
 */
export function bullmqStartFailure(error: unknown, redisShown: string): StartFailure | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const message = (error as Error | null)?.message ?? String(error);
  if (code === 'ERR_BULLMQ_MISSING') return { exitCode: EXIT.USAGE, message };
  if (code === 'ERR_REDIS_UNAVAILABLE') {
    return {
      exitCode: EXIT.START,
      message: `cannot reach Redis: ${message}. Check --redis (or REDIS_URL; now ${redisShown}); on this machine, start one with \`redis-server --daemonize yes --port 6379\``,
    };
  }
  if (code === 'ERR_WORKER_INIT') {
    const exitCode = startFailureExitCode(error);
    return { exitCode, message: startFailureMessage(error, exitCode) };
  }
  return undefined;
}
