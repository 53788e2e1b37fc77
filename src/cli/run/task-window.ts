/**
 * The tasks of a run between the reader and the records: hands them to the pool while fewer
 * than `size × concurrency` are in flight, ties the pool's task ids to input lines (for the
 * results tasks stream), and turns every outcome into exactly one record.
 */
import type { Pool, ResultInfo } from '../../index.ts';
import type { RecordWriter } from './record-writer.ts';
import { errorLine, failureKey, outputError, recordLine, taskError, type ErrorInfo } from './records.ts';
import type { RunStats } from './run-stats.ts';

/** A task handed to the pool and not settled yet. */
interface InFlight {
  readonly line: number;
  /** The pool's task id (`info.taskId` of its streamed results); -line until the pool gave one. */
  id: number;
  readonly startedAt: number;
}

/** The tasks in flight of one run, and the records their outcomes become. */
export class TaskWindow {
  readonly #pool: Pool<unknown, unknown>;
  readonly #writer: RecordWriter;
  readonly #stats: RunStats;
  readonly #inFlight = new Map<number, InFlight>();
  /** Tasks in flight at most: the pool's capacity, so it never queues. */
  readonly capacity: number;
  /** Lines held for order (`--ordered`) at most before reading pauses. */
  readonly #maxBacklog: number;
  #wake: (() => void) | undefined;
  #idle: (() => void) | undefined;
  /** The pool's id of the task `run` is submitting (its `onSubmit` is called before `run` returns). */
  #submittedId = 0;
  readonly #runOptions = {
    onSubmit: (id: number): void => {
      this.#submittedId = id;
    },
  };

  constructor(pool: Pool<unknown, unknown>, concurrency: number, writer: RecordWriter, stats: RunStats) {
    this.#pool = pool;
    this.#writer = writer;
    this.#stats = stats;
    this.capacity = pool.size * concurrency;
    this.#maxBacklog = Math.max(this.capacity * 4, 1024);
    pool.on('result', (value, info) => this.#extra(value, info));
  }

  /** Tasks handed to the pool and not settled yet. */
  get size(): number {
    return this.#inFlight.size;
  }

  /** True when another task may start now: the window has room and the output keeps up. */
  get hasRoom(): boolean {
    return !this.#writer.needsDrain && this.#inFlight.size < this.capacity && this.#writer.backlog < this.#maxBacklog;
  }

  /** Resolves when another task may start and the output keeps up, or when `stopping()` turns true. */
  async slot(stopping: () => boolean): Promise<void> {
    for (;;) {
      if (stopping()) return;
      if (this.#writer.needsDrain) {
        // A stop request wakes this too: an output whose reader does not read must not hold it.
        await Promise.race([this.#writer.ready(), new Promise<void>((resolve) => (this.#wake = resolve))]);
        continue;
      }
      if (this.hasRoom) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Hand the task of `line` to the pool; `waitedMs`: how long its line waited for room. */
  submit(line: number, task: unknown, waitedMs: number): void {
    this.#stats.wait.record(waitedMs);
    const entry: InFlight = { line, id: -line, startedAt: performance.now() };
    this.#submittedId = -line;
    this.#pool.run(task, this.#runOptions).then(
      (value) => this.#settled(entry, value, undefined),
      (error: unknown) => this.#settled(entry, undefined, error ?? new Error('rejected without a reason')),
    );
    entry.id = this.#submittedId;
    this.#inFlight.set(entry.id, entry);
  }

  /** The error record of a line that never became a task. */
  fail(line: number, info: ErrorInfo): void {
    this.#stats.fail(failureKey(info));
    this.#writer.final(line, errorLine(line, info));
  }

  /** Resolves once no task is in flight. */
  whenIdle(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#idle = resolve));
  }

  /** Re-check the waiters (after a stop request or a settled task). */
  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    if (this.#inFlight.size === 0) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle?.();
    }
  }

  #settled(entry: InFlight, value: unknown, error: unknown): void {
    this.#inFlight.delete(entry.id);
    this.#stats.run.record(performance.now() - entry.startedAt);
    if (error !== undefined) {
      this.fail(entry.line, taskError(error));
    } else {
      this.#result(entry.line, value);
    }
    this.wake();
  }

  #result(line: number, value: unknown): void {
    let text: string;
    try {
      text = recordLine(line, 'result', value);
    } catch (err) {
      this.fail(line, outputError(err));
      return;
    }
    this.#stats.ok++;
    this.#writer.final(line, text);
  }

  #extra(value: unknown, info: ResultInfo): void {
    const line = info.taskId === null ? null : (this.#inFlight.get(info.taskId)?.line ?? null);
    this.#stats.extras++;
    try {
      this.#writer.extra(line, recordLine(line, 'extra', value));
    } catch (err) {
      const error = JSON.stringify(outputError(err));
      this.#writer.extra(line, line === null ? `{"extraError":${error}}\n` : `{"line":${line},"extraError":${error}}\n`);
    }
  }
}
