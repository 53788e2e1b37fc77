/** `pool.broadcast()`: one message to every live worker, answered by each exactly once (a barrier). */
import { BroadcastError, BroadcastTimeoutError, WorkerCrashedError, WorkerStoppedError } from '../errors.ts';
import { monotonicMs } from '../internal/monotonic.ts';
import { rebuildSerializationError } from './rebuild-error.ts';
import type { ExitDetails } from './supervisor.ts';
import type { WorkerHandle } from './worker-handle.ts';

interface PendingBroadcast {
  readonly waiting: Set<WorkerHandle>;
  readonly values: unknown[];
  readonly resolve: (values: unknown[]) => void;
  readonly reject: (error: Error) => void;
  /** Its `timeout`'s timer, when it has one. */
  timer: NodeJS.Timeout | undefined;
}

export class Broadcaster {
  #nextId = 1;
  readonly #pending = new Map<number, PendingBroadcast>();
  /**
   * Broadcasts a worker still runs that nobody waits for now (the broadcast timed out, or failed
   * at another worker): id -> when (`monotonicMs()`) it was given up, until the worker answers it or
   * exits. A worker draining for a recycle waits for its `onBroadcast` calls, and one that never
   * ends would hold its slot for good.
   */
  readonly #abandoned = new Map<WorkerHandle, Map<number, number>>();
  readonly #grace: number;
  /** Told of each worker that has just been left holding an abandoned broadcast. */
  readonly #onAbandoned: (handle: WorkerHandle) => void;

  /** `grace`: how long an abandoned broadcast has to end (`timeoutGrace`), see `abandonedIn`. */
  constructor(grace: number, onAbandoned: (handle: WorkerHandle) => void) {
    this.#grace = grace;
    this.#onAbandoned = onAbandoned;
  }

  /**
   * Send `encoded` (what `encodePayload` made of the message: made once, written to each worker)
   * to `handles`; resolves with the replies by worker number once all have answered, or rejects
   * with a BroadcastTimeoutError once `timeout` ms have passed without (Infinity: no limit).
   */
  send(handles: WorkerHandle[], encoded: string | Buffer, size: number, timeout: number): Promise<unknown[]> {
    const values = new Array<unknown>(size).fill(undefined);
    if (handles.length === 0) return Promise.resolve(values);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const pending: PendingBroadcast = { waiting: new Set(handles), values, resolve, reject, timer: undefined };
      this.#pending.set(id, pending);
      if (timeout !== Infinity) pending.timer = setTimeout(() => this.#timedOut(id, timeout), timeout);
      for (const handle of handles) handle.sendBroadcast(id, encoded);
    });
  }

  /**
   * A worker's answer: its reply, or its error, which rejects the broadcast with a BroadcastError
   * (onBroadcast threw: `cause` is its error) or a SerializationError (`unsendable`: the reply
   * could not cross). An answer after the broadcast settled (another worker's error, the timeout) is dropped.
   */
  reply(handle: WorkerHandle, id: number, outcome: { value: unknown } | { error: Error; unsendable: boolean }): void {
    const pending = this.#pending.get(id);
    if (!pending) return this.#answeredLate(handle, id);
    if (!pending.waiting.delete(handle)) return;
    if ('error' in outcome) {
      const ref = { worker: handle.number, pid: handle.pid };
      this.#settled(id, pending).reject(outcome.unsendable ? rebuildSerializationError(outcome.error, 'broadcast reply') : new BroadcastError(outcome.error, ref));
      return;
    }
    pending.values[handle.number] = outcome.value;
    if (pending.waiting.size === 0) this.#settled(id, pending).resolve(pending.values);
  }

  /** A broadcast still waits for `handle`'s answer (a draining worker holds it, and lives on until it answers). */
  waitsFor(handle: WorkerHandle): boolean {
    for (const pending of this.#pending.values()) if (pending.waiting.has(handle)) return true;
    return false;
  }

  /** `handle` still runs a broadcast, awaited or abandoned: a draining worker reads new ones until it exits. */
  holdsAny(handle: WorkerHandle): boolean {
    return this.#abandoned.has(handle) || this.waitsFor(handle);
  }

  /**
   * Whether `handle` runs only broadcasts nobody waits for (see `#abandoned`): undefined if not,
   * or if it runs none; else the ms left until each has had the grace to end since it was given
   * up (0 or less: none is left), as `HeldTasks.abandonedIn` for tasks.
   */
  abandonedIn(handle: WorkerHandle, now: number): number | undefined {
    const given = this.#abandoned.get(handle);
    if (given === undefined || this.waitsFor(handle)) return undefined;
    let wait = 0;
    for (const at of given.values()) wait = Math.max(wait, at + this.#grace - now);
    return wait;
  }

  /**
   * A worker exited: broadcasts still waiting for it fail, with `WorkerStoppedError` when the
   * pool stopped it and `WorkerCrashedError` when it died. One recycled (it drained and exited
   * cleanly) before it read them answers `undefined`, as a worker still starting does: its
   * replacement starts from `initialize()`.
   */
  workerGone(handle: WorkerHandle, details: ExitDetails): void {
    this.#abandoned.delete(handle);
    let error: Error | undefined;
    for (const [id, pending] of this.#pending) {
      if (!pending.waiting.has(handle)) continue;
      if (details.reason === 'recycle') {
        this.reply(handle, id, { value: undefined });
        continue;
      }
      pending.waiting.delete(handle);
      error ??= lostError(handle, details);
      this.#settled(id, pending).reject(error);
    }
  }

  #timedOut(id: number, timeout: number): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    const workers = [...pending.waiting].map((h) => h.number).sort((a, b) => a - b);
    this.#settled(id, pending).reject(new BroadcastTimeoutError(timeout, workers));
  }

  /**
   * No longer pending: later answers are dropped, and no worker is waited for on its account; the
   * workers that have not answered hold it abandoned.
   */
  #settled(id: number, pending: PendingBroadcast): PendingBroadcast {
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    const now = monotonicMs();
    for (const handle of pending.waiting) {
      const given = this.#abandoned.get(handle);
      if (given) given.set(id, now);
      else this.#abandoned.set(handle, new Map([[id, now]]));
    }
    for (const handle of pending.waiting) this.#onAbandoned(handle);
    return pending;
  }

  /** The answer to a broadcast that settled without it: one abandoned broadcast fewer. */
  #answeredLate(handle: WorkerHandle, id: number): void {
    const given = this.#abandoned.get(handle);
    if (given?.delete(id) && given.size === 0) this.#abandoned.delete(handle);
  }
}

function lostError(h: WorkerHandle, details: ExitDetails): Error {
  const ref = { worker: h.number, pid: h.pid };
  if (details.reason === 'stop') return new WorkerStoppedError(ref, `Worker ${h.number} (pid ${h.pid}) stopped before it answered the broadcast`);
  const crash = { ...ref, exitCode: details.exitCode, signal: details.signal, reason: 'exited before it answered the broadcast' };
  return new WorkerCrashedError(crash, h.exitCause && { cause: h.exitCause }); // the error that ended it, when one did
}
