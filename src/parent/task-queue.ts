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
  readonly #waiters = new Deque<SpaceWaiter>();

  constructor(dispatcher: Dispatcher<PendingTask>, maxQueue: number) {
    this.#dispatcher = dispatcher;
    this.#maxQueue = maxQueue;
  }

  /** Tasks held in the parent: queued, or waiting for room. */
  get length(): number {
    return this.#dispatcher.queued + this.#waiters.length;
  }

  get full(): boolean {
    return this.length >= this.#maxQueue;
  }

  /** Queue now (the caller checked `full`). */
  add(task: PendingTask): void {
    this.#dispatcher.enqueue(task);
  }

  /** Queue once there is room; `resolve` gets the task id then. */
  waitForRoom(task: PendingTask, resolve: (id: number) => void, reject: (error: Error) => void): void {
    this.#waiters.push({ task, resolve, reject });
  }

  /** Dispatch what the credits allow, and let waiting submissions in as room frees up. */
  pump(): void {
    this.#dispatcher.pump();
    while (this.#waiters.length > 0 && this.#dispatcher.queued < this.#maxQueue) {
      const waiter = this.#waiters.shift() as SpaceWaiter;
      if (waiter.task.settled) continue;
      this.#dispatcher.enqueue(waiter.task);
      waiter.resolve(waiter.task.id);
      this.#dispatcher.pump();
    }
  }

  /** Drop a task that has not been dispatched (its caller aborted). */
  cancel(task: PendingTask): void {
    this.#dispatcher.cancel(task);
  }

  /** Reject the submissions still waiting for room. */
  rejectWaiting(error: Error): void {
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
