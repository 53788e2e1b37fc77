/**
 * A submission made into a task: its per-task options read once and checked (a bad one throws
 * and queues nothing), its payload encoded once, an id given, and its caller's AbortSignal
 * watched until it settles. Whether the pool takes submissions at all is the core's to decide,
 * before this.
 */
import { TaskAbortedError } from '../errors.ts';
import { assertOptionsArgument, readOptions, show } from '../internal/option-checks.ts';
import { guarded } from '../internal/user-callbacks.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import { taskTimeoutOption } from './call-options.ts';
import { encodePayload } from '../transport/encode.ts';
import { SignalWatch } from './signal-watch.ts';
import { PendingTask, type TaskMode } from './task.ts';
import type { TaskTiming } from './task-timing.ts';

/** Per-task options of `put`/`run`, as the core takes them. */
export interface SubmitOptions {
  worker?: number | undefined;
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
  onDispatch?: ((info: { worker: number; pid: number }) => void) | undefined;
  onSubmit?: ((taskId: number) => void) | undefined;
}

/** What `put`/`putNowait`/`run` pass when given no options: nothing to check. */
export const NO_OPTIONS: SubmitOptions = Object.freeze({});

/** The options each kind of submission takes: `put` has no caller waiting for the task to settle. */
const KNOWN: Readonly<Record<TaskMode, ReadonlySet<string>>> = {
  put: new Set(['worker', 'timeout']),
  run: new Set(['worker', 'timeout', 'signal', 'onDispatch', 'onSubmit']),
};

/** Said of an unknown option given to `put`: whether it is one of `run`'s. */
function putHint(key: string): string {
  return KNOWN.run.has(key) ? ' (put and putNowait take `worker` and `timeout`; it is an option of run)' : '';
}

/**
 * The per-task options of `options`, each read once (see readOptions): an object of known keys
 * (a typo or a `run` option given to `put` throws), `signal` and the callbacks of the right kind
 * (`worker` and `timeout` are checked by `Submissions.create`, which knows the pool). What the
 * submission uses is this object, never `options` again: a getter runs once, and the value
 * checked is the value used. NO_OPTIONS comes back as it is: nothing read, nothing made.
 * @throws {TypeError}
 */
export function readTaskOptions(mode: TaskMode, options: SubmitOptions): SubmitOptions {
  if (options === NO_OPTIONS) return options; // the common case, and cold code checks keys slowly (~0.5 us)
  assertOptionsArgument(options);
  // Null is not refused as such: each option's own check names what it takes, as it always has.
  const read = readOptions(options, KNOWN[mode], '', mode === 'put' ? putHint : '', KNOWN.run) as SubmitOptions;
  const { signal, onDispatch, onSubmit } = read;
  checkSignal(signal);
  if (onDispatch !== undefined && typeof onDispatch !== 'function') throw new TypeError(`Expected \`onDispatch\` to be a function, got ${show(onDispatch)}`);
  if (onSubmit !== undefined && typeof onSubmit !== 'function') throw new TypeError(`Expected \`onSubmit\` to be a function, got ${show(onSubmit)}`);
  return read;
}

/** `signal` option of `run()` and `map()`: undefined or an AbortSignal. @throws {TypeError} */
export function checkSignal(signal: unknown): void {
  if (signal !== undefined && !isSignal(signal)) throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${show(signal)}`);
}

/** An AbortSignal, from this realm or another (duck-typed, as SignalWatch uses it). */
function isSignal(value: unknown): boolean {
  const s = value as Partial<AbortSignal> | null;
  return typeof s === 'object' && s !== null && typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function';
}

/**
 * Every pool's tasks under the callers' signals, with one 'abort' listener per signal however
 * many pools share it: one watch per pool made Node warn of a leak (MaxListenersExceededWarning)
 * once eleven pools ran tasks under one signal (an application's shutdown signal, a pool per job).
 */
const WATCHED = new SignalWatch<{ readonly task: PendingTask; readonly withdraw: (task: PendingTask, error: TaskAbortedError) => void }>(({ task, withdraw }, signal) => {
  withdraw(task, new TaskAbortedError(task.id, { cause: signal.reason }));
});

export class Submissions {
  readonly #options: ResolvedPoolOptions;
  readonly #timing: TaskTiming | undefined;
  /** Take an aborted task back from wherever it is (queue or worker), and fail it with `error`. */
  readonly #withdraw: (task: PendingTask, error: TaskAbortedError) => void;
  #nextId = 1;

  constructor(options: ResolvedPoolOptions, timing: TaskTiming | undefined, withdraw: (task: PendingTask, error: TaskAbortedError) => void) {
    this.#options = options;
    this.#timing = timing;
    this.#withdraw = withdraw;
  }

  /**
   * Check the options (as readTaskOptions returned them) and encode the payload; `accepted` runs
   * between the checks and the task's making (the pool starts itself there), so a submission its
   * checks refuse starts nothing.
   * `refuse` may then still refuse it by throwing, given its target (-1: any worker): a full
   * queue; it takes no id. Its `onSubmit` is the caller's to call: see `announce`.
   */
  create(
    mode: TaskMode,
    task: unknown,
    options: SubmitOptions,
    accepted: () => void,
    refuse: ((target: number) => void) | undefined,
    resolve?: (v: unknown) => void,
    reject?: (e: Error) => void,
  ): PendingTask {
    const size = this.#options.size;
    const worker = options.worker;
    if (worker !== undefined && !(Number.isInteger(worker) && worker >= 0 && worker < size)) {
      throw new TypeError(`Expected \`worker\` to be an integer from 0 to ${size - 1}, got ${show(worker)}`);
    }
    const target = worker ?? -1;
    const timeout = taskTimeoutOption(options.timeout) ?? this.#options.taskTimeout;
    const payload = encodePayload(task, 'task', this.#options.maxMessageBytes);
    // Looked at after the checks, so that bad input gets its own error whatever the signal says,
    // and after the encoding, which runs the task's getters: one may abort it (no listener yet).
    const signal = options.signal;
    if (signal?.aborted) throw new TaskAbortedError(0, { cause: signal.reason }, 'The task was not submitted: its signal had already aborted');
    accepted();
    refuse?.(target);
    const pending = new PendingTask(this.#nextId++, mode, payload, target, resolve, reject);
    pending.timeout = timeout;
    this.#timing?.submitted(pending);
    // Called while the pool handles a worker's message (a freed credit): a throw must not unwind through it.
    if (options.onDispatch) pending.onDispatch = guarded(options.onDispatch);
    if (signal) pending.cleanup = WATCHED.watch({ task: pending, withdraw: this.#withdraw }, signal);
    return pending;
  }

  /**
   * Give the caller the task's id (`onSubmit`) once the task is queued or waits for room: what
   * the callback does then (abort the task's signal, stop the pool) finds it there. Called before,
   * it left a task its signal never reached, or one a stop never saw, pending for ever.
   */
  announce(pending: PendingTask, options: SubmitOptions): void {
    if (options.onSubmit) guarded(options.onSubmit)(pending.id); // the task is the pool's now: a throw must not lose it
  }
}
