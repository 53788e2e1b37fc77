/**
 * A submission made into a task: its per-task options checked (a bad one throws and queues
 * nothing), its payload encoded once, an id given, and its caller's AbortSignal watched until it
 * settles. Whether the pool takes submissions at all is the core's to decide, before this.
 */
import { TaskAbortedError } from '../errors.ts';
import { show, taskTimeoutOption, type ResolvedPoolOptions } from '../options.ts';
import { encodePayload } from '../transport/encode.ts';
import { SignalWatch } from './signal-watch.ts';
import { PendingTask, type TaskMode } from './task.ts';
import type { TaskTiming } from './task-timing.ts';

/** Per-task options of `put`/`run`, as the core takes them. */
export interface SubmitOptions {
  worker?: number;
  timeout?: number;
  signal?: AbortSignal;
  onDispatch?: (info: { worker: number; pid: number }) => void;
  onSubmit?: (taskId: number) => void;
}

export class Submissions {
  readonly #options: ResolvedPoolOptions;
  readonly #timing: TaskTiming | undefined;
  /** Take an aborted task back from wherever it is (queue or worker); it is failed right after. */
  readonly #withdraw: (task: PendingTask) => void;
  #nextId = 1;
  readonly #signals = new SignalWatch<PendingTask>((task, signal) => {
    this.#withdraw(task);
    task.fail(new TaskAbortedError(task.id, { cause: signal.reason }));
  });

  constructor(options: ResolvedPoolOptions, timing: TaskTiming | undefined, withdraw: (task: PendingTask) => void) {
    this.#options = options;
    this.#timing = timing;
    this.#withdraw = withdraw;
  }

  /**
   * Check the options and encode the payload; `accepted` runs between the checks and the task's
   * making (the pool starts itself there), so a submission that throws starts nothing.
   */
  create(mode: TaskMode, task: unknown, options: SubmitOptions, accepted: () => void, resolve?: (v: unknown) => void, reject?: (e: Error) => void): PendingTask {
    const signal = options.signal;
    if (signal?.aborted) throw new TaskAbortedError(0, { cause: signal.reason });
    const size = this.#options.size;
    const target = options.worker ?? -1;
    if (target !== -1 && !(Number.isInteger(target) && target >= 0 && target < size)) {
      throw new TypeError(`Expected \`worker\` to be an integer from 0 to ${size - 1}, got ${show(target)}`);
    }
    const timeout = taskTimeoutOption(options.timeout) ?? this.#options.taskTimeout;
    const payload = encodePayload(task, 'task', this.#options.maxMessageBytes);
    accepted();
    const pending = new PendingTask(this.#nextId++, mode, payload, target, resolve, reject);
    pending.timeout = timeout;
    this.#timing?.submitted(pending);
    if (options.onDispatch) pending.onDispatch = options.onDispatch;
    options.onSubmit?.(pending.id);
    if (signal) pending.cleanup = this.#signals.watch(pending, signal);
    return pending;
  }
}
