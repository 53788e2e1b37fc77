/**
 * One `looppool run`, from start to exit code: starts the pool, reads lines and hands them to
 * the task window, and stops cleanly on end of input, on signals, on `looppool stop` and when
 * the output goes away.
 */
import { DEFAULT_POOL_OPTIONS, type Pool } from '../../index.ts';
import { startControlServer, type ControlServer } from '../../control/index.ts';
import { exitCodeForSignal } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';
import { decodeLine } from './decode-line.ts';
import { runExitCode, stoppedNote, writeSummary, type StopReason } from './finish.ts';
import { countLines, type InputSource, type OutputSink } from './input.ts';
import { LineReader } from './line-reader.ts';
import type { RunConfig } from './options.ts';
import { printPoolNotices } from './pool-notices.ts';
import { ProgressDisplay, type ProgressSnapshot } from './progress.ts';
import { progressModeFor } from './progress-mode.ts';
import { RecordWriter } from './record-writer.ts';
import { inputError } from './records.ts';
import { RunStats } from './run-stats.ts';
import { startFailureExitCode, startFailureMessage } from './start-error.ts';
import { TaskWindow } from './task-window.ts';

/** One run of `looppool run` over one input; `run()` resolves with the exit code. */
export class RunSession {
  readonly #config: RunConfig;
  readonly #io: CliIo;
  readonly #pool: Pool<unknown, unknown>;
  readonly #input: InputSource;
  readonly #output: OutputSink;
  readonly #writer: RecordWriter;
  readonly #stats = new RunStats();
  readonly #tasks: TaskWindow;
  readonly #progress: ProgressDisplay | undefined;
  #stopReason: StopReason | undefined;
  /** The signal that stopped the run first, if one did. */
  #signal: NodeJS.Signals | null = null;
  #stopRequests = 0;
  #started = false;
  #notStartedLine = 0;
  /** Every line of the input was read and started: nothing was left unread. */
  #inputEnded = false;
  /** Every task is done and the pool stopped: only the output is left to take the last records. */
  #flushing = false;
  #control: ControlServer | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  /** Resolves on the stop request that stops at once: the output is then not waited for. */
  readonly #stopNow: Promise<void>;
  #resolveStopNow!: () => void;

  constructor(config: RunConfig, io: CliIo, pool: Pool<unknown, unknown>, input: InputSource, output: OutputSink) {
    this.#config = config;
    this.#io = io;
    this.#pool = pool;
    this.#input = input;
    this.#output = output;
    this.#stopNow = new Promise((resolve) => (this.#resolveStopNow = resolve));
    const mode = progressModeFor(io, config.quiet, !output.close);
    if (mode !== 'none') this.#progress = new ProgressDisplay(io.stderr, () => this.#snapshot());
    // Records going to the same terminal as the display are printed above it, not over it.
    const above = mode === 'above' ? this.#progress?.above() : undefined;
    this.#writer = new RecordWriter(above ?? output.stream, config.ordered);
    this.#writer.onBroken((error) => this.#outputBroken(error));
    const concurrency = config.pool.concurrency ?? DEFAULT_POOL_OPTIONS.concurrency;
    this.#tasks = new TaskWindow(pool, concurrency, this.#writer, this.#stats);
    // With --blocked-threshold, a blocked loop is printed through the display rather than over it.
    printPoolNotices(pool, (text) => this.#log(text), () => this.#started);
  }

  /** Run to the end; resolves with the exit code. */
  async run(): Promise<number> {
    try {
      const failedStart = await this.#start();
      if (failedStart !== undefined) return failedStart;
      await this.#openControl();
      this.#startProgress();
      await this.#feed();
      await this.#tasks.whenIdle();
      clearTimeout(this.#drainTimer);
      await this.#pool.stop();
      return await this.#finish();
    } finally {
      clearTimeout(this.#drainTimer);
      this.#progress?.stop();
      await this.#control?.close();
      this.#input.stream.destroy();
    }
  }

  /**
   * A stop request (a signal, or `looppool stop` through the control channel). The first one
   * stops reading and lets the started tasks finish; the next one (or `now`) kills the workers.
   */
  requestStop(signal: NodeJS.Signals, now = false): void {
    this.#stopRequests += now ? 2 : 1;
    if (this.#stopReason === undefined) this.#signal = signal; // kept when a failed output then ends the run
    this.#stopReason ??= { kind: 'signal', signal };
    this.#beginStop();
    if (this.#flushing) {
      this.#stopWhileFlushing(signal);
      return;
    }
    if (this.#stopRequests > 1 || !this.#started) {
      this.#resolveStopNow();
      if (this.#started) this.#log(`${signal}: stopping the workers now; their unfinished tasks get error records`);
      void this.#pool.terminate();
      return;
    }
    this.#log(`${signal}: no more input is read; finishing the ${this.#tasks.size} started tasks (again to stop at once)`);
    const timeout = this.#config.pool.stopTimeout ?? DEFAULT_POOL_OPTIONS.stopTimeout;
    // A stop whose timeout has passed already: the tasks it ends say so (terminate() says "the pool was terminated", a second signal's words).
    this.#drainTimer = setTimeout(() => void this.#pool.stop({ drain: false, timeout: 0 }), timeout);
    this.#drainTimer.unref();
  }

  /** A stop request that comes once every task is done: the first waits for the output, the next gives it up. */
  #stopWhileFlushing(signal: NodeJS.Signals): void {
    if (this.#stopRequests === 1) {
      this.#log(`${signal}: every task is done; waiting for the output to take their last records (again to stop at once)`);
      return;
    }
    this.#log(`${signal}: no longer waiting for the output to take the last records`);
    this.#resolveStopNow();
  }

  async #start(): Promise<number | undefined> {
    try {
      await this.#pool.start();
    } catch (error) {
      if (this.#stopReason?.kind === 'signal') return this.#stoppedWhileStarting(this.#stopReason.signal);
      const code = startFailureExitCode(error);
      this.#error(startFailureMessage(error, code));
      return this.#endedAtStart(code, null);
    }
    this.#started = true;
    if (this.#stopReason?.kind === 'signal') {
      await this.#pool.terminate();
      return this.#stoppedWhileStarting(this.#stopReason.signal);
    }
    return undefined;
  }

  #stoppedWhileStarting(signal: NodeJS.Signals): Promise<number> {
    this.#error(`stopped by ${signal} while the pool was starting: no input was read`);
    return this.#endedAtStart(exitCodeForSignal(signal), signal);
  }

  /** A run that ended before its pool started still writes `--json-summary` (a supervisor would read an earlier run's). */
  async #endedAtStart(exitCode: number, signal: NodeJS.Signals | null): Promise<number> {
    const { name, jsonSummary: json } = this.#config;
    if (json === undefined) return exitCode;
    const summary = this.#stats.summary({ written: 0, restarts: this.#pool.stats().restarts, signal, stoppedEarly: true, exitCode });
    const failure = await writeSummary(summary, { name, json, quiet: true, silent: false, cwd: this.#io.cwd, stderr: this.#io.stderr });
    if (failure) this.#error(failure);
    return exitCode;
  }

  async #openControl(): Promise<void> {
    if (!this.#config.control) return;
    try {
      this.#control = await startControlServer(this.#pool, {
        name: this.#config.name,
        details: () => this.#details(),
        // A graceful stop twice is one graceful stop (a signal twice is not: the second stops at once).
        onStop: (drain) => (drain && this.#stopRequests > 0 ? undefined : this.requestStop('SIGTERM', !drain)),
      });
    } catch (error) {
      this.#log(`no control channel (looppool top/stop will see less): ${(error as Error).message}`);
    }
  }

  #startProgress(): void {
    const { countable, isTerminal } = this.#input;
    if (countable) void countLines(countable.path, countable.start).then((n) => (n !== undefined && this.#stats.total === undefined ? (this.#stats.total = n) : undefined));
    if (isTerminal) this.#log(`reading tasks from the terminal, one ${this.#config.mode === 'lines' ? 'string' : 'JSON value'} per line; Ctrl-D ends the input`);
    this.#progress?.start();
  }

  #snapshot(): ProgressSnapshot {
    const s = this.#pool.stats();
    const total = this.#stats.total === undefined ? undefined : Math.max(this.#stats.total, this.#stats.finished);
    return { name: this.#config.name, finished: this.#stats.finished, failed: this.#stats.failed, total, restarts: s.restarts, state: s.state, workers: s.workers };
  }

  /**
   * Read and dispatch lines until the input ends or a stop begins. The lines of a chunk are
   * taken one after the other without waiting, except for a free slot in the window.
   */
  async #feed(): Promise<void> {
    const { mode, maxLineBytes } = this.#config;
    const stopping = (): boolean => this.#stopReason !== undefined;
    const lines = new LineReader(maxLineBytes);
    try {
      read: for await (const chunk of chunksThenEnd(this.#input.stream)) {
        if (chunk === END) lines.end();
        else lines.push(chunk);
        while (lines.next()) {
          if (stopping()) break read;
          const decoded = decodeLine(lines, mode, maxLineBytes);
          if (decoded.kind === 'blank') continue;
          this.#stats.read++;
          let waited = 0;
          if (!this.#tasks.hasRoom) {
            const from = performance.now();
            await this.#tasks.slot(stopping);
            waited = performance.now() - from;
            if (stopping()) {
              this.#notStartedLine = lines.line;
              break read;
            }
          }
          this.#writer.expect(lines.line);
          this.#stats.lastLineStarted = lines.line;
          this.#stats.started++;
          if (decoded.kind === 'invalid') this.#tasks.fail(lines.line, inputError(decoded.problem));
          else this.#tasks.submit(lines.line, decoded.task, waited);
        }
        if (chunk === END) this.#inputEnded = true;
      }
    } catch (error) {
      if (!stopping()) {
        this.#stopReason = { kind: 'input', error: error as Error };
        this.#error(`cannot read the input: ${(error as Error).message}`);
      }
    }
    if (this.#inputEnded) this.#stats.total = this.#stats.read;
  }

  #beginStop(): void {
    this.#input.stream.destroy();
    this.#tasks.wake();
  }

  #outputBroken(error: NodeJS.ErrnoException): void {
    if (this.#stopReason?.kind === 'output') return;
    this.#stopReason = { kind: 'output', error };
    if (error.code !== 'EPIPE') this.#error(`cannot write the output: ${error.message}`);
    this.#beginStop();
    void this.#pool.terminate(); // nobody reads the results any more
  }

  async #finish(): Promise<number> {
    this.#flushing = true;
    const written = await this.#writer.endUnlessStalled(this.#output.close, this.#output.mayStall, this.#stopNow);
    // Read only now: a signal, or a reader that went away, while the last records were written
    // ends the run as it would have while tasks ran (it was ignored: exit 0, a summary of a whole run).
    const reason = this.#stopReason;
    const exitCode = runExitCode(reason, this.#stats.failed);
    const summary = this.#stats.summary({
      written: this.#writer.taken,
      restarts: this.#pool.stats().restarts,
      signal: this.#signal,
      stoppedEarly: !this.#inputEnded,
      exitCode,
    });
    this.#progress?.stop();
    if (reason?.kind === 'signal') this.#error(stoppedNote(reason.signal, this.#stats, this.#notStartedLine, !written));
    const { name, jsonSummary: json, quiet } = this.#config;
    const failure = await writeSummary(summary, { name, json, quiet, silent: reason?.kind === 'output', cwd: this.#io.cwd, stderr: this.#io.stderr });
    if (failure) this.#error(failure);
    return exitCode;
  }

  #details(): unknown {
    const s = this.#stats;
    return {
      command: 'run',
      input: { read: s.read, started: s.started, total: s.total ?? null, lastLineStarted: s.lastLineStarted },
      records: { ok: s.ok, failed: s.failed, extras: s.extras },
      window: this.#tasks.capacity,
      ordered: this.#config.ordered,
      stopping: this.#stopReason !== undefined,
    };
  }

  /** An informational message (hidden by --quiet). */
  #log(text: string): void {
    if (!this.#config.quiet) this.#error(text);
  }

  /** A message that is always shown. */
  #error(text: string): void {
    const line = redact(`looppool ${this.#config.name}: ${text}`, this.#config.secrets);
    if (this.#progress?.isActive) this.#progress.log(line);
    else this.#io.stderr.write(`${line}\n`);
  }
}

/** `text` with every secret replaced (the Sentry DSN must never be printed). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('<redacted>');
  return out;
}

const END = Symbol('end of input');

/** The chunks of `stream` as buffers, then {@link END}. */
async function* chunksThenEnd(stream: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer | typeof END> {
  for await (const chunk of stream) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  yield END;
}
