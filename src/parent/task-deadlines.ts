/**
 * Task timeouts without a Node timer, and a closure, per task: with `taskTimeout` set, a
 * `setTimeout` and a `clearTimeout` for every task cost about a fifth of workload A's throughput.
 * Tasks given the same duration form one list, in the order they were sent, which is also the
 * order of their deadlines; each list keeps at most one Node timer, for its first deadline. Arming
 * appends and cancelling unlinks, both O(1); a timer that finds its list's first task gone or not
 * yet due sets itself again for the new first one. The timers are unref'd: a task in flight has a
 * worker, whose pipe keeps the process alive, and a pool without tasks in flight must not be kept.
 *
 * A list that empties keeps its timer, so that the next task of that duration sets none: while
 * the pool uses at most {@link KEEP_EMPTIED} durations. Past that, a list that empties is dropped
 * with its timer at once. Tasks given a duration each (`timeout: budget - elapsed`) made a list and
 * a timer each, kept until that timeout had passed: 100,000 tasks with 10-minute timeouts, settled
 * in a second, held 50 MB and 100,000 timers for 10 minutes (memory that grew with the tasks
 * settled within a timeout, not with those in flight).
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
    const list = this.list;
    if (list === undefined) return;
    list.unlink(this);
    if (list.first === undefined) list.owner.emptied(list);
  }
}

/**
 * Durations whose lists are kept, timer and all, once they empty: a pool uses a few (its
 * `taskTimeout`, the `timeout`s its calls give), and refilling a kept list sets no timer.
 */
export const KEEP_EMPTIED = 64;

/** The deadlines of one duration, earliest first. */
class DeadlineList<T, H> {
  readonly ms: number;
  readonly owner: TaskDeadlines<T, H>;
  first: TaskDeadline<T, H> | undefined = undefined;
  last: TaskDeadline<T, H> | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;

  constructor(ms: number, owner: TaskDeadlines<T, H>) {
    this.ms = ms;
    this.owner = owner;
  }

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
    if (list === undefined) this.#lists.set(ms, (list = new DeadlineList(ms, this)));
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

  /** Durations with a list (with deadlines, or emptied and kept with its timer). */
  get durations(): number {
    return this.#lists.size;
  }

  /**
   * `list`'s last deadline was cancelled: past {@link KEEP_EMPTIED} durations, the list goes now
   * with its timer, rather than when that timer fires.
   */
  emptied(list: DeadlineList<T, H>): void {
    if (this.#lists.size <= KEEP_EMPTIED || this.#lists.get(list.ms) !== list) return;
    clearTimeout(list.timer);
    list.timer = undefined;
    this.#lists.delete(list.ms);
  }

  /** Set the list's timer for its first deadline. */
  #schedule(ms: number, list: DeadlineList<T, H>, now: number): void {
    // Node's timers run on the loop's clock, which may lag this one by a fraction of a ms: a timer
    // that fires early finds nothing due and sets itself again, at least 1 ms later.
    const delay = coarse(Math.max(1, Math.ceil((list.first as TaskDeadline<T, H>).at - now)));
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
    else if (this.#lists.get(ms) === list) this.#lists.delete(ms); // a list made meanwhile, when `expire` dropped this one, stays
  }
}

/**
 * The delay Node is given for a timer due in `ms`: `ms` below 16, else `ms` rounded down to its
 * 4 leading bits (at most an eighth early; the timer then finds nothing due and sets itself again
 * for the rest, a few times at most). Node keeps about 100 bytes for good for each delay an unref'd
 * timer was ever given (measured on Node 20.20: its timer lists by duration live in an object that does not
 * shrink): set for the time left until a list's first deadline, delays took every value up to the
 * longest timeout, and tasks with a timeout each a value each, 110 MB after a million.
 * Rounded, they take about 230 values whatever the timeouts.
 */
export function coarse(ms: number): number {
  if (ms < 16) return ms;
  const unit = 2 ** (28 - Math.clz32(ms)); // the bit 4 places below the leading one
  return Math.floor(ms / unit) * unit;
}
