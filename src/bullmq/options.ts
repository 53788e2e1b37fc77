/**
 * Options of the BullMQ consumer and of `enqueueLines`, with their defaults, and the pure
 * functions that check and resolve them (same wording as the pool's options).
 */
import os from 'node:os';
import type { ConnectionOptions, JobsOptions, QueueOptions, WorkerOptions } from 'bullmq';
import { assertOptionsArgument, delayOption, object, readOptions, show } from '../options.ts';

/**
 * Where Redis is: a `redis://` or `rediss://` URL, BullMQ connection options (`{ host, port, … }`),
 * or a Redis client instance (which BullMQ duplicates for its blocking connection).
 */
export type RedisConnection = string | ConnectionOptions;

/**
 * Where the consumer records each job's metadata ({@link JobMetadata}): `'progress'` sets it as
 * the job's progress (one Redis call per job, shown by BullMQ UIs and `job.progress`), `'log'`
 * appends it as a JSON line to the job's logs (`queue.getJobLogs(id)`), `'none'` records nothing
 * beyond BullMQ's own `processedBy`.
 */
export type JobMetadataMode = 'progress' | 'log' | 'none';

/** The pool as the consumer sees it: `Pool` satisfies this. */
export interface ConsumablePool<TTask = unknown, TResult = unknown> {
  /** Worker processes. */
  readonly size: number;
  /** Tasks in flight per worker process, when the pool exposes it. */
  readonly concurrency?: number | undefined;
  /** The pool's `name` option, when the pool exposes it. */
  readonly name?: string | undefined;
  start(): Promise<void>;
  run(task: TTask, options?: ConsumerRunOptions): Promise<TResult>;
  /** `healthy: false` while the pool's workers keep failing to start: the consumer takes no job meanwhile. */
  stats?(): { readonly healthy?: boolean | undefined };
  /** Report this source's metrics with the pool's (under the pool's scope); returns its remover. */
  addMetricSource?(source: () => { readonly gauges: Readonly<Record<string, number>>; readonly counters: Readonly<Record<string, number>> }): () => void;
  /** The results tasks stream (`ctx.putResult`): the consumer emits those of its jobs' tasks as `result` events. */
  on?(event: 'result', listener: PoolResultListener): unknown;
  off?(event: 'result', listener: PoolResultListener): unknown;
}

/** A listener of the pool's `result` event: `taskId` is the one `run`'s `onSubmit` gave (null outside any task). */
export type PoolResultListener = (value: unknown, info: { readonly taskId: number | null }) => void;

/** What the consumer passes to `pool.run`. */
export interface ConsumerRunOptions {
  signal?: AbortSignal;
  /** Called when the task is sent to a worker process; pools that support it tell the worker number. */
  onDispatch?: (info: DispatchInfo) => void;
  /** Called with the task's id once the pool has it: the id its streamed results carry. */
  onSubmit?: (taskId: number) => void;
}

/** The worker a task was sent to. */
export interface DispatchInfo {
  readonly worker: number;
  readonly pid: number;
}

export interface ConsumerOptions {
  /** Redis to take jobs from. */
  connection: RedisConnection;
  /**
   * Jobs in flight at most: BullMQ's Worker `concurrency`. Give it explicitly only for a pool that
   * does not expose its `concurrency`.
   * @default pool.size × pool.concurrency
   */
  concurrency?: number | undefined;
  /** How each job's metadata is recorded. @default 'progress' */
  metadata?: JobMetadataMode | undefined;
  /** The pool name recorded with each job. @default the pool's `name`, else 'pool' */
  poolName?: string | undefined;
  /** Milliseconds `start()` waits for Redis before it fails with `RedisUnavailableError`. @default 10000 */
  readyTimeout?: number | undefined;
  /**
   * Finish this many job attempts (completed or failed) and take no job beyond what they need:
   * BullMQ fetches no more at once than the limit still needs, and while the attempts counted and
   * those running add up to it the consumer takes no new job (one that BullMQ hands over anyway
   * goes back untouched), and takes again if a running one goes back to the queue. It does not
   * close by itself: close it on the `maxJobs`-th `completed` or `failed` event (`looppool run
   * --bullmq --max-jobs` does). Exactly `maxJobs` attempts are counted; `taken` can be higher
   * when a job's lock was lost (it runs again; its lost attempt is never counted).
   * @default undefined (no limit)
   */
  maxJobs?: number | undefined;
  /**
   * Other options of BullMQ's `Worker`, passed through: `lockDuration`, `stalledInterval`,
   * `maxStalledCount`, `removeOnComplete`, `removeOnFail`, `prefix`, `limiter`, …
   * @default {}
   */
  workerOptions?: Omit<WorkerOptions, 'connection' | 'concurrency' | 'autorun'> | undefined;
}

/** @internal */
export interface ResolvedConsumerOptions {
  readonly queueName: string;
  readonly connection: ConnectionOptions;
  readonly capacity: number;
  readonly metadata: JobMetadataMode;
  readonly poolName: string;
  /** BullMQ's Worker `name`, stored on each job as `processedBy`: `host/pid/pool`. */
  readonly workerName: string;
  readonly readyTimeout: number;
  readonly maxJobs: number | undefined;
  readonly workerOptions: Omit<WorkerOptions, 'connection' | 'concurrency' | 'autorun'>;
}

export const DEFAULT_CONSUMER_OPTIONS = Object.freeze({
  metadata: 'progress' as JobMetadataMode,
  poolName: 'pool',
  readyTimeout: 10_000,
});

const CONSUMER_KEYS = new Set(['connection', 'concurrency', 'maxJobs', 'metadata', 'poolName', 'readyTimeout', 'workerOptions']);

/** Check and complete consumer options, each read once (readOptions). Pure apart from reading the host name. */
export function resolveConsumerOptions(pool: ConsumablePool<any, any>, queueName: string, options: ConsumerOptions): ResolvedConsumerOptions {
  checkQueueName(queueName);
  const input = readKnown(options, CONSUMER_KEYS) as unknown as ConsumerOptions;
  const capacity = input.concurrency ?? (pool.concurrency === undefined ? undefined : pool.size * pool.concurrency);
  if (capacity === undefined) {
    throw new TypeError('Expected `concurrency` to be given: this pool does not expose its concurrency (pass size × concurrency)');
  }
  const poolName = input.poolName ?? pool.name ?? DEFAULT_CONSUMER_OPTIONS.poolName;
  if (typeof poolName !== 'string' || poolName === '') throw new TypeError(`Expected \`poolName\` to be a non-empty string, got ${show(poolName)}`);
  const metadata = input.metadata ?? DEFAULT_CONSUMER_OPTIONS.metadata;
  if (!['progress', 'log', 'none'].includes(metadata)) {
    throw new TypeError(`Expected \`metadata\` to be one of 'progress', 'log', 'none', got ${show(metadata)}`);
  }
  const workerOptions = input.workerOptions ?? {};
  object('workerOptions', workerOptions);
  return {
    queueName,
    connection: resolveConnection(input.connection),
    capacity: positiveInteger('concurrency', capacity),
    metadata,
    poolName,
    workerName: `${os.hostname()}/${process.pid}/${poolName}`,
    readyTimeout: delayOption('readyTimeout', input.readyTimeout ?? DEFAULT_CONSUMER_OPTIONS.readyTimeout, 1),
    maxJobs: input.maxJobs === undefined ? undefined : positiveInteger('maxJobs', input.maxJobs),
    workerOptions,
  };
}

export interface EnqueueOptions {
  /** The queue's name. */
  queue: string;
  /** Redis to add the jobs to. */
  connection: RedisConnection;
  /** Jobs per `addBulk` call (one Redis round trip each). @default 1000 */
  batchSize?: number | undefined;
  /** BullMQ job name of every job. @default 'task' */
  jobName?: string | undefined;
  /** BullMQ options of every job: `attempts`, `backoff`, `removeOnComplete`, `priority`, … @default {} */
  jobOptions?: Omit<JobsOptions, 'jobId'> | undefined;
  /**
   * Use this field of each line's object as the job id. BullMQ ignores a job whose id already
   * exists, so re-running the same input does not add its jobs twice (while they are kept).
   * @default undefined (BullMQ numbers the jobs)
   */
  idField?: string | undefined;
  /** Milliseconds to wait for Redis before failing with `RedisUnavailableError`. @default 10000 */
  readyTimeout?: number | undefined;
  /** Other options of BullMQ's `Queue` (`prefix`, …), passed through. @default {} */
  queueOptions?: Omit<QueueOptions, 'connection'> | undefined;
  /** Called for each line that is not JSON (or lacks `idField`); it is skipped. @default write `line N: reason` to stderr */
  onInvalid?: ((invalid: InvalidLine) => void) | undefined;
  /** Called after each batch is added, with the counts so far. */
  onBatch?: ((counts: EnqueueCounts) => void) | undefined;
}

/** A line `enqueueLines` skipped. */
export interface InvalidLine {
  /** 1-based line number. */
  readonly line: number;
  readonly reason: string;
}

/** What `enqueueLines` did. */
export interface EnqueueCounts {
  /** Lines read, blank ones included. */
  readonly lines: number;
  /** Jobs sent to Redis (with `idField`, BullMQ keeps one job per id). */
  readonly added: number;
  /** Lines skipped as invalid. */
  readonly invalid: number;
}

/** @internal */
export interface ResolvedEnqueueOptions {
  readonly queue: string;
  readonly connection: ConnectionOptions;
  readonly batchSize: number;
  readonly jobName: string;
  readonly jobOptions: Omit<JobsOptions, 'jobId'>;
  readonly idField: string | undefined;
  readonly readyTimeout: number;
  readonly queueOptions: Omit<QueueOptions, 'connection'>;
  readonly onInvalid: (invalid: InvalidLine) => void;
  readonly onBatch: ((counts: EnqueueCounts) => void) | undefined;
}

export const DEFAULT_ENQUEUE_OPTIONS = Object.freeze({ batchSize: 1000, jobName: 'task', readyTimeout: 10_000 });

const ENQUEUE_KEYS = new Set(['queue', 'connection', 'batchSize', 'jobName', 'jobOptions', 'idField', 'readyTimeout', 'queueOptions', 'onInvalid', 'onBatch']);

/** `jobOptions` without a `jobId`: one id for every line would add one job and count them all (`idField` names a field per line). */
function jobOptions(value: unknown): Omit<JobsOptions, 'jobId'> {
  const options = object('jobOptions', value ?? {}) as JobsOptions;
  if ('jobId' in options) throw new TypeError('Expected `jobOptions` not to have `jobId` (every line would get the same id: BullMQ adds the first and ignores the rest); use `idField` to take each job\'s id from its line');
  return options;
}

/** Check and complete `enqueueLines` options, each read once (readOptions). Pure. */
export function resolveEnqueueOptions(options: EnqueueOptions): ResolvedEnqueueOptions {
  const input = readKnown(options, ENQUEUE_KEYS) as unknown as EnqueueOptions;
  checkQueueName(input.queue);
  const d = DEFAULT_ENQUEUE_OPTIONS;
  const jobName = input.jobName ?? d.jobName;
  if (typeof jobName !== 'string') throw new TypeError(`Expected \`jobName\` to be a string, got ${show(jobName)}`);
  if (input.idField !== undefined && (typeof input.idField !== 'string' || input.idField === '')) {
    throw new TypeError(`Expected \`idField\` to be a non-empty string, got ${show(input.idField)}`);
  }
  return {
    queue: input.queue,
    connection: resolveConnection(input.connection),
    batchSize: positiveInteger('batchSize', input.batchSize ?? d.batchSize),
    jobName,
    jobOptions: jobOptions(input.jobOptions),
    idField: input.idField,
    readyTimeout: delayOption('readyTimeout', input.readyTimeout ?? d.readyTimeout, 1),
    queueOptions: object('queueOptions', input.queueOptions ?? {}) as Omit<QueueOptions, 'connection'>,
    onInvalid: input.onInvalid ?? ((invalid) => process.stderr.write(`line ${invalid.line}: ${invalid.reason}\n`)),
    onBatch: input.onBatch,
  };
}

/** A URL string becomes BullMQ's `{ url }` connection options; anything else passes through. */
export function resolveConnection(connection: unknown): ConnectionOptions {
  if (typeof connection === 'string') {
    if (!/^rediss?:\/\//.test(connection)) throw new TypeError(`Expected \`connection\` to be a redis:// or rediss:// URL, got ${show(connection)}`);
    return { url: connection };
  }
  if (typeof connection !== 'object' || connection === null || Array.isArray(connection)) {
    throw new TypeError(`Expected \`connection\` to be a redis:// URL, connection options or a Redis client, got ${show(connection)}`);
  }
  return connection as ConnectionOptions;
}

function checkQueueName(name: unknown): void {
  // BullMQ builds Redis keys as prefix:name:…; a colon in the name would make them ambiguous.
  if (typeof name !== 'string' || name === '' || name.includes(':')) {
    throw new TypeError(`Expected the queue name to be a non-empty string without ':', got ${show(name)}`);
  }
}

const CLOSE_KEYS = new Set(['force']);

/** `close()`'s options, each read once: an object of known keys, `force` a boolean. @throws {TypeError} */
export function readCloseOptions(options: unknown): { force?: boolean } {
  const read = readKnown(options, CLOSE_KEYS);
  if (read.force !== undefined && typeof read.force !== 'boolean') throw new TypeError(`Expected \`force\` to be a boolean, got ${show(read.force)}`);
  return read as { force?: boolean };
}

/** The options of `input`, each read once: what is checked is what is used. */
function readKnown(input: unknown, known: Set<string>): Record<string, unknown> {
  assertOptionsArgument(input);
  return readOptions(input, known);
}

function positiveInteger(name: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw new TypeError(`Expected \`${name}\` to be an integer >= 1, got ${show(value)}`);
  return value as number;
}
