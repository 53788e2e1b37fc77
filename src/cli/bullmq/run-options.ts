/**
 * The flags of `looppool run --bullmq <queue>`: which ones it adds, which local-run flags it
 * refuses (a queue has no input file, no line numbers and no order), and the consumer settings.
 */
import type { JobMetadataMode } from '../../bullmq/index.ts';
import { UsageError } from '../exit-codes.ts';
import type { RunFlags } from '../run/options.ts';
import { keepJobsFlag, queueName, redisFlag, wholeNumber, type KeepJobsFlag, type RedisFlag } from './flags.ts';

/** The BullMQ `Worker` options the flags set: only those given (BullMQ's defaults stand for the others). */
export interface BullmqWorkerFlags {
  /** `--lock-duration` (ms). */
  readonly lockDuration?: number;
  /** `--stalled-interval` (ms). */
  readonly stalledInterval?: number;
  /** `--max-stalled-count`. */
  readonly maxStalledCount?: number;
  /** `--remove-on-complete`. */
  readonly removeOnComplete?: KeepJobsFlag;
  /** `--remove-on-fail`. */
  readonly removeOnFail?: KeepJobsFlag;
}

/** The consumer side of a `run --bullmq`. */
export interface BullmqRunConfig {
  readonly queue: string;
  readonly redis: RedisFlag;
  readonly metadata: JobMetadataMode;
  /** Passed to BullMQ's `Worker` as they are. */
  readonly workerOptions: BullmqWorkerFlags;
  /** Stop after this many jobs finished (completed or failed attempts), when given. */
  readonly maxJobs: number | undefined;
}

/** Local-run flags that make no sense for a queue. */
const LOCAL_ONLY: readonly (readonly [keyof RunFlags, string])[] = [
  ['input', '--input'],
  ['output', '--output'],
  ['lines', '--lines'],
  ['ordered', '--ordered'],
  ['maxLineBytes', '--max-line-bytes'],
];

/** Flags that only `--bullmq` uses. */
const BULLMQ_ONLY: readonly (readonly [keyof RunFlags, string])[] = [
  ['redis', '--redis'],
  ['jobMetadata', '--job-metadata'],
  ['lockDuration', '--lock-duration'],
  ['stalledInterval', '--stalled-interval'],
  ['maxStalledCount', '--max-stalled-count'],
  ['removeOnComplete', '--remove-on-complete'],
  ['removeOnFail', '--remove-on-fail'],
  ['maxJobs', '--max-jobs'],
];

const METADATA_MODES: readonly JobMetadataMode[] = ['progress', 'log', 'none'];

/** Check the `--bullmq` flags. @throws {UsageError} */
export function bullmqRunConfig(flags: RunFlags, env: NodeJS.ProcessEnv): BullmqRunConfig {
  const queue = queueName('--bullmq', flags.bullmq ?? '');
  const refused = LOCAL_ONLY.filter(([key]) => flags[key] !== undefined).map(([, flag]) => flag);
  if (refused.length > 0) {
    throw new UsageError(
      `--bullmq cannot be combined with ${refused.join(', ')}: the jobs come from the queue and their results go to stdout ` +
        '(add jobs with looppool enqueue; see manual/cli.md)',
    );
  }
  const metadata = (flags.jobMetadata ?? 'progress') as JobMetadataMode;
  if (!METADATA_MODES.includes(metadata)) throw new UsageError(`--job-metadata must be progress, log or none, got ${JSON.stringify(flags.jobMetadata)}`);
  return {
    queue,
    redis: redisFlag(flags.redis, env),
    metadata,
    workerOptions: workerFlags(flags),
    maxJobs: wholeNumber('--max-jobs', flags.maxJobs, 1),
  };
}

/** The BullMQ `Worker` options among the flags. @throws {UsageError} */
function workerFlags(flags: RunFlags): BullmqWorkerFlags {
  const options = {
    lockDuration: wholeNumber('--lock-duration', flags.lockDuration, 1),
    stalledInterval: wholeNumber('--stalled-interval', flags.stalledInterval, 1),
    maxStalledCount: wholeNumber('--max-stalled-count', flags.maxStalledCount, 0),
    removeOnComplete: keepJobsFlag('--remove-on-complete', flags.removeOnComplete),
    removeOnFail: keepJobsFlag('--remove-on-fail', flags.removeOnFail),
  };
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as BullmqWorkerFlags;
}

/** A local run must not be given the consumer's flags. @throws {UsageError} */
export function assertNoBullmqFlags(flags: RunFlags): void {
  const given = BULLMQ_ONLY.filter(([key]) => flags[key] !== undefined).map(([, flag]) => flag);
  if (given.length > 0) throw new UsageError(`${given.join(', ')} ${given.length === 1 ? 'needs' : 'need'} --bullmq <queue>`);
}
