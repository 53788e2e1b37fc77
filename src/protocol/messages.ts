/**
 * The message protocol between a pool and its worker processes: one discriminated union per
 * direction, on a string `kind`. Task and broadcast ids correlate replies; the worker number
 * is the stable slot `0..size-1`. The protocol tag and version are checked once, in the
 * `hello`/`init` handshake: the data channel is a private pipe that carries nothing else.
 */
import type { SerializedError } from './serialized-error.ts';

/** Package tag and protocol version; a mismatch fails the handshake loudly. */
export const PROTOCOL = 'looppool/4';

/** The largest `maxMessageBytes` a pool takes (1 GiB): a worker reads frames up to this plus {@link FRAME_SLACK}. */
export const MAX_MESSAGE_BYTES = 1024 * 1024 * 1024;
/** What a frame may hold beside its message's payload (its head, the batch around it). */
export const FRAME_SLACK = 1024 * 1024;

/**
 * File descriptor of the data channel in the child. A worker has no Node IPC channel: the data
 * channel carries every message, and its end tells the worker that its parent is gone.
 */
export const DATA_FD = 3;
/** File descriptor the child's watchdog thread writes its reports to (JSON lines), when it has one. */
export const WATCHDOG_FD = 4;

/**
 * Whether a worker runs a watchdog thread: to report blocked loops (`blockedLoopThreshold` set),
 * or to end the worker when its parent dies where the kernel will not (no `setpriv` death
 * signal). The parent gives such a worker the report pipe (fd 4), and no other worker.
 */
export function runsWatchdog(blockedLoopThreshold: number | undefined, deathSignal: boolean): boolean {
  return blockedLoopThreshold !== undefined || !deathSignal;
}

export interface InitMessage {
  kind: 'init';
  protocol: string;
  worker: number;
  name: string;
  /** The pool's number among the running pools of its name in its process, when not the first: in the worker's title. */
  instance?: number;
  /** `file:` URL of the user's worker module. */
  module: string;
  /**
   * The pool's `workerData` (`value`, as in every message that carries one: V8's bytes fill it in
   * a mixed frame); absent without it.
   */
  value?: unknown;
  maxMessageBytes: number;
  /** Exit (and so be replaced) after an uncaught exception or unhandled rejection. */
  restartOnError: boolean;
  /** How to report metrics (a plain `WorkerMetricsConfig`), when the pool has `statsd`. */
  metrics?: unknown;
  /** Sentry settings (the DSN travels here, never in argv or the environment we set). */
  sentry?: { dsn: string; environment?: string; release?: string };
}
/**
 * The two messages of the hot path travel as arrays, not objects: smaller to write and faster to
 * parse, a fifth of the bytes of a tiny task. `[TASK, id, attempt, payload?]` (no payload
 * element for `undefined`).
 */
export type TaskTuple = [kind: typeof TASK, id: number, attempt: number, payload?: unknown];
export const TASK = 0;
/** `[DONE, id, value?]`: the task's promise resolved (no value element for `undefined`). */
export type TaskDoneTuple = [kind: typeof DONE, id: number, value?: unknown];
export const DONE = 1;
export interface AbortMessage {
  kind: 'abort';
  id: number;
  /** Why: the caller's signal, or the task's timeout. */
  reason: 'abort' | 'timeout';
}
export interface BroadcastMessage {
  kind: 'broadcast';
  id: number;
  /** The message (`value`, as in every message that carries one: V8's bytes fill it in a mixed frame). */
  value: unknown;
}
/**
 * The poison pill: a `Worker` stops at once, a `SafeWorker` drains its in-flight tasks first.
 * With `drain` (recycling), every worker drains. With `startWaiting` (a draining stop), a `Worker`
 * first starts the tasks still waiting in its run queue (sent, not started: the drained queue's),
 * then abandons those still running.
 */
export interface PoisonPillMessage {
  kind: 'poisonPill';
  drain: boolean;
  startWaiting: boolean;
}
/** Is the event loop turning? The child answers `pong` as soon as its loop runs. */
export interface PingMessage {
  kind: 'ping';
  id: number;
}
/**
 * Another worker ran out of tasks and the parent has none it may take: hand back a share of the
 * tasks received but not started (`idle` workers wait: `idle / (idle + 1)` of those it may hand
 * back, rounded down), never one of `keep` (tasks sent to this worker by number, `worker: n`).
 * Always answered with `reclaimed`, empty when nothing waits.
 */
export interface ReclaimMessage {
  kind: 'reclaim';
  idle: number;
  keep: number[];
}

export type ToChildMessage = InitMessage | TaskTuple | AbortMessage | BroadcastMessage | PoisonPillMessage | PingMessage | ReclaimMessage;

/** The child opens the handshake as soon as its runtime is up. */
export interface HelloMessage {
  kind: 'hello';
  protocol: string;
  pid: number;
}
export interface ReadyMessage {
  kind: 'ready';
}
export interface InitFailedMessage {
  kind: 'initFailed';
  error: SerializedError;
  /** `load`: the module (or our set-up) failed; `initialize`: the worker's `initialize()` threw. */
  stage: 'load' | 'initialize';
}
/** A streamed result: `task` is the id of the task it belongs to, or `null`. */
export interface ResultMessage {
  kind: 'result';
  task: number | null;
  value: unknown;
}
export interface TaskFailedMessage {
  kind: 'taskFailed';
  id: number;
  error: SerializedError;
  /** True when the task succeeded but its result could not be sent (the error is a SerializationError). */
  unsendable?: boolean;
}
export interface BroadcastDoneMessage {
  kind: 'broadcastDone';
  id: number;
  value: unknown;
}
export interface BroadcastFailedMessage {
  kind: 'broadcastFailed';
  id: number;
  error: SerializedError;
  /** True when `onBroadcast` returned but its reply could not be sent (the error is a SerializationError). */
  unsendable?: boolean;
}
/**
 * Where an error a worker reports outside any task came from: it escaped every task (an uncaught
 * exception or an unhandled rejection), or the worker's `dispose()` threw it during its stop.
 */
export type UncaughtOrigin = 'uncaughtException' | 'unhandledRejection' | 'dispose';

/** An error outside any task (see {@link UncaughtOrigin}). */
export interface UncaughtMessage {
  kind: 'uncaught';
  error: SerializedError;
  origin: UncaughtOrigin;
  /** The worker had its pill (it drains, or its `dispose()` runs): it goes on with its stop instead of exiting. */
  stopping?: true;
}
/** The child has done with its tasks after the poison pill (abandoned them, or drained them) and runs `dispose()`, then exits: an exit 0 before this is a crash. */
export interface StoppedMessage {
  kind: 'stopped';
}
export interface PongMessage {
  kind: 'pong';
  id: number;
}
/**
 * The worker started a process of its own (sent once): what is left of its process group may
 * outlive it, so the parent has it ended even if the parent dies first (group-sentinel.ts).
 */
export interface SpawnedMessage {
  kind: 'spawned';
}
/** The answer to `reclaim`: the tasks handed back, none of which started (the parent sends them again). */
export interface ReclaimedMessage {
  kind: 'reclaimed';
  ids: number[];
}

export type ToParentMessage =
  | HelloMessage
  | ReadyMessage
  | InitFailedMessage
  | ResultMessage
  | TaskDoneTuple
  | TaskFailedMessage
  | BroadcastDoneMessage
  | BroadcastFailedMessage
  | UncaughtMessage
  | StoppedMessage
  | PongMessage
  | SpawnedMessage
  | ReclaimedMessage;


