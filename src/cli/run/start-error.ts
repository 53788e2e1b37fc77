/**
 * Which exit code a failed start gets. The rule (manual/cli.md): 2 when the worker module
 * itself is at fault — it cannot be found, does not parse, throws while being imported, or
 * exports no Worker (`WorkerInitError.stage` 'load') — and 3 when the module loaded but the
 * pool could not start (its `initialize()` threw, or a worker died before it was ready).
 */
import { WorkerInitError } from '../../index.ts';
import { EXIT } from '../exit-codes.ts';

/** 2 (the module) or 3 (its start-up), for an error `pool.start()` rejected with. */
export function startFailureExitCode(error: unknown): number {
  return error instanceof WorkerInitError && error.stage === 'load' ? EXIT.USAGE : EXIT.START;
}
