/** The pure parts of the BullMQ support: option resolution and what a failed task does to its job. No Redis. */
import { describe, expect, it } from 'vitest';
// From the sources, all of them: internal modules and the classes they test against must be one copy.
import {
  PoisonTaskError, PoolStoppedError, PoolUnhealthyError, SerializationError, TaskAbortedError, TaskError, WorkerCrashedError, WorkerStoppedError,
} from '../../src/errors.ts';
import { JobFailedError } from '../../src/bullmq/errors.ts';
import { attemptNumber, failureAction, jobMetadata } from '../../src/bullmq/job-outcome.ts';
import { consumerMetricSource } from '../../src/bullmq/metric-source.ts';
import { resolveConsumerOptions, resolveEnqueueOptions } from '../../src/bullmq/options.ts';
import { changingGetter, expectUnreadable, failureOf, throwingGetter } from '../helpers/getters.ts';

const pool = (size: number, concurrency?: number, name?: string) => ({
  size,
  ...(concurrency === undefined ? {} : { concurrency }),
  ...(name === undefined ? {} : { name }),
  start: async () => {},
  run: async () => undefined,
});
const unrecoverable = (message: string): Error => Object.assign(new Error(message), { name: 'UnrecoverableError' });

describe('resolveConsumerOptions', () => {
  it("takes the capacity from the pool's size × concurrency, and its name", () => {
    const o = resolveConsumerOptions(pool(3, 7, 'images'), 'q', { connection: 'redis://127.0.0.1:6379' });
    expect(o).toMatchObject({ capacity: 21, poolName: 'images', metadata: 'progress', connection: { url: 'redis://127.0.0.1:6379' } });
    expect(o.workerName).toMatch(/^.+\/\d+\/images$/);
  });

  it('lets explicit options win, and passes connection options through', () => {
    const connection = { host: 'redis.internal', port: 6380 };
    const o = resolveConsumerOptions(pool(3, 7), 'q', { connection, concurrency: 5, poolName: 'p', metadata: 'none' });
    expect(o).toMatchObject({ capacity: 5, poolName: 'p', metadata: 'none' });
    expect(o.connection).toBe(connection);
  });

  it('takes maxJobs as a whole number of at least 1, none by default', () => {
    expect(resolveConsumerOptions(pool(1, 1), 'q', { connection: 'redis://x' }).maxJobs).toBeUndefined();
    expect(resolveConsumerOptions(pool(1, 1), 'q', { connection: 'redis://x', maxJobs: 3 }).maxJobs).toBe(3);
    expect(() => resolveConsumerOptions(pool(1, 1), 'q', { connection: 'redis://x', maxJobs: 0 })).toThrow('Expected `maxJobs` to be an integer >= 1, got `0` (number)');
    expect(() => resolveConsumerOptions(pool(1, 1), 'q', { connection: 'redis://x', maxJobs: 2.5 })).toThrow('Expected `maxJobs` to be an integer >= 1');
  });

  it('asks for concurrency when the pool does not expose it', () => {
    expect(() => resolveConsumerOptions(pool(2), 'q', { connection: 'redis://x' })).toThrow(/Expected `concurrency` to be given/);
  });

  it.each([
    [{ connection: 'redis://x', concurrency: 0 }, 'Expected `concurrency` to be an integer >= 1, got `0` (number)'],
    [{ connection: 'http://x', concurrency: 1 }, 'Expected `connection` to be a redis:// or rediss:// URL, got `"http://x"` (string)'],
    [{ connection: 42, concurrency: 1 }, 'Expected `connection` to be a redis:// URL, connection options or a Redis client, got `42` (number)'],
    [{ connection: 'redis://x', concurrency: 1, metadata: 'stdout' }, "Expected `metadata` to be one of 'progress', 'log', 'none', got `\"stdout\"` (string)"],
    [{ connection: 'redis://x', concurrency: 1, lockDuration: 5 }, 'Unknown option `lockDuration`'],
  ])('rejects %j', (options, message) => {
    expect(() => resolveConsumerOptions(pool(1), 'q', options as never)).toThrow(new TypeError(message));
  });

  it('rejects a queue name BullMQ cannot key', () => {
    expect(() => resolveConsumerOptions(pool(1, 1), 'a:b', { connection: 'redis://x' })).toThrow(/Expected the queue name to be a non-empty string without ':'/);
  });

  // Before: the getter's own error surfaced, naming no option; and each option was read twice
  // (the null check, then its use): a concurrency checked as 5 was used as 'x' and refused.
  it('reads each option once: a getter that throws is a TypeError naming the option, with what it threw as cause', async () => {
    const cause = new Error('config not loaded');
    expectUnreadable(await failureOf(() => resolveConsumerOptions(pool(1, 1), 'q', throwingGetter({ connection: 'redis://x' }, 'readyTimeout', cause))), 'readyTimeout', cause);
    const concurrency = changingGetter({ connection: 'redis://x' }, 'concurrency', [5, 'x']);
    expect(resolveConsumerOptions(pool(1, 1), 'q', concurrency.options).capacity).toBe(5);
    expect(concurrency.reads()).toBe(1);
  });
});

describe('resolveEnqueueOptions', () => {
  it('fills in the defaults', () => {
    expect(resolveEnqueueOptions({ queue: 'q', connection: 'redis://x' })).toMatchObject({ batchSize: 1000, jobName: 'task', jobOptions: {}, idField: undefined });
  });

  it('rejects a bad batch size and an empty idField', () => {
    expect(() => resolveEnqueueOptions({ queue: 'q', connection: 'redis://x', batchSize: 1.5 })).toThrow('Expected `batchSize` to be an integer >= 1, got `1.5` (number)');
    expect(() => resolveEnqueueOptions({ queue: 'q', connection: 'redis://x', idField: '' })).toThrow('Expected `idField` to be a non-empty string, got `""` (string)');
  });

  it('refuses null for an option instead of reading it as the default', () => {
    expect(() => resolveEnqueueOptions({ queue: 'q', connection: 'redis://x', batchSize: null as never })).toThrow('Expected `batchSize` not to be null (leave it out for its default)');
    expect(() => resolveEnqueueOptions({ queue: 'q', connection: 'redis://x', jobOptions: null as never })).toThrow('Expected `jobOptions` not to be null');
    // An array where BullMQ takes an options object, or as the options themselves
    expect(() => resolveEnqueueOptions({ queue: 'q', connection: 'redis://x', jobOptions: [] as never })).toThrow('Expected `jobOptions` to be an object, got');
    expect(() => resolveEnqueueOptions({ queue: 'q', connection: [] as never })).toThrow('Expected `connection` to be a redis:// URL, connection options or a Redis client, got');
    expect(() => resolveEnqueueOptions([] as never)).toThrow('Expected the options to be an object, got an array');
  });

  it('reads each option once: a getter that throws is a TypeError naming the option, with what it threw as cause', async () => {
    const cause = new Error('config not loaded');
    expectUnreadable(await failureOf(() => resolveEnqueueOptions(throwingGetter({ queue: 'q', connection: 'redis://x' }, 'batchSize', cause))), 'batchSize', cause);
    const idField = changingGetter({ queue: 'q', connection: 'redis://x' }, 'idField', ['id', '']);
    expect(resolveEnqueueOptions(idField.options).idField).toBe('id');
    expect(idField.reads()).toBe(1);
  });

  it('refuses a jobId in jobOptions (its type leaves it out): every line would get that id, BullMQ would add one job and the count say all', () => {
    expect(() => resolveEnqueueOptions({ queue: 'q', connection: 'redis://x', jobOptions: { jobId: 'same' } as never })).toThrow(/Expected `jobOptions` not to have `jobId`.*use `idField`/);
  });
});

describe('failureAction', () => {
  it("fails the job with the worker error's name and message, and its stack", () => {
    const remote = Object.assign(new Error('quota exceeded'), { name: 'QuotaError' });
    const error = new TaskError(4, remote, { worker: 1, pid: 1234 });
    const action = failureAction(error, false, unrecoverable);
    expect(action).toMatchObject({ kind: 'fail', errorName: 'QuotaError', worker: 1, workerPid: 1234 });
    if (action.kind !== 'fail') throw new Error('unreachable');
    expect(action.error).toBeInstanceOf(JobFailedError);
    expect(action.error.message).toBe('QuotaError: quota exceeded');
    expect(action.error.stack).toBe(remote.stack);
    expect(action.error.cause).toBe(error);
  });

  it('fails the job of a crashed worker (BullMQ retries it per attempts)', () => {
    const error = new WorkerCrashedError({ worker: 0, pid: 99, exitCode: null, signal: 'SIGKILL' });
    expect(failureAction(error, false, unrecoverable)).toMatchObject({
      kind: 'fail', errorName: 'WorkerCrashedError', worker: 0, workerPid: 99,
      error: { message: 'WorkerCrashedError: Worker 0 (pid 99) exited unexpectedly (signal SIGKILL)' },
    });
  });

  it("turns a worker error named UnrecoverableError into BullMQ's, so it is not retried", () => {
    const remote = Object.assign(new Error('bad input'), { name: 'UnrecoverableError' });
    const action = failureAction(new TaskError(1, remote, {}), false, unrecoverable);
    expect(action).toMatchObject({ kind: 'fail', error: { name: 'UnrecoverableError', message: 'UnrecoverableError: bad input' } });
  });

  it('does not retry a poison task: on another machine it would kill two more workers', () => {
    const action = failureAction(new PoisonTaskError({ worker: 1, pid: 5, exitCode: 3, signal: null }), false, unrecoverable);
    expect(action).toMatchObject({ kind: 'fail', errorName: 'PoisonTaskError', error: { name: 'UnrecoverableError' } });
  });

  it('does not retry a job whose data or result cannot cross (the same again on every attempt)', () => {
    const action = failureAction(new SerializationError('size', 'task', '70000000 bytes exceed maxMessageBytes (67108864)'), false, unrecoverable);
    expect(action).toMatchObject({ kind: 'fail', errorName: 'SerializationError', error: { name: 'UnrecoverableError' } });
  });

  it('puts the job back when the pool is stopping or unhealthy, or when the consumer aborted the task itself', () => {
    expect(failureAction(new PoolStoppedError(), false, unrecoverable)).toEqual({ kind: 'requeue', reason: 'stopping' });
    expect(failureAction(new WorkerStoppedError({ worker: 0, pid: 1 }), false, unrecoverable)).toEqual({ kind: 'requeue', reason: 'stopping' });
    expect(failureAction(new PoolUnhealthyError(5, undefined), false, unrecoverable)).toEqual({ kind: 'requeue', reason: 'unhealthy' });
    expect(failureAction(new TaskAbortedError(3), true, unrecoverable)).toEqual({ kind: 'requeue', reason: 'forced' });
    expect(failureAction(new TaskAbortedError(3), false, unrecoverable)).toMatchObject({ kind: 'fail', errorName: 'TaskAbortedError' });
  });
});

describe('attemptNumber', () => {
  it('is attemptsMade + 1 while the processor runs the job, attemptsMade once BullMQ has failed it (as it does on fetch: stalled, started too often)', () => {
    expect(attemptNumber({ attemptsMade: 0 }, false)).toBe(1);
    expect(attemptNumber({ attemptsMade: 2 }, false)).toBe(3);
    // As BullMQ 6 gives a job it failed on fetch after one run that stalled: attemptsMade 1,
    // attemptsStarted 2, stalledCounter 1. The attempt that ran is the first.
    expect(attemptNumber({ attemptsMade: 1 }, true)).toBe(1);
  });
});

describe('jobMetadata', () => {
  const base = {
    job: { timestamp: 1_000, processedOn: 1_250 },
    attempt: 1,
    host: 'box',
    pid: 42,
    pool: 'images',
    now: Date.UTC(2026, 11, 5, 12, 0, 0),
    runMs: 30.6,
    outcome: 'completed' as const,
    dispatched: { worker: 1, pid: 4242 },
  };

  it('records who ran the attempt, its number and its times in whole ms', () => {
    expect(jobMetadata(base)).toEqual({
      host: 'box', pid: 42, pool: 'images', worker: 1, workerPid: 4242, attempt: 1,
      waitMs: 250, runMs: 31, finishedAt: '2026-12-05T12:00:00.000Z', outcome: 'completed',
    });
  });

  it('counts the wait from when the attempt began when BullMQ gave no processedOn, never below 0', () => {
    const now = 10_000;
    expect(jobMetadata({ ...base, now, attempt: 3, job: { timestamp: 9_000 } })).toMatchObject({ attempt: 3, waitMs: 969, runMs: 31 });
    expect(jobMetadata({ ...base, now, job: { timestamp: 9_990 } }).waitMs).toBe(0);
  });

  it('names the error of a failed attempt, and no worker the pool did not name', () => {
    const meta = jobMetadata({ ...base, outcome: 'failed', error: 'TypeError', dispatched: null });
    expect(meta).toMatchObject({ outcome: 'failed', error: 'TypeError', worker: null, workerPid: null });
    expect(jobMetadata({ ...base, dispatched: { worker: 0, pid: -1 } })).toMatchObject({ worker: 0, workerPid: null });
    expect('error' in jobMetadata(base)).toBe(false);
  });
});

describe('consumerMetricSource', () => {
  it('reports the gauges now and the counters since the previous call, under bullmq.<queue>', () => {
    let stats = { queue: 'images.v2', pool: 'p', state: 'running' as const, capacity: 8, active: 3, taken: 10, completed: 6, failed: 1, requeued: 0, paused: false };
    const source = consumerMetricSource({ stats: () => stats });
    stats = { ...stats, active: 5, taken: 25, completed: 18, failed: 2, paused: true };
    expect(source()).toEqual({
      gauges: { 'bullmq.images_v2.jobs.active': 5, 'bullmq.images_v2.capacity': 8, 'bullmq.images_v2.paused': 1 },
      counters: { 'bullmq.images_v2.jobs.taken': 15, 'bullmq.images_v2.jobs.completed': 12, 'bullmq.images_v2.jobs.failed': 1, 'bullmq.images_v2.jobs.requeued': 0 },
    });
    expect(source().counters).toEqual({
      'bullmq.images_v2.jobs.taken': 0, 'bullmq.images_v2.jobs.completed': 0, 'bullmq.images_v2.jobs.failed': 0, 'bullmq.images_v2.jobs.requeued': 0,
    });
  });
});
