/**
 * The parent's side of backpressure: tasks queued in the dispatcher, plus the submissions
 * waiting for room once `maxQueue` is reached (`put`/`run` wait; `putNowait` throws instead).
 */
import { QueueFullError } from '../errors.ts';
import { Deque } from '../internal/deque.ts';
import { COMPACT_AFTER, type Dispatcher } from './dispatcher.ts';
import type { PendingTask } from './task.ts';

interface SpaceWaiter {
  readonly task: PendingTask;
  readonly resolve: (id: number) => void;
  readonly reject: (error: Error) => void;
}

export class TaskQueue {
  readonly #dispatcher: Dispatcher<PendingTask>;
  readonly #maxQueue: number;
  /**
   * Submissions waiting for room, oldest first, in lanes as the dispatcher queues tasks: one for
   * untargeted ones, one per worker for those sent to it by number (`worker: n`). One whose task
   * left `#waiting` (aborted) is skipped.
   */
  readonly #untargeted = new Deque<SpaceWaiter>();
  readonly #targeted: Deque<SpaceWaiter>[] = [];
  /** Their tasks, until queued or aborted: never in the dispatcher, so an abort must not count them out there. */
  readonly #waiting = new Set<PendingTask>();
  /** Aborted waiters still in the lanes (see `cancel`). */
  #abandoned = 0;

  constructor(dispatcher: Dispatcher<PendingTask>, maxQueue: number) {
    this.#dispatcher = dispatcher;
    this.#maxQueue = maxQueue;
  }

  /** Tasks held in the parent: queued, or waiting for room. */
  get length(): number {
    return this.#dispatcher.queued + this.#waiting.size;
  }

  /** putNowait's check: throws `QueueFullError` when a task for `target` has no room now. */
  readonly refuseIfFull = (target: number): void => {
    if (!this.hasRoom(target)) throw new QueueFullError(this.#maxQueue);
  };

  /**
   * Room for a task to `target` (-1: any worker) now: the queue holds fewer than `maxQueue`
   * tasks or, whatever `maxQueue` is, no submission that could take the same credit waits before
   * it and a worker has a free credit for it (`add` then sends it). A full queue of tasks for a
   * busy worker by number so holds back no task another worker can take at once.
   */
  hasRoom(target: number): boolean {
    if (this.length < this.#maxQueue) return true;
    if (this.#head(this.#untargeted) !== undefined) return false;
    const lane = target < 0 ? undefined : this.#targeted[target];
    if (lane !== undefined && this.#head(lane) !== undefined) return false;
    return this.#dispatcher.canSendNow(target);
  }

  /** A task held here could go to worker `slot` (see `Dispatcher.hasWorkFor`; any waiting for room counts). */
  hasWorkFor(slot: number): boolean {
    return this.#waiting.size > 0 || this.#dispatcher.hasWorkFor(slot);
  }

  /**
   * Queue now (the caller checked `hasRoom`). Let in past `maxQueue` (at 0, any task), it was let
   * in because a worker takes it at once: it goes out now, also while the pool starts.
   */
  add(task: PendingTask): void {
    this.#dispatcher.enqueue(task);
    if (this.length > this.#maxQueue) this.#dispatcher.pump();
  }

  /** Queue once there is room; `resolve` gets the task id then. */
  waitForRoom(task: PendingTask, resolve: (id: number) => void, reject: (error: Error) => void): void {
    this.#laneOf(task.target).push({ task, resolve, reject });
    this.#waiting.add(task);
  }

  /**
   * Dispatch what the credits allow, and let waiting submissions in as room frees up, oldest
   * first. Past `maxQueue` (at 0, always) room is a free credit, which not every waiter can
   * take: one waiting for a busy worker by number lets those behind it go to the others, as the
   * dispatcher does with queued tasks, and a credit its worker frees goes to the older of it and
   * the oldest untargeted waiter, so neither kind waits for ever behind the other.
   */
  pump(): void {
    this.#dispatcher.pump();
    for (let waiter = this.#next(); waiter; waiter = this.#next()) {
      this.#laneOf(waiter.task.target).shift();
      this.#waiting.delete(waiter.task);
      this.#dispatcher.enqueue(waiter.task);
      waiter.resolve(waiter.task.id);
      this.#dispatcher.pump();
    }
  }

  /**
   * The oldest live waiter that may be queued now: below `maxQueue` any, else one a worker takes
   * at once. The heads of every lane are looked at, so aborted waiters there are dropped each time.
   */
  #next(): SpaceWaiter | undefined {
    const any = this.#dispatcher.queued < this.#maxQueue;
    const head = this.#head(this.#untargeted);
    let best = head !== undefined && (any || this.#dispatcher.canSendNow(-1)) ? head : undefined;
    for (let i = 0; i < this.#targeted.length; i++) {
      const lane = this.#targeted[i]; // lanes are made on first use: a worker with none is a hole
      if (lane === undefined) continue;
      const first = this.#head(lane);
      if (first === undefined || (best !== undefined && best.task.id < first.task.id)) continue;
      if (any || this.#dispatcher.canSendNow(i)) best = first;
    }
    return best;
  }

  /** The first live waiter of `lane` (aborted ones are dropped on the way). */
  #head(lane: Deque<SpaceWaiter>): SpaceWaiter | undefined {
    let waiter = lane.peek();
    while (waiter !== undefined && !this.#waiting.has(waiter.task)) {
      lane.shift();
      this.#abandoned = Math.max(0, this.#abandoned - 1);
      waiter = lane.peek();
    }
    return waiter;
  }

  #laneOf(target: number): Deque<SpaceWaiter> {
    return target < 0 ? this.#untargeted : (this.#targeted[target] ??= new Deque<SpaceWaiter>());
  }

  /**
   * Drop a task that has not been dispatched (its caller aborted): from the waiters if it waits
   * for room (it was never queued), else from the queue.
   */
  cancel(task: PendingTask): void {
    if (!this.#waiting.delete(task)) {
      this.#dispatcher.cancel(task);
      return;
    }
    // As the dispatcher does with its cancelled tasks: aborted waiters behind a live head would pile up.
    if (++this.#abandoned > COMPACT_AFTER && this.#abandoned > this.#waiting.size) {
      const gone = (w: SpaceWaiter): boolean => !this.#waiting.has(w.task);
      this.#untargeted.removeWhere(gone);
      for (const lane of this.#targeted) lane?.removeWhere(gone);
      this.#abandoned = 0;
    }
  }

  /** Queue every submission waiting for room, oldest first, past `maxQueue` (a stop takes no new ones). */
  admitWaiting(): void {
    for (const w of this.#takeWaiting()) {
      this.#dispatcher.enqueue(w.task);
      w.resolve(w.task.id);
    }
  }

  /** Every live waiter, oldest first; none is left waiting. */
  #takeWaiting(): SpaceWaiter[] {
    const waiters = this.#untargeted.drain();
    for (const lane of this.#targeted) if (lane) waiters.push(...lane.drain());
    const live = waiters.filter((w) => this.#waiting.has(w.task)); // an aborted one left #waiting
    this.#waiting.clear();
    this.#abandoned = 0;
    return live.sort((x, y) => x.task.id - y.task.id);
  }

  /**
   * Empty the queue: every task, queued or waiting for room (`waiting`), goes to `fail` (which
   * counts it); a waiting submission's own promise (a `put()`'s) rejects too.
   */
  clear<E extends Error>(error: E, fail: (task: PendingTask, error: E, waiting: boolean) => void): void {
    for (const w of this.#takeWaiting()) {
      fail(w.task, error, true);
      w.reject(error);
    }
    for (const task of this.#dispatcher.takeAll()) fail(task, error, false);
  }
}
