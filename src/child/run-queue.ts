/**
 * Where a worker's tasks wait between arriving and starting. A task starts as soon as it
 * arrives, until one loop turn has spent {@link TURN_BUDGET_MS} starting tasks (their
 * synchronous part: CPU-bound work); later arrivals then wait here and start over the next
 * turns, at least one a turn. Between those turns the loop reads the parent's messages: an
 * abort, a ping, or a request to hand unstarted tasks back to an idle worker (`takeBack`).
 *
 * While tasks wait, small answers are held (`hold(true)`) and go out together once none waits,
 * or once they have been held {@link MAX_HOLD_MS}: a write per turn would wake the parent every
 * few milliseconds, and on a machine with few cores each wake-up takes a CPU from a busy worker;
 * a hold without end would keep the first answers of a long backlog until its last task ran.
 */
import { Deque } from '../internal/deque.ts';
import { monotonicMs } from '../internal/monotonic.ts';

/** How long one loop turn may spend starting tasks before the rest wait for the next turn. */
export const TURN_BUDGET_MS = 10;
/** How long answers may be held while tasks wait before they go out anyway. */
export const MAX_HOLD_MS = 250;
/**
 * While a turn starts tasks as they arrive, the clock is read before each of its first
 * `CHECK_EVERY` tasks after the first, then before every `CHECK_EVERY`th (a look costs ~50 ns):
 * a first task that runs long defers the next, and a run of tiny tasks reads it rarely.
 */
const CHECK_EVERY = 4;

export interface RunQueueHooks<C> {
  /** Start the task now. Must not throw. */
  start(ctx: C, payload: unknown): void;
  /** Whether a waiting task is still to be started (false: it was aborted or handed back meanwhile). */
  isLive(ctx: C): boolean;
  /** Hold small answers back (true) or let them go out (false). */
  hold(held: boolean): void;
  /** Write out the answers held so far, and go on holding. */
  flush(): void;
  /** The last waiting task started or was taken back: none waits now (not called by `clear()`). */
  emptied(): void;
}

interface Waiting<C> {
  readonly ctx: C;
  readonly payload: unknown;
}

export class RunQueue<C> {
  readonly #hooks: RunQueueHooks<C>;
  readonly #now: () => number;
  readonly #waiting = new Deque<Waiting<C>>();
  /** When the current turn started its first task (on `#now`), or -1 between turns. */
  #turnStart = -1;
  #startedInTurn = 0;
  #scheduled = false;
  /** When answers began to be held, or were last written out while held. */
  #heldSince = 0;
  readonly #endTurn = (): void => {
    this.#turnStart = -1;
  };
  readonly #runWaiting = (): void => this.#drainTurn();

  /** `now`: the clock budgets and holds are measured on (tests pass one they move themselves). */
  constructor(hooks: RunQueueHooks<C>, now: () => number = monotonicMs) {
    this.#hooks = hooks;
    this.#now = now;
  }

  /** Tasks waiting (some may have been aborted since). */
  get length(): number {
    return this.#waiting.length;
  }

  /** Start a task that just arrived, or queue it behind those waiting or when this turn has run long. */
  submit(ctx: C, payload: unknown): void {
    if (this.#waiting.length > 0) return this.#wait(ctx, payload);
    if (this.#turnStart < 0) {
      // The turn ends when the code that called this returns: microtasks run right after it.
      this.#turnStart = this.#now();
      this.#startedInTurn = 0;
      queueMicrotask(this.#endTurn);
    } else {
      const n = ++this.#startedInTurn;
      if ((n <= CHECK_EVERY || n % CHECK_EVERY === 0) && this.#now() - this.#turnStart > TURN_BUDGET_MS) return this.#wait(ctx, payload);
    }
    this.#hooks.start(ctx, payload);
  }

  /**
   * Remove up to `n` of the tasks that arrived last, are still live and are not to be kept (to
   * hand them to another worker), in the order they arrived. Kept tasks keep their places.
   */
  takeBack(n: number, keep: (ctx: C) => boolean = () => false): C[] {
    const out: C[] = [];
    const kept: Waiting<C>[] = [];
    while (out.length < n) {
      const w = this.#waiting.pop();
      if (w === undefined) break;
      if (keep(w.ctx)) kept.push(w);
      else if (this.#hooks.isLive(w.ctx)) out.push(w.ctx);
    }
    for (let i = kept.length - 1; i >= 0; i--) this.#waiting.push(kept[i] as Waiting<C>);
    if (this.#waiting.length === 0) {
      this.#hooks.hold(false);
      if (out.length > 0) this.#hooks.emptied();
    }
    return out.reverse();
  }

  /** Forget every waiting task (the worker stops without draining). */
  clear(): void {
    this.#waiting.drain();
    this.#hooks.hold(false);
  }

  #wait(ctx: C, payload: unknown): void {
    if (this.#waiting.length === 0) {
      this.#hooks.hold(true);
      this.#heldSince = this.#now();
      this.#schedule(this.#afterPoll);
    }
    this.#waiting.push({ ctx, payload });
  }

  /**
   * The waiting tasks' next turn comes after the loop has read its I/O once. When tasks begin to
   * wait, that takes two immediates (`#afterPoll`): one set from the poll phase, where tasks
   * arrive, runs before the next poll, and a task that waited behind one that blocked the loop
   * would start before the abort or the timeout sent for it meanwhile was read. A drain that ran
   * out of its budget sets one from the check phase, which runs after the next poll already.
   */
  #schedule(run: () => void): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(run);
  }

  readonly #afterPoll = (): void => {
    setImmediate(this.#runWaiting);
  };

  #drainTurn(): void {
    this.#scheduled = false;
    const started = this.#now();
    for (let w = this.#waiting.shift(); w !== undefined; w = this.#waiting.shift()) {
      if (this.#hooks.isLive(w.ctx)) this.#hooks.start(w.ctx, w.payload);
      const now = this.#now();
      if (this.#waiting.length > 0 && now - started > TURN_BUDGET_MS) {
        if (now - this.#heldSince >= MAX_HOLD_MS) {
          this.#hooks.flush();
          this.#heldSince = now;
        }
        this.#schedule(this.#runWaiting);
        return;
      }
    }
    this.#hooks.hold(false);
    this.#hooks.emptied();
  }
}
