/**
 * Task timeouts without a Node timer, and a closure, per task: with `taskTimeout` set, a
 * `setTimeout` and a `clearTimeout` for every task cost about a fifth of workload A's throughput.
 * Tasks given the same duration form one list, in the order they were sent, which is also the
 * order of their deadlines; each list keeps at most one Node timer, for its first deadline. Arming
 * appends and cancelling unlinks, both O(1); a timer that finds its list's first task gone or not
 * yet due sets itself again for the new first one. The timers are unref'd: a task in flight has a
 * worker, whose pipe keeps the process alive, and a pool without tasks in flight must not be kept.
 */
import { monotonicMs } from '../internal/monotonic.ts';

/**
 * One task's soft deadline, linked into the list of its duration until it expires or is cancelled.
 * `T` is the task and `H` the worker it was sent to (generic: task.ts refers to this file).
 */
export class TaskDeadline<T = unknown, H = unknown> {
  readonly task: T;
  /** The worker the task was sent to. */
  readonly handle: H;
  /** When it expires, in {@link monotonicMs}. */
  readonly at: number;
  prev: TaskDeadline<T, H> | undefined = undefined;
  next: TaskDeadline<T, H> | undefined = undefined;
  /** The list it is in; undefined once it expired or was cancelled. */
  list: DeadlineList<T, H> | undefined;

  constructor(task: T, handle: H, at: number, list: DeadlineList<T, H>) {
    this.task = task;
    this.handle = handle;
    this.at = at;
    this.list = list;
  }

  /** It will not expire (the task settled, or left its worker). Idempotent. */
  cancel(): void {
    this.list?.unlink(this);
  }
}

/** The deadlines of one duration, earliest first. */
class DeadlineList<T, H> {
  first: TaskDeadline<T, H> | undefined = undefined;
  last: TaskDeadline<T, H> | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;

  append(d: TaskDeadline<T, H>): void {
    d.prev = this.last;
    if (this.last) this.last.next = d;
    else this.first = d;
    this.last = d;
  }

  unlink(d: TaskDeadline<T, H>): void {
    if (d.prev) d.prev.next = d.next;
    else this.first = d.next;
    if (d.next) d.next.prev = d.prev;
    else this.last = d.prev;
    d.prev = d.next = d.list = undefined;
  }
}

export class TaskDeadlines<T, H> {
  readonly #lists = new Map<number, DeadlineList<T, H>>();
  readonly #expire: (task: T, handle: H) => void;

  /** `expire` runs once for each deadline that passes before it is cancelled. */
  constructor(expire: (task: T, handle: H) => void) {
    this.#expire = expire;
  }

  /** Expire `task`, sent to `handle`, `ms` from now unless the returned deadline is cancelled first. */
  arm(task: T, handle: H, ms: number): TaskDeadline<T, H> {
    let list = this.#lists.get(ms);
    if (list === undefined) this.#lists.set(ms, (list = new DeadlineList()));
    const now = monotonicMs();
    const deadline = new TaskDeadline(task, handle, now + ms, list);
    list.append(deadline);
    if (list.timer === undefined) this.#schedule(ms, list, now);
    return deadline;
  }

  /**
   * Cancel every deadline and clear every timer: the pool stopped, no worker is left for them to
   * watch. A list's timer stays set when its tasks settle (see the top of this file), and it holds
   * this object, and through `expire` the whole pool: a stopped pool was kept from the garbage
   * collector until it fired, up to `taskTimeout` ms (or a task's own `timeout`) after its stop;
   * in an application that makes a pool per job, every pool it stopped in that time.
   */
  clear(): void {
    for (const list of this.#lists.values()) {
      clearTimeout(list.timer);
      list.timer = undefined;
      while (list.first !== undefined) list.unlink(list.first);
    }
    this.#lists.clear();
  }

  /** Set the list's timer for its first deadline. */
  #schedule(ms: number, list: DeadlineList<T, H>, now: number): void {
    // Node's timers run on the loop's clock, which may lag this one by a fraction of a ms: a timer
    // that fires early finds nothing due and sets itself again, at least 1 ms later.
    const delay = Math.max(1, Math.ceil((list.first as TaskDeadline<T, H>).at - now));
    list.timer = setTimeout(() => this.#fire(ms, list), delay);
    list.timer.unref();
  }

  #fire(ms: number, list: DeadlineList<T, H>): void {
    list.timer = undefined;
    const now = monotonicMs();
    for (let d = list.first; d !== undefined && d.at <= now; d = list.first) {
      list.unlink(d);
      this.#expire(d.task, d.handle);
    }
    if (list.timer !== undefined) return; // `expire` armed a deadline of this duration, which set the timer
    if (list.first !== undefined) this.#schedule(ms, list, now);
    else this.#lists.delete(ms);
  }
}
