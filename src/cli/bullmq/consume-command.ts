/**
 * `looppool run <worker-module> --bullmq <queue>`: the same pool as a local run (same flags,
 * same option mapping), fed by a BullMQ consumer instead of input lines.
 */
import { BullmqConsumer } from '../../bullmq/index.ts';
import type { Pool } from '../../index.ts';
import { UsageError } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';
import { runConfig, type RunFlags } from '../run/options.ts';
import { createRunPool, runAsPoolProcess } from '../run/pool-process.ts';
import { redact } from '../run/session.ts';
import { ConsumeSession } from './consume-session.ts';
import { bullmqRunConfig, type BullmqRunConfig } from './run-options.ts';

/**
 * Consume the queue named by `--bullmq` with a pool of `moduleArg`; resolves with the exit code.
 * @throws {UsageError} for bad or conflicting flags and a rejected worker module
 */
export async function consumeCommand(moduleArg: string, flags: RunFlags, io: CliIo): Promise<number> {
  const bull = bullmqRunConfig(flags, io.env);
  const config = runConfig(moduleArg, flags, io.cwd, io.env);
  const pool = createRunPool(config);
  const consumer = createConsumer(pool, bull);
  return runAsPoolProcess(config.name, new ConsumeSession(config, bull, io, pool, consumer));
}

/** Its capacity and pool name come from the pool (`size × concurrency`, `name`). */
function createConsumer(pool: Pool<unknown, unknown>, bull: BullmqRunConfig): BullmqConsumer<unknown, unknown> {
  try {
    return new BullmqConsumer(pool, bull.queue, {
      connection: bull.redis.url,
      metadata: bull.metadata,
      ...(bull.maxJobs === undefined ? {} : { maxJobs: bull.maxJobs }),
      workerOptions: bull.workerOptions,
    });
  } catch (error) {
    throw new UsageError(redact(`--bullmq: ${(error as Error).message}`, bull.redis.secrets));
  }
}
