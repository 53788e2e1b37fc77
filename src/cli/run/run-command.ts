/** `looppool run`: set up input, output, the pool and signal handling, then run the session. */
import type { CliIo } from '../io.ts';
import { consumeCommand } from '../bullmq/consume-command.ts';
import { assertNoBullmqFlags } from '../bullmq/run-options.ts';
import { openInput, openOutput } from './input.ts';
import { runConfig, type RunFlags } from './options.ts';
import { checkSummaryNotInput } from './summary-file.ts';
import { createRunPool, runAsPoolProcess } from './pool-process.ts';
import { redact, RunSession } from './session.ts';

/**
 * Run `moduleArg` over the input; resolves with the exit code.
 * @throws {UsageError} for bad flags, a rejected worker module, unreadable input or output.
 */
export async function runCommand(moduleArg: string, flags: RunFlags, io: CliIo): Promise<number> {
  if (flags.bullmq !== undefined) return consumeCommand(moduleArg, flags, io); // jobs from a BullMQ queue
  assertNoBullmqFlags(flags);
  const config = runConfig(moduleArg, flags, io.cwd, io.env);
  const input = await openInput(config.input, io);
  try {
    checkSummaryNotInput(config.jsonSummary, io.cwd, input.file);
  } catch (error) {
    input.stream.destroy();
    throw error;
  }
  const output = await openOutput(
    config.output,
    io,
    (text) => {
      if (!config.quiet) io.stderr.write(`${redact(`looppool ${config.name}: ${text}`, config.secrets)}\n`);
    },
    input.file,
  ).catch((error: unknown) => {
    input.stream.destroy();
    throw error;
  });
  let pool;
  try {
    pool = createRunPool(config);
  } catch (error) {
    input.stream.destroy();
    output.stream.destroy();
    throw error;
  }
  return runAsPoolProcess(config.name, new RunSession(config, io, pool, input, output));
}
