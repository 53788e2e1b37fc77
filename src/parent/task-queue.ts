/**
 * The parent's side of backpressure: tasks queued in the dispatcher, plus the submissions
 * waiting for room once `maxQueue` is reached (`put`/`run` wait; `putNowait` throws instead).
 */
import { Deque } from '../internal/deque.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { PendingTask } from './task.ts';

interface SpaceWaiter {
  readonly task: PendingTask;
  readonly resolve: (id: number) => void;
  readonly reject: (error: Error) => void;
}

export class TaskQueue {
  readonly #dispatcher: Dispatcher<PendingTask>;
  readonly #maxQueue: number;
  /** Submissions waiting for room, oldest first; one whose task left `#waiting` (aborted) is skipped. */
  readonly #waiters = new Deque<SpaceWaiter>();
  /** Their tasks, until queued or aborted: never in the dispatcher, so an abort must not count them out there. */
  readonly #waiting = new Set<PendingTask>();

  constructor(dispatcher: Dispatcher<PendingTask>, maxQueue: number) {
    this.#dispatcher = dispatcher;
    this.#maxQueue = maxQueue;
  }

  /** Tasks held in the parent: queued, or waiting for room. */
  get length(): number {
    return this.#dispatcher.queued + this.#waiting.size;
  }

  /**
   * Room for `task` now: the queue holds fewer than `maxQueue` tasks or, at `maxQueue` 0, no
   * submission waits before it and a worker has a free credit for it (`add` then sends it).
   */
  hasRoom(task: PendingTask): boolean {
    return this.length < this.#maxQueue || (this.#maxQueue === 0 && this.#waiting.size === 0 && this.#dispatcher.canSendNow(task.target));
  }

  /** Queue now (the caller checked `hasRoom`). At `maxQueue` 0 it goes out at once, also while the pool starts. */
  add(task: PendingTask): void {
    this.#dispatcher.enqueue(task);
    if (this.#maxQueue === 0) this.#dispatcher.pump();
  }

  /** Queue once there is room; `resolve` gets the task id then. */
  waitForRoom(task: PendingTask, resolve: (id: number) => void, reject: (error: Error) => void): void {
    this.#waiters.push({ task, resolve, reject });
    this.#waiting.add(task);
  }

  /** Dispatch what the credits allow, and let waiting submissions in as room frees up. */
  pump(): void {
    this.#dispatcher.pump();
    while (this.#waiters.length > 0) {
      const waiter = this.#waiters.peek() as SpaceWaiter;
      const live = this.#waiting.has(waiter.task);
      if (live && !this.#roomForWaiter(waiter.task)) return;
      this.#waiters.shift();
      if (!live) continue;
      this.#waiting.delete(waiter.task);
      this.#dispatcher.enqueue(waiter.task);
      waiter.resolve(waiter.task.id);
      this.#dispatcher.pump();
    }
  }

  /** The first waiting submission may be queued: below `maxQueue`, or (at 0) a worker takes it at once. */
  #roomForWaiter(task: PendingTask): boolean {
    return this.#dispatcher.queued < this.#maxQueue || (this.#maxQueue === 0 && this.#dispatcher.canSendNow(task.target));
  }

  /**
   * Drop a task that has not been dispatched (its caller aborted): from the waiters if it waits
   * for room (it was never queued), else from the queue.
   */
  cancel(task: PendingTask): void {
    if (this.#waiting.delete(task)) return;
    this.#dispatcher.cancel(task);
  }

  /** Reject the submissions still waiting for room. */
  rejectWaiting(error: Error): void {
    this.#waiting.clear();
    for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) {
      if (w.task.fail(error)) w.reject(error);
    }
  }

  /** Empty the queue: waiting submissions are rejected, queued tasks handed to `fail`. */
  clear(error: Error, fail: (task: PendingTask, error: Error) => void): void {
    this.rejectWaiting(error);
    for (const task of this.#dispatcher.takeAll()) fail(task, error);
  }
}
