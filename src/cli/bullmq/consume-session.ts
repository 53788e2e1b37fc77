/**
 * One `looppool run --bullmq`, from start to exit code: starts the consumer (which connects to
 * Redis and starts the pool), writes one record per finished job attempt and per streamed result
 * (consume-records.ts), shows the progress display, and stops cleanly on signals, on
 * `looppool stop`, after `--max-jobs`, when stdout goes away, and when the consumer closes by
 * itself. A queue has no end: without `--max-jobs` the run lasts until it is stopped.
 */
import { DEFAULT_POOL_OPTIONS, type Pool } from '../../index.ts';
import type { BullmqConsumer, ConsumerStats } from '../../bullmq/index.ts';
import { startControlServer, type ControlServer } from '../../control/index.ts';
import { EXIT, exitCodeForSignal } from '../exit-codes.ts';
import { count } from '../format.ts';
import type { CliIo } from '../io.ts';
import type { RunConfig } from '../run/options.ts';
import { printPoolNotices } from '../run/pool-notices.ts';
import { ProgressDisplay, type ProgressSnapshot } from '../run/progress.ts';
import { progressModeFor } from '../run/progress-mode.ts';
import { RecordWriter } from '../run/record-writer.ts';
import { RunStats } from '../run/run-stats.ts';
import { redact } from '../run/session.ts';
import { consumeExitCode, inFlightFate, stopCounts, type ConsumeEndReason } from './consume-end.ts';
import { consumeSnapshot } from './consume-progress.ts';
import { ConsumeRecords } from './consume-records.ts';
import { consumeSummary, writeConsumeSummary } from './consume-summary.ts';
import type { BullmqRunConfig } from './run-options.ts';
import { bullmqStartFailure } from './start-error.ts';

/** How often the session checks that the consumer is still running. */
const WATCH_MS = 500;
/** After this long connecting, say what the run is waiting for. */
const SLOW_START_MS = 1_000;

/** One consuming run; `run()` resolves with the exit code. */
export class ConsumeSession {
  readonly #config: RunConfig;
  readonly #bull: BullmqRunConfig;
  readonly #io: CliIo;
  readonly #pool: Pool<unknown, unknown>;
  readonly #consumer: BullmqConsumer<unknown, unknown>;
  readonly #writer: RecordWriter;
  readonly #records: ConsumeRecords;
  readonly #stats = new RunStats();
  readonly #progress: ProgressDisplay | undefined;
  readonly #secrets: readonly string[];
  readonly #ended: Promise<void>;
  #end: () => void = () => {};
  #reason: ConsumeEndReason | undefined;
  #stopRequests = 0;
  /** The consumer's counts as the stop began: the last line says what became of the jobs it held then. */
  #atStop: ConsumerStats | undefined;
  /** Resolves on the stop request that stops at once: a stalled stdout is then not waited for. */
  readonly #stopNow: Promise<void>;
  #resolveStopNow!: () => void;
  #started = false;
  #lastError = '';
  #control: ControlServer | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #watch: NodeJS.Timeout | undefined;

  constructor(config: RunConfig, bull: BullmqRunConfig, io: CliIo, pool: Pool<unknown, unknown>, consumer: BullmqConsumer<unknown, unknown>) {
    this.#config = config;
    this.#bull = bull;
    this.#io = io;
    this.#stopNow = new Promise((resolve) => (this.#resolveStopNow = resolve));
    this.#pool = pool;
    this.#consumer = consumer;
    this.#secrets = [...config.secrets, ...bull.redis.secrets];
    this.#ended = new Promise((resolve) => (this.#end = resolve));
    const mode = progressModeFor(io, config.quiet, true); // 'above': records on the display's terminal go above it, not over it
    if (mode !== 'none') this.#progress = new ProgressDisplay(io.stderr, () => this.#snapshot());
    this.#writer = new RecordWriter((mode === 'above' ? this.#progress?.above() : undefined) ?? io.stdout, false);
    this.#writer.onBroken((error) => this.#outputBroken(error));
    printPoolNotices(pool, (text) => this.#log(text), () => this.#started);
    this.#records = new ConsumeRecords(pool, consumer, this.#writer, this.#stats, () => this.#checkMaxJobs());
    this.#listenToConsumer();
  }

  /** Run until stopped; resolves with the exit code. */
  async run(): Promise<number> {
    try {
      const failedStart = await this.#start();
      if (failedStart !== undefined) return failedStart;
      this.#announce();
      await this.#openControl();
      this.#progress?.start();
      this.#watch = setInterval(() => this.#checkConsumer(), WATCH_MS).unref();
      await this.#ended;
      await this.#shutdown();
      return await this.#finish();
    } finally {
      clearTimeout(this.#drainTimer);
      clearInterval(this.#watch);
      this.#progress?.stop();
      await this.#control?.close();
    }
  }

  /**
   * A stop request (a signal, or `looppool stop` through the control channel). The first one
   * stops taking jobs and lets the jobs in flight finish; the next one (or `now`) puts them back
   * in the queue and kills the workers.
   */
  requestStop(signal: NodeJS.Signals, now = false): void {
    this.#stopRequests += now ? 2 : 1;
    if (this.#reason?.kind !== 'signal') this.#reason = { kind: 'signal', signal };
    this.#end();
    if (!this.#started) return; // #start() sees the request
    if (this.#stopRequests > 1) {
      this.#resolveStopNow();
      this.#log(`${signal}: stopping now${this.#stoppingNow()}`);
      this.#force();
      return;
    }
    this.#log(`${signal}: taking no more jobs; finishing the ${this.#inFlight()} (again to stop at once)`);
  }

  async #start(): Promise<number | undefined> {
    const stopped = this.#ended.then(() => 'stopped' as const);
    const slow = setTimeout(() => this.#log(`starting: waiting for Redis at ${this.#bull.redis.shown} and for the workers to be ready (Ctrl-C stops)`), SLOW_START_MS).unref();
    let outcome: 'started' | 'stopped';
    try {
      outcome = await Promise.race([this.#consumer.start().then(() => 'started' as const), stopped]);
    } catch (error) {
      await this.#pool.terminate();
      if (this.#reason?.kind === 'signal') return this.#stoppedWhileStarting(this.#reason.signal);
      const failure = bullmqStartFailure(error, this.#bull.redis.shown) ?? { exitCode: EXIT.START, message: `the consumer could not start: ${(error as Error).message}` };
      this.#error(failure.message);
      return this.#endedAtStart(failure.exitCode, null);
    } finally {
      clearTimeout(slow);
    }
    if (outcome === 'stopped') {
      // Nothing was taken yet: the consumer takes jobs only once started. Do not wait for Redis.
      this.#consumer.close({ force: true }).catch(() => {});
      await this.#pool.terminate();
      return this.#stoppedWhileStarting(this.#reason?.kind === 'signal' ? this.#reason.signal : 'SIGTERM');
    }
    this.#started = true;
    return undefined;
  }

  #stoppedWhileStarting(signal: NodeJS.Signals): Promise<number> {
    this.#error(`stopped by ${signal} while starting: no job was taken`);
    return this.#endedAtStart(exitCodeForSignal(signal), signal);
  }

  /** A run that ended before it started still writes `--json-summary` (a supervisor would read an earlier run's). */
  async #endedAtStart(exitCode: number, signal: NodeJS.Signals | null): Promise<number> {
    const { name, jsonSummary: json } = this.#config;
    if (json === undefined) return exitCode;
    const summary = consumeSummary(this.#stats, this.#consumer.stats(), { written: 0, restarts: this.#pool.stats().restarts, signal, exitCode, leftActive: 0 });
    const failure = await writeConsumeSummary(summary, { name, json, quiet: true, cwd: this.#io.cwd, stderr: this.#io.stderr });
    if (failure) this.#error(failure);
    return exitCode;
  }

  /** Close the consumer (the jobs in flight finish), then stop the pool; force both after `--stop-timeout`. */
  async #shutdown(): Promise<void> {
    const timeout = this.#config.pool.stopTimeout ?? DEFAULT_POOL_OPTIONS.stopTimeout;
    this.#atStop = this.#consumer.stats();
    this.#drainTimer = setTimeout(() => {
      const late = this.#consumer.stats().active === 0
        ? `the consumer did not close within ${timeout} ms (--stop-timeout), though no job is in flight (BullMQ waits for Redis)`
        : `the ${this.#inFlight()} did not finish within ${timeout} ms (--stop-timeout)`;
      this.#log(`${late}: stopping now${this.#stoppingNow()}`);
      this.#force();
    }, timeout);
    this.#drainTimer.unref();
    await this.#consumer.close();
    clearTimeout(this.#drainTimer); // the jobs in flight are done: nothing left to force
    await this.#pool.stop();
  }

  /** What a forced stop does to the jobs held now (the last line says what became of them). */
  #stoppingNow(): string {
    return this.#consumer.stats().active === 0 ? '' : `: the tasks still running are aborted, their jobs go back to the queue (no attempt used)`;
  }

  /** `3 jobs in flight`: the jobs the consumer holds (running, or their result being stored). */
  #inFlight(): string {
    return `${count(this.#consumer.stats().active, 'job')} in flight`;
  }

  #force(): void {
    this.#consumer.close({ force: true }).catch((error: unknown) => this.#error(`closing the consumer: ${(error as Error).message}`));
    this.#pool.terminate().catch((error: unknown) => this.#error(`stopping the pool: ${(error as Error).message}`));
  }

  #endWith(reason: ConsumeEndReason): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#end();
  }

  #listenToConsumer(): void {
    const consumer = this.#consumer;
    consumer.on('requeued', (info) => this.#log(`job ${info.jobId} went back to the queue: ${info.reason}`));
    consumer.on('error', (error) => {
      // A lost connection is reported at every reconnection attempt: say it once.
      if (error.message === this.#lastError) return;
      this.#lastError = error.message;
      this.#error(`BullMQ: ${error.message}`);
    });
  }

  /** A finished attempt's record was written: stop after `--max-jobs`. */
  #checkMaxJobs(): void {
    const max = this.#bull.maxJobs;
    if (max !== undefined && this.#stats.finished === max && this.#reason === undefined) {
      this.#log(`${count(max, 'job')} finished (--max-jobs): taking no more; finishing the ${this.#inFlight()}`);
      this.#endWith({ kind: 'maxJobs' });
    }
  }

  /** The consumer closes by itself when the pool stops under it. */
  #checkConsumer(): void {
    if (this.#reason !== undefined) return;
    const state = this.#consumer.state;
    if (state !== 'closing' && state !== 'closed') return;
    this.#error('the consumer closed by itself (its pool stopped): no more jobs are taken');
    this.#endWith({ kind: 'closed' });
  }

  #outputBroken(error: NodeJS.ErrnoException): void {
    if (error.code !== 'EPIPE') this.#error(`cannot write the output: ${error.message}`);
    if (this.#reason === undefined) this.#log('stdout was closed: taking no more jobs; the jobs in flight finish (their results are in Redis)');
    this.#endWith({ kind: 'output', error });
  }

  async #openControl(): Promise<void> {
    if (!this.#config.control) return;
    try {
      this.#control = await startControlServer(this.#pool, {
        name: this.#config.name,
        details: () => ({ command: 'run', bullmq: this.#consumer.stats(), stopping: this.#reason !== undefined }),
        onStop: (drain) => (drain && this.#stopRequests > 0 ? undefined : this.requestStop('SIGTERM', !drain)),
      });
    } catch (error) {
      this.#log(`no control channel (looppool top/stop will see less): ${(error as Error).message}`);
    }
  }

  #announce(): void {
    const { capacity } = this.#consumer.stats();
    const max = this.#bull.maxJobs;
    const until = max === undefined ? 'Ctrl-C or SIGTERM stops it' : `it stops once ${count(max, 'job')} ${max === 1 ? 'has' : 'have'} finished`;
    this.#log(
      `consuming queue ${this.#bull.queue} at ${this.#bull.redis.shown}: up to ${count(capacity, 'job')} at a time ` +
        `(${count(this.#pool.size, 'worker')} × ${this.#pool.concurrency}); ${until}`,
    );
  }

  #snapshot(): ProgressSnapshot {
    return consumeSnapshot(this.#config.name, this.#pool.stats(), this.#consumer.stats(), this.#stats, this.#records.outputFull);
  }

  async #finish(): Promise<number> {
    const reason = this.#reason ?? { kind: 'closed' };
    const exitCode = consumeExitCode(reason, this.#stats.failed);
    const written = await this.#writer.endUnlessStalled(false, true, this.#stopNow);
    if (!written) this.#error('stdout did not take the last records (its reader stopped reading or fell behind): they are dropped; the jobs\' results are in Redis');
    const signal = reason.kind === 'signal' ? reason.signal : null;
    const now = this.#consumer.stats();
    const fate = stopCounts(this.#atStop ?? now, now);
    const summary = consumeSummary(this.#stats, now, { written: this.#writer.taken, restarts: this.#pool.stats().restarts, signal, exitCode, leftActive: fate.left });
    this.#progress?.stop();
    if (signal !== null) this.#error(`stopped by ${signal}: ${inFlightFate(fate)}`);
    const { name, jsonSummary: json, quiet } = this.#config;
    const silent = reason.kind === 'output';
    const failure = await writeConsumeSummary(summary, { name, json, quiet: quiet || silent, cwd: this.#io.cwd, stderr: this.#io.stderr });
    if (failure) this.#error(failure);
    return exitCode;
  }

  /** An informational message (hidden by --quiet). */
  #log(text: string): void {
    if (!this.#config.quiet) this.#error(text);
  }

  /** A message that is always shown. */
  #error(text: string): void {
    const line = redact(`looppool ${this.#config.name}: ${text}`, this.#secrets);
    if (this.#progress?.isActive) this.#progress.log(line);
    else this.#io.stderr.write(`${line}\n`);
  }
}
