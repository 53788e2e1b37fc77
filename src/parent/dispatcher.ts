/**
 * Fair, credit-based dispatch: one FIFO of tasks waiting in the parent (plus one per worker for
 * tasks sent to a given worker), and a credit count per worker. A worker never holds more than
 * `capacity` tasks; a task waits here, not in a busy child, so an idle worker is never starved.
 * While a worker of the pool's start is not ready yet, a ready one takes only its fair share of
 * the tasks for any worker (see `pump`). A task a worker handed back goes to another worker
 * (see `requeue`). Pure: it sees workers only through the read-only {@link WorkerSlot} view, and
 * the number of workers starting.
 */
import { Deque } from '../internal/deque.ts';
import type { DispatchPolicy } from '../options.ts';

export interface WorkerSlot {
  readonly inFlight: number;
  /** False while starting, stopping, or gone. */
  readonly accepting: boolean;
}

export interface Queueable {
  readonly id: number;
  readonly target: number;
  cancelled: boolean;
}

/** Cancelled tasks a queue may hold before they are all dropped at once (then only while they outnumber the live ones). */
export const COMPACT_AFTER = 1024;

export class Dispatcher<T extends Queueable> {
  readonly #policy: DispatchPolicy;
  readonly #capacity: number;
  readonly #assign: (task: T, slot: number) => void;
  readonly #global = new Deque<T>();
  readonly #targeted: Deque<T>[] = [];
  #targetedCount = 0;
  #queued = 0;
  /** Cancelled tasks still in the deques: dropped when their turn comes, or all at once when they outnumber the live ones. */
  #cancelledHeld = 0;
  #next = 0;
  #last = -1;
  /**
   * Queued tasks a worker handed back, and that worker's number (see `requeue`). Few, and empty
   * most of the time: the one check a task pays when it is (`pump`).
   */
  readonly #handedBack = new Map<T, number>();
  slots: (WorkerSlot | undefined)[] = [];
  /** How many workers of the pool's start are not ready yet (a replacement is not counted); O(1): read once a pump. */
  startingWorkers: () => number = () => 0;

  constructor(policy: DispatchPolicy, capacity: number, assign: (task: T, slot: number) => void) {
    this.#policy = policy;
    this.#capacity = capacity;
    this.#assign = assign;
  }

  /** Tasks waiting in the parent (not cancelled). */
  get queued(): number {
    return this.#queued;
  }

  enqueue(task: T): void {
    this.#queued++;
    if (task.target < 0) {
      this.#global.push(task);
      return;
    }
    (this.#targeted[task.target] ??= new Deque<T>()).push(task);
    this.#targetedCount++;
  }

  /**
   * Put a task back at the head of its queue (a retry goes before newer tasks). `from`: the worker
   * that handed it back unstarted; it goes next to the least busy of the others with a free
   * credit, whatever the policy, and back to `from` only when none has one (round-robin's turn
   * could send it straight back: the idle worker it was handed back for stayed idle).
   */
  requeue(task: T, from = -1): void {
    this.#queued++;
    if (task.target < 0) {
      this.#global.unshift(task);
      if (from >= 0) this.#handedBack.set(task, from);
      return;
    }
    (this.#targeted[task.target] ??= new Deque<T>()).unshift(task);
    this.#targetedCount++;
  }

  /** Mark a queued task as cancelled; it is skipped when its turn comes. */
  cancel(task: T): void {
    if (task.cancelled) return;
    task.cancelled = true;
    this.#queued--;
    // Behind a head that does not move (no free credit), every task aborted there stayed (2-3 KB
    // each, its promise and error too) past maxQueue, which counts only live ones.
    if (++this.#cancelledHeld > COMPACT_AFTER && this.#cancelledHeld > this.#queued) this.#compact();
  }

  #compact(): void {
    const cancelled = (t: T): boolean => t.cancelled;
    this.#global.removeWhere(cancelled);
    for (const q of this.#targeted) if (q) this.#targetedCount -= q.removeWhere(cancelled);
    for (const task of this.#handedBack.keys()) if (task.cancelled) this.#handedBack.delete(task);
    this.#cancelledHeld = 0;
  }

  /**
   * A task for worker `target` (-1: any) would go out on the next pump: no task waits before it
   * and a worker has a free credit for it. Exact once the queue was pumped (then no free credit
   * is left that a queued task could take).
   */
  canSendNow(target: number): boolean {
    if (this.#head(this.#global) !== undefined) return false;
    if (target >= 0) {
      const q = this.#targeted[target];
      return (q === undefined || this.#head(q, true) === undefined) && this.#hasCredit(target);
    }
    const limit = this.#limit(1); // the task itself counts toward the share
    for (let i = 0; i < this.slots.length; i++) if (this.#hasCredit(i, limit)) return true;
    return false;
  }

  /** A queued task could go to worker `slot`: one for any worker, or one sent to it by number. */
  hasWorkFor(slot: number): boolean {
    if (this.#head(this.#global) !== undefined) return true;
    const q = this.#targeted[slot];
    return q !== undefined && this.#head(q, true) !== undefined;
  }

  /**
   * Hand out tasks while there are both tasks and free credits. While a worker of the pool's start
   * is not ready yet, a ready worker takes tasks for any worker only up to its fair
   * share, `ceil((queued + in flight on every worker) / size)` (at least 1, so the first task goes
   * out at once), and more as its answers come back: tasks submitted before the pool was ready
   * went all to the first worker ready, and async ones, started at once, were never handed back.
   */
  pump(): void {
    const limit = this.#limit(0); // a pump moves tasks from the queue to the workers: their sum stays
    for (;;) {
      if (this.#targetedCount > 0 && this.#pumpTargeted()) continue;
      const task = this.#head(this.#global);
      if (task === undefined) return;
      const slot = this.#handedBack.size === 0 ? this.#pick(limit) : this.#pickFor(task, limit);
      if (slot < 0) return;
      this.#global.shift();
      this.#queued--;
      this.#assign(task, slot);
    }
  }

  /** Remove and return every queued task (for a stop without drain). */
  takeAll(): T[] {
    const out = this.#global.drain();
    for (const q of this.#targeted) if (q) out.push(...q.drain());
    this.#targetedCount = 0;
    this.#queued = 0;
    this.#cancelledHeld = 0;
    this.#handedBack.clear();
    return leave(out).sort((a, b) => a.id - b.id);
  }

  #pumpTargeted(): boolean {
    const globalHead = this.#head(this.#global);
    for (let i = 0; i < this.#targeted.length; i++) {
      const q = this.#targeted[i];
      if (!q || q.length === 0 || !this.#hasCredit(i)) continue;
      const task = this.#head(q, true);
      if (task === undefined) continue;
      if (globalHead !== undefined && globalHead.id < task.id) continue; // older global task goes first
      q.shift();
      this.#targetedCount--;
      this.#queued--;
      this.#assign(task, i);
      return true;
    }
    return false;
  }

  /** First non-cancelled task of `q` (cancelled ones are dropped on the way). */
  #head(q: Deque<T>, targeted = false): T | undefined {
    let task = q.peek();
    while (task !== undefined && task.cancelled) {
      q.shift();
      this.#cancelledHeld = Math.max(0, this.#cancelledHeld - 1);
      if (targeted) this.#targetedCount--;
      else if (this.#handedBack.size !== 0) this.#handedBack.delete(task);
      task = q.peek();
    }
    return task;
  }

  /** How many tasks a worker may hold for tasks for any worker: its capacity, or its fair share while a worker starts (`extra`: tasks not yet queued). */
  #limit(extra: number): number {
    if (this.startingWorkers() === 0) return this.#capacity;
    let total = this.#queued + extra;
    for (const s of this.slots) if (s !== undefined) total += s.inFlight;
    return Math.min(this.#capacity, Math.max(1, Math.ceil(total / this.slots.length)));
  }

  #hasCredit(i: number, limit = this.#capacity): boolean {
    const s = this.slots[i];
    return s !== undefined && s.accepting && s.inFlight < limit;
  }

  #pick(limit: number): number {
    const n = this.slots.length;
    // An idle pool: the worker that took the last task is at 0 (the least busy there can be) and
    // still awake; sending it the next one saves a wake-up on another core (round trips are
    // twice as fast). Ties between busy workers rotate.
    const last = this.#last;
    if (this.#policy === 'least-busy' && last >= 0 && this.#hasCredit(last, limit) && (this.slots[last] as WorkerSlot).inFlight === 0) return last;
    let best = -1;
    if (this.#policy === 'round-robin') {
      for (let k = 0; k < n; k++) {
        const i = (this.#next + k) % n;
        if (this.#hasCredit(i, limit)) {
          best = i;
          break;
        }
      }
    } else {
      best = this.#leastBusy(limit);
    }
    if (best >= 0) {
      this.#next = (best + 1) % n;
      this.#last = best;
    }
    return best;
  }

  /** The worker with a free credit and the fewest tasks in flight but `skip`, from the turn's place (ties: the first); -1 for none. */
  #leastBusy(limit: number, skip = -1): number {
    const n = this.slots.length;
    let best = -1;
    let bestLoad = Infinity;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      if (i === skip || !this.#hasCredit(i, limit)) continue;
      const load = (this.slots[i] as WorkerSlot).inFlight;
      if (load < bestLoad) {
        best = i;
        bestLoad = load;
        if (load === 0) break;
      }
    }
    return best;
  }

  /**
   * The worker for `task` while the queue holds tasks handed back. One of them goes to the least
   * busy worker with a free credit other than the one that handed it back (the turn's place
   * stays where it is for the other tasks); failing that, like any other task, to the one the
   * policy picks (`#pick`: in a stop, the only worker not yet sent its pill may be the one that
   * handed it back). The caller sends it to the worker returned.
   */
  #pickFor(task: T, limit: number): number {
    const from = this.#handedBack.get(task);
    if (from === undefined) return this.#pick(limit);
    let best = this.#leastBusy(limit, from);
    if (best >= 0) this.#last = best;
    else best = this.#pick(limit);
    if (best >= 0) this.#handedBack.delete(task);
    return best;
  }
}

/**
 * The live tasks of `taken`, each marked as out of the queue: their caller fails them one by one,
 * and a listener that aborts another of them meanwhile (a `'taskError'` one aborting a batch's
 * signal) must not have `cancel` count it out of the queue a second time.
 */
function leave<T extends Queueable>(taken: T[]): T[] {
  const live = taken.filter((t) => !t.cancelled);
  for (const t of live) t.cancelled = true;
  return live;
}
