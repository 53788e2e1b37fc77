import type { TaskContext } from './worker.ts';

/** The runtime's side of a {@link TaskContext}: the signal is created only when a task asks for it. */
export class RuntimeTaskContext implements TaskContext {
  readonly id: number;
  readonly attempt: number;
  /** Its `processMessage` was called (false while it waits in the run queue). */
  started = false;
  readonly #emit: (value: unknown, taskId: number) => void;
  #controller: AbortController | undefined;
  #abortReason: unknown;

  constructor(id: number, attempt: number, emit: (value: unknown, taskId: number) => void) {
    this.id = id;
    this.attempt = attempt;
    this.#emit = emit;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  putResult(value: unknown): void {
    this.#emit(value, this.id);
  }

  /** Abort the task's signal (lazily, if nobody has asked for it yet). */
  abort(reason: unknown): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }
}
