/**
 * `looppool run <worker-module> --bullmq <queue>`: the same pool as a local run (same flags,
 * same option mapping), fed by a BullMQ consumer instead of input lines.
 */
import { BullmqConsumer } from '../../bullmq/index.ts';
import { Pool } from '../../index.ts';
import { UsageError } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';
import { runConfig, type RunConfig, type RunFlags } from '../run/options.ts';
import { redact } from '../run/session.ts';
import { ConsumeSession } from './consume-session.ts';
import { bullmqRunConfig, type BullmqRunConfig } from './run-options.ts';

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Consume the queue named by `--bullmq` with a pool of `moduleArg`; resolves with the exit code.
 * @throws {UsageError} for bad or conflicting flags and a rejected worker module
 */
export async function consumeCommand(moduleArg: string, flags: RunFlags, io: CliIo): Promise<number> {
  const bull = bullmqRunConfig(flags, io.env);
  const config = runConfig(moduleArg, flags, io.cwd, io.env);
  const pool = createPool(config);
  const consumer = createConsumer(pool, bull);
  // `ps`, `top` and `stop` find the pool by this title; workers are `looppool <name> worker <n>`.
  process.title = `looppool ${config.name}`;
  const session = new ConsumeSession(config, bull, io, pool, consumer);
  // Workers ignore SIGINT/SIGTERM (a Ctrl-C reaches the whole process group): the parent decides.
  const onSignal = (signal: NodeJS.Signals): void => session.requestStop(signal);
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    return await session.run();
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}

/** The pool of a local run. @throws {UsageError} for an option the installed Pool refuses */
function createPool(config: RunConfig): Pool<unknown, unknown> {
  try {
    return new Pool(config.pool);
  } catch (error) {
    const unknown = /^Unknown option `(\w+)`/.exec((error as Error).message);
    throw new UsageError(
      unknown ? `this version of looppool's Pool has no \`${unknown[1]}\` option yet, so its flag cannot be used` : redact((error as Error).message, config.secrets),
    );
  }
}

/** Its capacity and pool name come from the pool (`size × concurrency`, `name`). */
function createConsumer(pool: Pool<unknown, unknown>, bull: BullmqRunConfig): BullmqConsumer<unknown, unknown> {
  try {
    return new BullmqConsumer(pool, bull.queue, {
      connection: bull.redis.url,
      metadata: bull.metadata,
      workerOptions: bull.lockDuration === undefined ? {} : { lockDuration: bull.lockDuration },
    });
  } catch (error) {
    throw new UsageError(redact(`--bullmq: ${(error as Error).message}`, bull.redis.secrets));
  }
}
