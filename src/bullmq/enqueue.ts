/** The producer side: JSON lines in, BullMQ jobs out, added in bulk. */
import type { Queue } from 'bullmq';
import { show } from '../options.ts';
import { assertRedisDriver, loadBullmq } from './load.ts';
import { mainClient, watchConnection, whenReady } from './ready.ts';
import { resolveEnqueueOptions, type EnqueueCounts, type EnqueueOptions, type ResolvedEnqueueOptions } from './options.ts';

interface BulkJob {
  name: string;
  data: unknown;
  opts?: { jobId: string };
}

/**
 * Add one job per JSON line to a BullMQ queue, `batchSize` jobs per `addBulk` call (each batch is
 * awaited, so a fast source waits for Redis). Blank lines are skipped; a line that is not JSON is
 * reported through `onInvalid` and skipped, never fatal. Connection errors reject.
 *
 * The iterator of `lines` is taken before anything is awaited, so a `readline` interface loses no
 * line while BullMQ loads and Redis connects (pass it on as soon as it is created: it reads at
 * once, listened to or not).
 *
 * Stopping before the end of `lines` (Redis does not answer, a batch fails, an item is not a
 * string), it ends the iterator (`return()`, as `for await` does on `break`). Whenever it rejects
 * after taking the iterator (the input's failure too), it closes a `readline` interface given as
 * `lines`: Node documents that leaving the loop closes it, but since Node 18 `return()` only
 * stops listening, and the interface read on (lines to no one, its input held open: a script on
 * stdin did not exit).
 *
 * @returns the counts of lines read, jobs added and lines skipped as invalid
 * @throws {TypeError} when `lines` is not an iterable or async iterable (or is a string), before any I/O
 * @throws {TypeError} for an item of `lines` that is not a string, once the lines before it are added (none from it on)
 * @throws {BullmqMissingError} when `bullmq` (or `ioredis`) is not installed
 * @throws {RedisUnavailableError} when Redis does not answer within `readyTimeout` at the start, or
 *   goes away later and a batch waits `readyTimeout` for it to come back (the batches reported
 *   through `onBatch` were added; the one under way may or may not have been)
 * @example
 * ```ts
 * import readline from 'node:readline';
 * const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
 * const counts = await enqueueLines(lines, { queue: 'images', connection: 'redis://127.0.0.1:6379' });
 * ```
 */
export async function enqueueLines(lines: AsyncIterable<string> | Iterable<string>, options: EnqueueOptions): Promise<EnqueueCounts> {
  return enqueue(lines, options, false);
}

/** A line its reader already refused (too long, not UTF-8): counted and reported as invalid. */
export interface RefusedLine {
  readonly refused: string;
}

type Input = AsyncIterable<string | RefusedLine> | Iterable<string | RefusedLine>;

/** {@link enqueueLines} for a reader that checks lines itself (`looppool enqueue`): it may yield {@link RefusedLine}s. */
export async function enqueueInput(lines: Input, options: EnqueueOptions): Promise<EnqueueCounts> {
  return enqueue(lines, options, true);
}

async function enqueue(lines: Input, options: EnqueueOptions, refusals: boolean): Promise<EnqueueCounts> {
  const o = resolveEnqueueOptions(options);
  // Before the first await: a readline interface emits its lines whether anyone listens or not,
  // so the ones read while BullMQ loads and Redis connects would be lost (nodejs/node#33463).
  const input = takeIterator(lines);
  try {
    return await addToQueue(input, o, refusals);
  } catch (error) {
    closeReadline(lines);
    throw error;
  }
}

async function addToQueue(input: ReturnType<typeof takeIterator>, o: ResolvedEnqueueOptions, refusals: boolean): Promise<EnqueueCounts> {
  let queue: Queue;
  try {
    queue = await openQueue(o);
  } catch (error) {
    await input.release();
    throw error;
  }
  const client = await mainClient(queue);
  const watch = client && watchConnection(client, o.connection, o.readyTimeout);
  try {
    return await addAll(queue, input.lines, o, refusals, watch ? (request) => watch.guard(request) : (request) => request);
  } catch (error) {
    if (client !== undefined && error === watch?.error) {
      // Redis went away mid-batch and did not come back. The batch waits in ioredis, and so would
      // queue.close(): drop the connection (unless it is the caller's own client), so that the
      // batch is not added after all once Redis returns; it may have been, if Redis took it just
      // before it went.
      if (!ownClient(o.connection)) client.disconnect?.();
      void queue.close().catch(() => {});
    }
    throw error;
  } finally {
    watch?.stop();
    if (watch?.error === undefined) await queue.close();
  }
}

/** A Redis client the caller gave as `connection`: theirs to close, not ours. */
function ownClient(connection: unknown): boolean {
  return typeof (connection as { duplicate?: unknown } | null)?.duplicate === 'function';
}

/**
 * The iterator of `lines`, taken now: `lines` again, iterable once, and `release` to end it unread.
 * @throws {TypeError} unless `lines` is an iterable or async iterable other than a string
 */
function takeIterator(lines: Input): { lines: Input; release: () => Promise<void> } {
  const l = lines as Partial<AsyncIterable<string | RefusedLine> & Iterable<string | RefusedLine>> | null | undefined;
  const asyncIterator = l?.[Symbol.asyncIterator];
  if (typeof asyncIterator === 'function') {
    const iterator = asyncIterator.call(lines);
    return { lines: { [Symbol.asyncIterator]: () => iterator }, release: () => release(iterator) };
  }
  const syncIterator = l?.[Symbol.iterator];
  // A string is iterable, but one character per line is never what was meant.
  if (typeof syncIterator === 'function' && typeof lines !== 'string') {
    const iterator = syncIterator.call(lines);
    return { lines: { [Symbol.iterator]: () => iterator }, release: () => release(iterator) };
  }
  throw new TypeError(`Expected \`lines\` to be an iterable or async iterable of strings (such as a readline interface), got ${show(lines)}`);
}

/**
 * End an iterator that will not be read, as `for await` does on a `break`. Its own failure is not
 * reported: the error that stopped the run (Redis, a missing `bullmq`) is the one the caller needs.
 */
async function release(iterator: AsyncIterator<unknown> | Iterator<unknown>): Promise<void> {
  try {
    await iterator.return?.();
  } catch {
    // see above
  }
}

/**
 * Close `lines` if it is a readline interface, once enqueueing ended before its end (its iterator
 * is ended by then). Node documents that leaving a `for await` over one closes it; since Node 18
 * (nodejs/node#41276) its iterator's `return()` only removes its listeners, and the interface
 * reads on: its lines go to no one, and its input (stdin) keeps the process alive. Closing twice
 * is harmless.
 */
function closeReadline(lines: unknown): void {
  const { Interface } = process.getBuiltinModule('node:readline');
  const promises = process.getBuiltinModule('node:readline/promises');
  if (lines instanceof Interface || lines instanceof promises.Interface) lines.close();
}

/** A Queue on `o.queue` once Redis answers; closed again when it does not. */
async function openQueue(o: ResolvedEnqueueOptions): Promise<Queue> {
  const bullmq = await loadBullmq();
  assertRedisDriver(o.connection);
  const queue = new bullmq.Queue(o.queue, { ...o.queueOptions, connection: o.connection });
  // BullMQ reports connection trouble as 'error' events (and rejects the calls): don't let an event crash the process.
  queue.on('error', () => {});
  try {
    await whenReady(queue, o.connection, o.readyTimeout);
  } catch (error) {
    await queue.close();
    throw error;
  }
  return queue;
}

/** `guard` bounds each batch's wait for a Redis that went away (see watchConnection). */
async function addAll(queue: Queue, lines: Input, o: ResolvedEnqueueOptions, refusals: boolean, guard: <T>(request: Promise<T>) => Promise<T>): Promise<EnqueueCounts> {
  const counts = { lines: 0, added: 0, invalid: 0 };
  let batch: BulkJob[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await guard(queue.addBulk(batch.map((job) => ({ ...job, opts: { ...o.jobOptions, ...job.opts } }))));
    counts.added += batch.length;
    batch = [];
    o.onBatch?.({ ...counts });
  };
  // When the body throws (addBulk failing, an item that is no line), for await ends the iterator itself.
  for await (const line of lines) {
    if (typeof line !== 'string' && !(refusals && isRefused(line))) {
      await flush(); // every line before it is added, none from it on: the caller knows where to resume
      throw notALine(line, counts.lines + 1);
    }
    counts.lines++;
    if (typeof line === 'string' && line.trim() === '') continue;
    const job = typeof line === 'string' ? toJob(line, o) : line.refused;
    if (typeof job === 'string') {
      counts.invalid++;
      o.onInvalid({ line: counts.lines, reason: job });
      continue;
    }
    batch.push(job);
    if (batch.length >= o.batchSize) await flush();
  }
  await flush();
  return { ...counts };
}

function isRefused(item: unknown): item is RefusedLine {
  return typeof item === 'object' && item !== null && typeof (item as Partial<RefusedLine>).refused === 'string';
}

/** The TypeError for an item of `lines` that is not a string; `line` counts from 1, as `onInvalid`'s. */
function notALine(item: unknown, line: number): TypeError {
  const got = ArrayBuffer.isView(item) ? `a ${item.constructor.name} of ${item.byteLength} bytes (object)` : show(item);
  // A stream given as `lines` yields its chunks, which are not its lines.
  const hint = ArrayBuffer.isView(item) ? ' (for the lines of a stream, pass readline.createInterface({ input: stream }))' : '';
  return new TypeError(`Expected line ${line} of \`lines\` to be a string, got ${got}; the lines before it were added, none from it on${hint}`);
}

/** The job for one line, or why the line is invalid. */
function toJob(line: string, o: ResolvedEnqueueOptions): BulkJob | string {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch (error) {
    return `not JSON: ${(error as Error).message}`;
  }
  if (o.idField === undefined) return { name: o.jobName, data };
  const id = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[o.idField] : undefined;
  if (typeof id !== 'string' && typeof id !== 'number') return `no string or number \`${o.idField}\` field for the job id`;
  const text = String(id);
  // BullMQ takes an empty id for none, and numbers the job itself: the same line would be added again on every run.
  if (text === '') return `the job id in \`${o.idField}\` is empty`;
  if (text.includes(':')) return `the job id ${JSON.stringify(text)} contains ':' (BullMQ does not allow it)`;
  // BullMQ rejects integer custom ids (they would clash with its own counter): prefix them.
  const jobId = `${Number.parseInt(text, 10)}` === text ? `id-${text}` : text;
  return { name: o.jobName, data, opts: { jobId } };
}
