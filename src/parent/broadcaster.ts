/** `pool.broadcast()`: one message to every live worker, answered by each exactly once (a barrier). */
import { BroadcastError, BroadcastTimeoutError, WorkerCrashedError, WorkerStoppedError } from '../errors.ts';
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
    if (!pending || !pending.waiting.delete(handle)) return;
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

  /**
   * A worker exited: broadcasts still waiting for it fail, with `WorkerStoppedError` when the
   * pool stopped it and `WorkerCrashedError` when it died. One recycled (it drained and exited
   * cleanly) before it read them answers `undefined`, as a worker still starting does: its
   * replacement starts from `initialize()`.
   */
  workerGone(handle: WorkerHandle, details: ExitDetails): void {
    let error: Error | undefined;
    for (const [id, pending] of this.#pending) {
      if (!pending.waiting.has(handle)) continue;
      if (details.reason === 'recycle') {
        this.reply(handle, id, { value: undefined });
        continue;
      }
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

  /** No longer pending: later answers are dropped, and no worker is waited for on its account. */
  #settled(id: number, pending: PendingBroadcast): PendingBroadcast {
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }
}

function lostError(h: WorkerHandle, details: ExitDetails): Error {
  const ref = { worker: h.number, pid: h.pid };
  if (details.reason === 'stop') return new WorkerStoppedError(ref, `Worker ${h.number} (pid ${h.pid}) stopped before it answered the broadcast`);
  const crash = { ...ref, exitCode: details.exitCode, signal: details.signal, reason: 'exited before it answered the broadcast' };
  return new WorkerCrashedError(crash, h.exitCause && { cause: h.exitCause }); // the error that ended it, when one did
}
