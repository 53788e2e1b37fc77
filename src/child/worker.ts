/**
 * The base classes users extend in their worker module: {@link Worker} stops at once on the
 * poison pill, {@link SafeWorker} finishes its in-flight tasks first.
 */
import { ResultClosedError, WorkerNotInPoolError, type WorkerPoolProperty } from '../errors.ts';

/** Brands a class as a looppool worker. `Symbol.for` so that two copies of the package agree. */
export const WORKER_BRAND: unique symbol = Symbol.for('looppool.Worker') as never;
const BINDING: unique symbol = Symbol.for('looppool.Worker.binding') as never;

/** What the runtime gives a worker instance: its identity and where its results go. @internal */
export interface WorkerBinding {
  readonly number: number;
  readonly name: string;
  readonly workerData: unknown;
  putResult(value: unknown, taskId: number | null): void;
}

/** The second argument of `processMessage`: this task's identity, cancellation and result stream. */
export interface TaskContext<TResult = unknown> {
  /** The pool-wide task id (the same `info.taskId` the parent sees). */
  readonly id: number;
  /** 1 for the first run; higher when the pool re-dispatched the task after a crash. */
  readonly attempt: number;
  /** Aborted when the caller's `AbortSignal` fires, on a timeout, or when a plain `Worker` stops. */
  readonly signal: AbortSignal;
  /**
   * Stream an extra result tied to this task (arrives as `pool.on('result')` with `info.taskId`),
   * until the promise `processMessage` returned settles; on a plain `Worker`'s stop, until the
   * signal's abort listeners have run.
   * @throws {ResultClosedError} once the task has settled (a stray timer's late call): nothing is sent.
   * @throws {SerializationError} for a value that cannot cross to the parent.
   */
  putResult(value: TResult): void;
}

/**
 * Subclass this in your worker module and export the subclass as `default`. One instance runs
 * in each worker process, with many `processMessage` calls in flight at once (up to the pool's
 * `concurrency`). A task is done when the promise `processMessage` returns settles.
 *
 * @example
 * ```ts
 * import { Worker } from 'looppool/worker';
 * export default class Echo extends Worker<string, string> {
 *   override async processMessage(task: string) { return task.toUpperCase(); }
 * }
 * ```
 */
export class Worker<TTask = unknown, TResult = unknown> {
  // The brand and the binding stay out of the class's declared type (no static field, no `declare`
  // member, no #private): a user's exported class expression or mixin over Worker gets its
  // declarations written, which a member keyed by an unexported symbol, or a #private, refused
  // (TS4023, TS4094: `export const Upper = class extends Worker ...` with `declaration: true`).
  static {
    (this as unknown as Record<symbol, boolean>)[WORKER_BRAND] = true;
  }
  /** Whether the poison pill waits for in-flight tasks (see {@link SafeWorker}). */
  static readonly drainOnStop: boolean = false;

  /**
   * This worker's number, `0..size-1`; a replacement process keeps it.
   * @throws {WorkerNotInPoolError} before `initialize()`: in the constructor, or in a worker no pool started.
   */
  get number(): number {
    return requireBinding(this, 'number').number;
  }

  /**
   * The pool's `workerData` option, as handed to every worker.
   * @throws {WorkerNotInPoolError} before `initialize()`: in the constructor, or in a worker no pool started.
   */
  get workerData(): unknown {
    return requireBinding(this, 'workerData').workerData;
  }

  /**
   * The pool's `name` option.
   * @throws {WorkerNotInPoolError} before `initialize()`: in the constructor, or in a worker no pool started.
   */
  get poolName(): string {
    return requireBinding(this, 'poolName').name;
  }

  /** Runs once per process before any task (sync or async). If it throws, the pool's `start()` rejects. */
  initialize(): void | Promise<void> {}

  /** Handle one task. Return (or resolve) the result; throw (or reject) to fail the task. */
  processMessage(task: TTask, ctx: TaskContext<TResult>): TResult | Promise<TResult> {
    throw new TypeError(`${this.constructor.name} must override processMessage(task, ctx)`);
  }

  /** Receives `pool.broadcast(message)`; the return value is handed back to the caller. */
  onBroadcast(message: unknown): unknown {
    return undefined;
  }

  /** Runs once on shutdown, after the poison pill (and, for a SafeWorker, after draining). */
  dispose(): void | Promise<void> {}

  /**
   * Stream a result not tied to any task (arrives as `pool.on('result')` with `info.taskId` null),
   * from the end of `initialize()` until `dispose()` begins (a SafeWorker's drain included).
   * @throws {ResultClosedError} in `initialize()`, in `dispose()` or later, or in a worker no pool
   * started (its constructor, a unit test): nothing is sent.
   * @throws {SerializationError} for a value that cannot cross to the parent.
   */
  putResult(value: TResult): void {
    const binding = bindingOf(this);
    if (!binding) throw new ResultClosedError(null, 'this worker is not running in a pool (yet: in its constructor, or made outside one, in a test say)');
    binding.putResult(value, null);
  }
}

/** The binding `bindWorker` attached to `worker`, if any (under a `Symbol.for` key: a copy of looppool that the worker module imports reads the runtime's). */
function bindingOf(worker: Worker): WorkerBinding | undefined {
  return (worker as unknown as { readonly [BINDING]?: WorkerBinding })[BINDING];
}

/** @throws {WorkerNotInPoolError} when no pool has bound `worker` (yet: in its constructor, or made outside a pool). */
function requireBinding(worker: Worker, property: WorkerPoolProperty): WorkerBinding {
  const binding = bindingOf(worker);
  if (!binding) throw new WorkerNotInPoolError(property);
  return binding;
}

/** A {@link Worker} that, on the poison pill, finishes the tasks it holds before it exits. */
export class SafeWorker<TTask = unknown, TResult = unknown> extends Worker<TTask, TResult> {
  static override readonly drainOnStop: boolean = true;
}

/** The getters a pool gives their value, which a class field of the same name would hide. */
const POOL_GETTERS: readonly WorkerPoolProperty[] = ['number', 'workerData', 'poolName'];

/**
 * Attach the runtime's binding to a worker instance.
 * @throws {TypeError} when the instance has a field named as one of the pool's getters
 * (`workerData!: Config`, a TypeScript declaration tsx compiles to a field, tsc not run): the worker
 * would read its own `undefined`, silently, where the pool's value should be. @internal
 */
export function bindWorker(worker: Worker, binding: WorkerBinding): void {
  for (const name of POOL_GETTERS) {
    if (Object.hasOwn(worker, name)) {
      throw new TypeError(
        `${worker.constructor.name} has a field \`${name}\`, which hides the pool's this.${name} (it would read the field, not the pool's value): ` +
          `to type it, read \`this.${name} as T\` or override the getter (\`override get ${name}(): T { return super.${name} as T; }\`), not \`${name}!: T\`; otherwise rename the field`,
      );
    }
  }
  Object.defineProperty(worker, BINDING, { value: binding, enumerable: false });
}

/**
 * Call `worker.initialize()`; `returned()` once it has returned (a sync one) or its promise
 * resolved. What it returns is what to await. @internal
 */
export function initializeWorker(worker: Worker, returned: () => void): unknown {
  const outcome = worker.initialize();
  if (outcome === undefined) {
    returned();
    return undefined;
  }
  return Promise.resolve(outcome).then(returned);
}

/** A class that extends `Worker`, as the runtime instantiates it. */
export type WorkerClass = (new () => Worker<unknown, unknown>) & { readonly drainOnStop?: boolean };

/** True for a class that extends `Worker` (from any copy of looppool). */
export function isWorkerClass(value: unknown): value is WorkerClass {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[WORKER_BRAND] === true;
}

/**
 * The Worker class (of any copy of looppool) whose prototype is in the prototype chain of
 * `value`, the nearest: an instance's class, or for a constructor's `prototype` the Worker class
 * it inherits from. Undefined when there is none. Runs no getter.
 */
export function workerClassOf(value: unknown): WorkerClass | undefined {
  try {
    for (let proto = value; typeof proto === 'object' && proto !== null; proto = Object.getPrototypeOf(proto)) {
      const constructor: unknown = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
      if (isWorkerClass(constructor)) return constructor;
    }
  } catch {
    // a Proxy whose trap throws: no Worker
  }
  return undefined;
}
