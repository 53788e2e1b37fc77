/**
 * What looppool reports to Sentry, one function per kind of event. Each tags the event with
 * the pool, worker number, pid and task id (as strings, Sentry's tag type), names its
 * mechanism, and never attaches the task's payload. Each takes the pool's client first (the
 * worker process's, in a worker) and is a no-op without one. None captures at once: each queues
 * its capture on the client (capture-queue.ts), which runs it in a later loop turn, one per turn,
 * and merges an error repeating fast into one event that says how often it occurred.
 */
import type { Scope } from '@sentry/node';
import type { Tally } from './capture-queue.ts';
import type { UncaughtOrigin } from '../protocol/messages.ts';
import type { LoopBlockedReport } from '../protocol/watchdog-report.ts';
import { blockedLoopContext, blockedLoopEvent } from './blocked-loop-event.ts';
import { errorKey } from './error-key.ts';
import type { SentryClient } from './client.ts';
import { keepOwnData } from './scrub.ts';

/** Which worker process an event is about. */
export interface WorkerTags {
  /** The pool's name. */
  readonly pool: string;
  /** Worker number (slot), `0..size-1`. */
  readonly worker: number;
  readonly pid: number;
}

/** Which task an event is about. */
export interface TaskTags extends WorkerTags {
  readonly taskId: number;
  /** 1 for the first run, 2 for the first retry… */
  readonly attempt?: number | undefined;
}

/**
 * A task threw or its promise rejected (worker side: `err` is the original error). Not the errors
 * looppool aborted the task with itself (a stop, its timeout, the caller's abort): those are no
 * bug of the task's, and the parent reports a timeout (`captureTimeout`).
 */
export function captureTaskError(client: SentryClient | undefined, err: unknown, tags: TaskTags): void {
  try {
    if (!client || isOurAbort(err)) return;
    const error = errorOnly(err);
    capture(client, tags, error, errorKey('task', error), (scope) => scope.captureException(error, { data: { mechanism: { type: 'looppool.task', handled: true } } }));
  } catch {
    // an error whose properties throw when read: nothing to report it with
  }
}

/**
 * An error outside any task (worker side): one that escaped every task, from the runtime's
 * `uncaughtException`/`unhandledRejection` handler (fatal: the worker exits), or one `dispose()`
 * threw during the worker's stop (an error: the stop goes on).
 */
export function captureUncaught(client: SentryClient | undefined, err: unknown, origin: UncaughtOrigin, tags: WorkerTags): void {
  const error = errorOnly(err);
  capture(client, tags, error, errorKey(origin, error), (scope) => {
    scope.setLevel(origin === 'dispose' ? 'error' : 'fatal');
    return scope.captureException(error, { data: { mechanism: { type: `looppool.${origin}`, handled: origin === 'dispose' } } });
  });
}

/**
 * A worker process died unexpectedly (parent side). `err` is the `WorkerCrashedError`; events
 * group by pool and exit reason rather than by the parent's stack.
 */
export function captureCrash(client: SentryClient | undefined, err: Error, tags: WorkerTags & { readonly exitCode: number | null; readonly signal: string | null }): void {
  capture(client, tags, err, undefined, (scope) => {
    scope.setLevel('fatal');
    scope.setContext('exit', { exitCode: tags.exitCode, signal: tags.signal });
    scope.setFingerprint(['looppool', 'workerCrashed', tags.pool, tags.signal ?? `exit ${tags.exitCode}`]);
    return scope.captureException(err, { data: { mechanism: { type: 'looppool.crash', handled: true } } });
  });
}

/**
 * A worker failed to start (parent side): `err` is the `WorkerInitError`, whose `cause` is the
 * worker's own error (its module failed to load, or `initialize()` threw). One event each time,
 * the restarts of a slot that keeps failing included, grouped by pool and stage.
 */
export function captureStartFailure(client: SentryClient | undefined, err: Error, tags: WorkerTags & { readonly stage: string }): void {
  capture(client, tags, err, undefined, (scope) => {
    scope.setLevel('error');
    scope.setFingerprint(['looppool', 'startFailed', tags.pool, tags.stage]);
    return scope.captureException(err, { data: { mechanism: { type: 'looppool.start', handled: true } } });
  });
}

/**
 * A task passed its `taskTimeout` (parent side). `err` is the `TaskTimeoutError`. When a
 * blocked loop explains the timeout (the parent decides which: `Incidents`), pass the watchdog's
 * report: the event then shows the blocking stack instead of the parent's.
 */
export function captureTimeout(client: SentryClient | undefined, err: Error, tags: TaskTags & { readonly timeoutMs?: number | undefined }, blocked?: LoopBlockedReport): void {
  const fingerprint = ['looppool', 'taskTimeout', tags.pool, ...(blocked?.frames[0] ? [blocked.frames[0].functionName, blocked.frames[0].url] : [])];
  // Timeouts repeat as one issue (their messages differ by task id): merged by fingerprint and limit.
  const key = JSON.stringify([...fingerprint, tags.timeoutMs ?? null]);
  capture(client, tags, err, key, (scope) => {
    if (tags.timeoutMs !== undefined) scope.setContext('timeout', { timeoutMs: tags.timeoutMs });
    scope.setFingerprint(fingerprint);
    if (!blocked || blocked.frames.length === 0) {
      return scope.captureException(err, { data: { mechanism: { type: 'looppool.timeout', handled: true } } });
    }
    scope.setContext('blockedLoop', blockedLoopContext(blocked));
    const event = blockedLoopEvent(blocked);
    const exception = event.exception?.values?.[0];
    if (exception) Object.assign(exception, { type: err.name, value: err.message, mechanism: { type: 'looppool.timeout', handled: true } });
    return scope.captureEvent({ ...event, level: 'error' }, { originalException: err });
  });
}

/**
 * A watchdog report: the worker's event loop was blocked (parent side, from the report pipe; or
 * worker side). The blocking stack is the event's stack trace.
 */
export function captureBlockedLoop(client: SentryClient | undefined, report: LoopBlockedReport, tags: WorkerTags & { readonly taskIds?: readonly number[] | undefined }): void {
  capture(client, tags, undefined, undefined, (scope) => {
    scope.setLevel('warning');
    scope.setContext('blockedLoop', blockedLoopContext(report));
    if (tags.taskIds) scope.setContext('tasks', { inFlight: [...tags.taskIds] });
    return scope.captureEvent(blockedLoopEvent(report));
  });
}

/**
 * Queue the capture of `err` (or of an event without one): `send` captures it, when its turn
 * comes, with a scope of the event's own: level `error` unless it sets another, the tags and the
 * looppool context (with what the event stands for, `Tally`, when it is more than itself).
 * `key` names the error for the queue's per-key limit (undefined: none).
 */
function capture(client: SentryClient | undefined, tags: WorkerTags & Partial<Pick<TaskTags, 'taskId' | 'attempt'>>, err: unknown, key: string | undefined, send: (scope: Scope) => string): void {
  client?.enqueue(key, (tally) => {
    const scope = client.eventScope();
    if (!scope) return;
    // Last of the event's processors: what the SDK merged in from the process's other scopes goes.
    scope.addEventProcessor((event, hint) => keepOwnData(event, hint, scope.getScopeData()));
    scope.setLevel('error');
    scope.setTags({
      pool: tags.pool,
      worker: String(tags.worker),
      pid: String(tags.pid),
      ...(tags.taskId === undefined ? {} : { taskId: String(tags.taskId) }),
    });
    scope.setContext('looppool', { ...looppoolContext(tags), ...tallyContext(tally) });
    unmarked(err, () => send(scope));
  });
}

function looppoolContext(tags: WorkerTags & Partial<Pick<TaskTags, 'taskId' | 'attempt'>>): Record<string, string | number> {
  return {
    pool: tags.pool,
    worker: tags.worker,
    pid: tags.pid,
    ...(tags.taskId === undefined ? {} : { taskId: tags.taskId }),
    ...(tags.attempt === undefined ? {} : { attempt: tags.attempt }),
  };
}

/** `occurrences` when the event stands for repeats too, `dropped` when captures before it were. */
function tallyContext(tally: Tally): { occurrences?: number; dropped?: number } {
  return {
    ...(tally.occurrences > 1 ? { occurrences: tally.occurrences } : {}),
    ...(tally.dropped > 0 ? { dropped: tally.dropped } : {}),
  };
}

/** The property the SDK marks a captured error with; every Sentry client in the process then skips that error. */
const CAPTURED = '__sentry_captured__';

/**
 * `send()`, with the SDK's "already captured" mark on `err` neither stopping it nor left behind.
 * The mark is shared by every client of the process: an application's own Sentry that captured
 * the error first silenced looppool's event (a task that reports its error and rethrows it),
 * looppool's capture silenced the application's (of the `TaskTimeoutError` its `run()` rejected
 * with, or an uncaught error its handler reports), and tasks failing with one shared error
 * (a rejected promise they all awaited) got one event in all. The mark's state is put back.
 */
function unmarked(err: unknown, send: () => string): void {
  if (typeof err !== 'object' || err === null) {
    send();
    return;
  }
  const record = err as Record<string, unknown>;
  const before = Object.getOwnPropertyDescriptor(err, CAPTURED);
  try {
    if (before) delete record[CAPTURED];
    send();
  } finally {
    try {
      delete record[CAPTURED];
      if (before) Object.defineProperty(err, CAPTURED, before);
    } catch {
      // a frozen error: the SDK could not mark it either
    }
  }
}

/**
 * `err` if it is an Error; otherwise an Error that names only its type. The SDK would send a thrown
 * string as the event's message, and an object's keys: tasks often reject with their own input.
 */
function errorOnly(err: unknown): unknown {
  if (err instanceof Error) return err;
  const what = err === null ? 'null' : Array.isArray(err) ? 'an array' : typeof err === 'object' ? 'an object' : `a ${typeof err}`;
  const error = Object.assign(new Error(`A value that is not an Error was thrown (${what}); looppool does not send it`), { name: 'NonError' });
  // No frames: they would be looppool's own, one stack for every such throw of every task, and
  // Sentry would group them all as one issue; without a stack it groups by type and message.
  error.stack = `NonError: ${error.message}`;
  return error;
}

/** The reasons the worker's runtime aborts a task with (`AbortError`, `TimeoutError`, `WorkerStoppedError`). */
function isOurAbort(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError' || name === 'WorkerStoppedError';
}
