/** `looppool run`: set up input, output, the pool and signal handling, then run the session. */
import { Pool } from '../../index.ts';
import { UsageError } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';
import { consumeCommand } from '../bullmq/consume-command.ts';
import { assertNoBullmqFlags } from '../bullmq/run-options.ts';
import { openInput, openOutput } from './input.ts';
import { runConfig, type RunFlags } from './options.ts';
import { redact, RunSession } from './session.ts';

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Run `moduleArg` over the input; resolves with the exit code.
 * @throws {UsageError} for bad flags, a rejected worker module, unreadable input or output.
 */
export async function runCommand(moduleArg: string, flags: RunFlags, io: CliIo): Promise<number> {
  if (flags.bullmq !== undefined) return consumeCommand(moduleArg, flags, io); // jobs from a BullMQ queue
  assertNoBullmqFlags(flags);
  const config = runConfig(moduleArg, flags, io.cwd, io.env);
  const input = await openInput(config.input, io);
  const output = await openOutput(config.output, io);
  let pool: Pool<unknown, unknown>;
  try {
    pool = new Pool(config.pool);
  } catch (error) {
    input.stream.destroy();
    output.stream.destroy();
    const unknown = /^Unknown option `(\w+)`/.exec((error as Error).message);
    throw new UsageError(
      unknown ? `this version of looppool's Pool has no \`${unknown[1]}\` option yet, so its flag cannot be used` : redact((error as Error).message, config.secrets),
    );
  }
  // `ps`, `top` and `stop` find the pool by this title; workers are `looppool <name> worker <n>`.
  process.title = `looppool ${config.name}`;
  const session = new RunSession(config, io, pool, input, output);
  // Workers ignore SIGINT/SIGTERM (a Ctrl-C reaches the whole process group): the parent decides.
  const onSignal = (signal: NodeJS.Signals): void => session.requestStop(signal);
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    return await session.run();
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}
