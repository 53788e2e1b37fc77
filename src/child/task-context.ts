import { ResultClosedError } from '../errors.ts';
import type { TaskContext } from './worker.ts';

/** How a task stopped taking results: its promise settled, or a plain Worker's stop abandoned it. */
export type TaskEnd = 'done' | 'failed' | 'stopped';

const ENDED: Readonly<Record<TaskEnd, string>> = {
  done: 'the task has already settled (done); ctx.putResult() works until the promise processMessage returned settles',
  failed: 'the task has already settled (failed); ctx.putResult() works until the promise processMessage returned settles',
  stopped: 'the worker stopped and abandoned the task (poison pill); its abort listeners were the last place to put results',
};

/** The runtime's side of a {@link TaskContext}: the signal is created only when a task asks for it. */
export class RuntimeTaskContext implements TaskContext {
  readonly id: number;
  readonly attempt: number;
  #started = false;
  readonly #emit: (value: unknown, taskId: number) => void;
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #ended: TaskEnd | undefined;

  constructor(id: number, attempt: number, emit: (value: unknown, taskId: number) => void) {
    this.id = id;
    this.attempt = attempt;
    this.#emit = emit;
  }

  /** Its `processMessage` was called (false while it waits in the run queue). Not an own field: a task's code sees only `id` and `attempt`. */
  get started(): boolean {
    return this.#started;
  }

  markStarted(): void {
    this.#started = true;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  putResult(value: unknown): void {
    // The parent forgets a task with its answer: a result sent after it would be a protocol breach
    // that kills the worker and every task it holds. Refuse it here, to the caller alone.
    if (this.#ended !== undefined) throw new ResultClosedError(this.id, ENDED[this.#ended]);
    this.#emit(value, this.id);
  }

  /** The task settled or was abandoned: `putResult` throws from now on (the first end counts). */
  end(how: TaskEnd): void {
    this.#ended ??= how;
  }

  /** Its signal was aborted (its timeout, its caller, a stop): a failure now is looppool's doing. */
  get aborted(): boolean {
    return this.#abortReason !== undefined;
  }

  /** Abort the task's signal (lazily, if nobody has asked for it yet). */
  abort(reason: unknown): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }
}
