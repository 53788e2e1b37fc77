/** What every pool-running command shares: building the Pool from the flags, and the process around it. */
import { Pool } from '../../index.ts';
import { STOP_SIGNALS, UsageError } from '../exit-codes.ts';
import type { RunConfig } from './options.ts';
import { redact } from './session.ts';

/** The run's pool. @throws {UsageError} for an option the Pool refuses (secrets redacted from the message). */
export function createRunPool(config: RunConfig): Pool<unknown, unknown> {
  try {
    return new Pool(config.pool);
  } catch (error) {
    throw new UsageError(redact((error as Error).message, config.secrets));
  }
}

/**
 * Name the process for `ps`/`top`/`stop` (workers are `looppool <name> worker <n>`) and route
 * SIGINT/SIGTERM/SIGHUP to the session while it runs. Workers ignore those signals (a Ctrl-C or a
 * hang-up reaches the whole process group): the parent decides.
 */
export async function runAsPoolProcess(name: string, session: { run(): Promise<number>; requestStop(signal: NodeJS.Signals): void }): Promise<number> {
  process.title = `looppool ${name}`;
  const onSignal = (signal: NodeJS.Signals): void => session.requestStop(signal);
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    return await session.run();
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}
