/**
 * `looppool enqueue <queue>`: JSON lines in (stdin or `--input`), one BullMQ job per line out,
 * added in bulk; the counts `{lines, added, invalid}` as one JSON line on stdout.
 */
import type { Readable } from 'node:stream';
import { enqueueInput, type RefusedLine } from '../../bullmq/enqueue.ts';
import type { EnqueueCounts, EnqueueOptions } from '../../bullmq/index.ts';
import { EXIT, exitCodeForSignal, STOP_SIGNALS, UsageError } from '../exit-codes.ts';
import { count } from '../format.ts';
import type { CliIo } from '../io.ts';
import { decodeLine } from '../run/decode-line.ts';
import { openInput } from '../run/input.ts';
import { splitLines } from '../run/line-reader.ts';
import { maxLineBytesFlag } from '../run/options.ts';
import { redact } from '../run/session.ts';
import { queueName, redisFlag, wholeNumber, type RedisFlag } from './flags.ts';
import { bullmqStartFailure } from './start-error.ts';

/** Flags as commander hands them over. */
export interface EnqueueFlags {
  redis?: string;
  input?: string;
  batchSize?: string;
  jobName?: string;
  attempts?: string;
  backoff?: string;
  idField?: string;
  maxLineBytes?: string;
  quiet?: boolean;
}

/** After this long connecting, say what the command is waiting for. */
const SLOW_START_MS = 1_000;

/**
 * Add the input's lines to `queue`; resolves with the exit code: 0 every line added, 1 some lines
 * invalid, 2 usage or `bullmq` missing, 3 Redis unreachable (or failing while adding), 129/130/143 signals.
 * @param exit ends the process at once on a second signal (tests inject their own).
 * @throws {UsageError} for bad flags or an unreadable `--input`
 */
export async function enqueueCommand(queue: string, flags: EnqueueFlags, io: CliIo, exit: (code: number) => void = (c) => process.exit(c)): Promise<number> {
  const redis = redisFlag(flags.redis, io.env);
  const options = enqueueOptions(queue, redis, flags);
  const maxLineBytes = maxLineBytesFlag(flags.maxLineBytes);
  const input = await openInput(flags.input, io);
  const run = new EnqueueRun(queue, redis, flags.quiet === true, maxLineBytes, io, exit);
  const onSignal = (signal: NodeJS.Signals): void => run.requestStop(signal);
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    if (input.isTerminal) run.note('reading jobs from the terminal, one JSON value per line; Ctrl-D ends the input');
    return await run.add(input.stream, options);
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    input.stream.destroy();
  }
}

/** The flags as `enqueueInput` options (without the callbacks). @throws {UsageError} */
function enqueueOptions(queue: string, redis: RedisFlag, flags: EnqueueFlags): Omit<EnqueueOptions, 'onInvalid' | 'onBatch'> {
  const options: Omit<EnqueueOptions, 'onInvalid' | 'onBatch'> = { queue: queueName('the queue', queue), connection: redis.url };
  const batchSize = wholeNumber('--batch-size', flags.batchSize, 1);
  if (batchSize !== undefined) options.batchSize = batchSize;
  if (flags.jobName !== undefined) {
    if (flags.jobName === '') throw new UsageError('--job-name is empty');
    options.jobName = flags.jobName;
  }
  if (flags.idField !== undefined) {
    if (flags.idField === '') throw new UsageError('--id-field is empty');
    options.idField = flags.idField;
  }
  const attempts = wholeNumber('--attempts', flags.attempts, 1);
  const backoff = wholeNumber('--backoff', flags.backoff, 0);
  if (attempts !== undefined || backoff !== undefined) {
    options.jobOptions = {
      ...(attempts === undefined ? {} : { attempts }),
      ...(backoff === undefined ? {} : { backoff: { type: 'exponential', delay: backoff } }),
    };
  }
  return options;
}

/** One run of `enqueue`: its counts, its stop request and its messages. */
class EnqueueRun {
  readonly #queue: string;
  readonly #redis: RedisFlag;
  readonly #quiet: boolean;
  readonly #maxLineBytes: number;
  readonly #io: CliIo;
  readonly #exit: (code: number) => void;
  /** Counted here too, so that a failure half-way can still say what was added. */
  #lines = 0;
  #invalid = 0;
  #added = 0;
  #stopSignal: NodeJS.Signals | undefined;
  #input: Readable | undefined;
  /** The input is being read (Redis answered). */
  #reading = false;
  /** The error reading the input failed with (not Redis's). */
  #inputError: unknown;

  constructor(queue: string, redis: RedisFlag, quiet: boolean, maxLineBytes: number, io: CliIo, exit: (code: number) => void) {
    this.#queue = queue;
    this.#redis = redis;
    this.#quiet = quiet;
    this.#maxLineBytes = maxLineBytes;
    this.#io = io;
    this.#exit = exit;
  }

  async add(stream: Readable, options: Omit<EnqueueOptions, 'onInvalid' | 'onBatch'>): Promise<number> {
    this.#input = stream;
    const slow = setTimeout(() => !this.#reading && this.note(`waiting for Redis at ${this.#redis.shown} (Ctrl-C stops)`), SLOW_START_MS);
    slow.unref();
    let counts: EnqueueCounts;
    try {
      counts = await enqueueInput(this.#read(stream), {
        ...options,
        onInvalid: ({ line, reason }) => {
          this.#invalid++;
          this.#io.stderr.write(`line ${line}: ${reason}\n`);
        },
        onBatch: (c) => (this.#added = c.added),
      });
    } catch (error) {
      return this.#failed(error);
    } finally {
      clearTimeout(slow);
    }
    this.#io.stdout.write(`${JSON.stringify(counts)}\n`);
    if (this.#stopSignal !== undefined) {
      this.note(`stopped by ${this.#stopSignal}: the input after line ${counts.lines} was not read; ${jobsAdded(counts.added)}`);
      return exitCodeForSignal(this.#stopSignal);
    }
    return counts.invalid > 0 ? EXIT.FAILED : EXIT.OK;
  }

  /**
   * The first signal stops reading (the lines read so far are still added); a second one exits
   * at once (a Redis that does not answer must not hold the command forever).
   */
  requestStop(signal: NodeJS.Signals): void {
    if (this.#stopSignal !== undefined) {
      this.#message(`${signal}: exiting now; the last batch may or may not have been added`);
      this.#exit(exitCodeForSignal(this.#stopSignal));
      return;
    }
    this.#stopSignal = signal;
    if (!this.#reading) {
      // Still connecting (for up to 10 s if Redis is away): nothing was read, nothing to add.
      this.#io.stdout.write(`${JSON.stringify({ lines: 0, added: 0, invalid: 0 })}\n`);
      this.note(`stopped by ${signal} while connecting to Redis: no line was read, no job was added`);
      this.#exit(exitCodeForSignal(signal));
      return;
    }
    this.note(`${signal}: no more input is read; adding the lines read so far (again to exit at once)`);
    this.#input?.destroy(); // ends the line iterator even while it waits for input
  }

  /** An informational message (hidden by --quiet). */
  note(text: string): void {
    if (!this.#quiet) this.#message(text);
  }

  /**
   * The input's lines, ending early on a stop request (which destroys the input). A line longer
   * than `--max-line-bytes` is skipped as it streams past, never held; it and a line that is not
   * UTF-8 are refused (reported, counted invalid). A byte-order mark and `\r\n` are dropped.
   */
  async *#read(stream: Readable): AsyncGenerator<string | RefusedLine> {
    if (this.#stopSignal !== undefined) return;
    this.#reading = true;
    try {
      // After a stop request destroys the input, the lines already split off its last chunk still come: they were read.
      for await (const raw of splitLines(stream, this.#maxLineBytes)) {
        this.#lines = raw.line;
        const decoded = decodeLine(raw, 'lines', this.#maxLineBytes);
        if (decoded.kind === 'invalid') yield { refused: decoded.problem.message };
        else yield decoded.kind === 'task' ? (decoded.task as string) : '';
      }
    } catch (error) {
      if (this.#stopSignal !== undefined) return; // destroying the input on a stop request is no error
      this.#inputError = error;
      throw error;
    }
  }

  #failed(error: unknown): number {
    // Once reading, Redis had answered: a RedisUnavailableError now means it went away mid-run.
    const start = this.#reading ? undefined : bullmqStartFailure(error, this.#redis.shown);
    if (start) {
      this.#message(start.message);
      return start.exitCode;
    }
    if (error instanceof TypeError) throw error; // a bug, not Redis
    // Say how far it got: the counts of the batches added before the failure.
    this.#io.stdout.write(`${JSON.stringify({ lines: this.#lines, added: this.#added, invalid: this.#invalid })}\n`);
    if (error === this.#inputError) {
      this.#message(`cannot read the input: ${(error as Error).message}; ${jobsAdded(this.#added)}`);
      return EXIT.FAILED;
    }
    this.#message(`Redis at ${this.#redis.shown} failed while jobs were being added: ${(error as Error).message}; ${jobsAdded(this.#added)}`);
    return EXIT.START;
  }

  #message(text: string): void {
    this.#io.stderr.write(`${redact(`looppool enqueue ${this.#queue}: ${text}`, this.#redis.secrets)}\n`);
  }
}

/** `2 jobs were added`, `1 job was added`. */
function jobsAdded(n: number): string {
  return `${count(n, 'job')} ${n === 1 ? 'was' : 'were'} added`;
}
