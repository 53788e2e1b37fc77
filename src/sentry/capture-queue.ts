/**
 * Where a process's Sentry captures wait, so that they cost its event loop little and stay
 * bounded in an error storm. Capturing one event is synchronous work for the SDK (parsing the
 * stack, the context lines, the Node context, serializing and, over 32 KiB, gzipping the
 * envelope): 0.5–3 ms each on the 2-core CI machine, all in the loop turn that captured it. 50
 * tasks failing in one turn blocked a worker's loop for 90–430 ms; long enough for a hard
 * timeout's ping to go unanswered and the worker to be killed as blocked.
 *
 * So captures are queued and run one per loop turn (in the check phase, after the turn's own
 * work: a task's answer goes out first). At most `maxWaiting` wait; what comes beyond is dropped
 * and counted, and the next event sent says how many (`dropped`). And an error repeating fast
 * (the same `key`) is captured `perKey` times per interval; its further occurrences in that
 * interval are counted and sent as one event when the interval ends (`occurrences`), instead of
 * one event each.
 */
import { Deque } from '../internal/deque.ts';
import { monotonicMs } from '../internal/monotonic.ts';

/** What the event a capture sends stands for: the caller puts these on the event when not 1 and 0. */
export interface Tally {
  /** Occurrences of the error the event stands for, its own included (more than 1: repeats merged into it). */
  readonly occurrences: number;
  /** Captures of this process not sent since the previous event, because too many were waiting. */
  readonly dropped: number;
}

/** One capture: it sends its event when its turn comes. */
export type Send = (tally: Tally) => void;

export interface CaptureQueueOptions {
  /** Captures that may wait; later ones are dropped and counted. @default 100 */
  readonly maxWaiting?: number;
  /** Events per key and interval; further occurrences are merged into one event at its end. @default 10 */
  readonly perKey?: number;
  /** @default 1000 */
  readonly intervalMs?: number;
  /** Keys whose occurrences are counted at once; an error of another key is not limited. @default 100 */
  readonly maxKeys?: number;
  /** Runs `fn` in a later loop turn. @default setImmediate */
  readonly defer?: (fn: () => void) => void;
  readonly now?: () => number;
  /**
   * Runs before each capture, in its turn. A worker sends the answers its channel holds back
   * while tasks wait for their turn (child/run-queue.ts): a failed task's answer goes out before
   * its capture, which would otherwise run first.
   */
  readonly beforeRun?: (() => void) | undefined;
}

interface Entry {
  readonly send: Send;
  occurrences: number;
}

/** One key's interval: events sent in it, and the occurrences beyond `perKey`, held for its end. */
interface Window {
  readonly start: number;
  sent: number;
  held: Entry | undefined;
}

export class CaptureQueue {
  readonly #waiting = new Deque<Entry>();
  readonly #windows = new Map<string, Window>();
  readonly #maxWaiting: number;
  readonly #perKey: number;
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #defer: (fn: () => void) => void;
  readonly #now: () => number;
  readonly #beforeRun: (() => void) | undefined;
  #dropped = 0;
  #scheduled = false;
  #sweep: NodeJS.Timeout | undefined;
  /** Called once nothing waits. */
  #onEmpty: (() => void)[] = [];

  constructor(options: CaptureQueueOptions = {}) {
    this.#maxWaiting = options.maxWaiting ?? 100;
    this.#perKey = options.perKey ?? 10;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#maxKeys = options.maxKeys ?? 100;
    this.#defer = options.defer ?? ((fn) => void setImmediate(fn));
    this.#now = options.now ?? monotonicMs;
    this.#beforeRun = options.beforeRun;
  }

  /** Captures waiting to run (the occurrences held for an interval's end not included). */
  get length(): number {
    return this.#waiting.length;
  }

  /** Queue a capture; `key` names the error for the per-key limit (undefined: none applies). */
  add(key: string | undefined, send: Send): void {
    const window = key === undefined ? undefined : this.#window(key);
    if (window === undefined || window.sent < this.#perKey) {
      if (window) window.sent++;
      this.#push({ send, occurrences: 1 });
    } else if (window.held) {
      window.held.occurrences++;
    } else {
      window.held = { send, occurrences: 1 };
    }
  }

  /**
   * Queue the occurrences held for their interval's end now, and call `done` once every capture
   * has run (at once when none waits). Before a flush.
   */
  release(done: () => void): void {
    for (const window of this.#windows.values()) this.#releaseHeld(window);
    this.#windows.clear();
    clearTimeout(this.#sweep);
    this.#sweep = undefined;
    if (this.#waiting.length === 0) done();
    else this.#onEmpty.push(done);
  }

  /** Forget everything waiting and held (the client closed). */
  clear(): void {
    this.#waiting.clear();
    this.#windows.clear();
    clearTimeout(this.#sweep);
    this.#sweep = undefined;
    for (const done of this.#onEmpty.splice(0)) done();
  }

  /** `key`'s current interval (a new one when the last ended); undefined when too many keys are counted. */
  #window(key: string): Window | undefined {
    const now = this.#now();
    const current = this.#windows.get(key);
    if (current && now - current.start < this.#intervalMs) return current;
    if (current) {
      this.#releaseHeld(current);
      this.#windows.delete(key);
    } else if (this.#windows.size >= this.#maxKeys) {
      return undefined;
    }
    const window: Window = { start: now, sent: 0, held: undefined };
    this.#windows.set(key, window);
    this.#armSweep();
    return window;
  }

  #releaseHeld(window: Window): void {
    if (window.held) this.#push(window.held);
    window.held = undefined;
  }

  /**
   * Ends the intervals that are over (their held occurrences go out) when the earliest of them
   * ends, while any are counted. A timer may fire a little before its time by this clock (Node
   * measures it from the loop turn's start): an interval not quite over is then ended by a
   * timer set for what it has left, not one a whole interval later.
   */
  #armSweep(): void {
    if (this.#sweep) return;
    let earliest = Infinity;
    for (const window of this.#windows.values()) earliest = Math.min(earliest, window.start);
    if (earliest === Infinity) return;
    const delay = Math.max(1, Math.ceil(earliest + this.#intervalMs - this.#now()));
    this.#sweep = setTimeout(() => {
      this.#sweep = undefined;
      const now = this.#now();
      for (const [key, window] of this.#windows) {
        if (now - window.start < this.#intervalMs) continue;
        this.#releaseHeld(window);
        this.#windows.delete(key);
      }
      this.#armSweep();
    }, delay);
    this.#sweep.unref(); // held occurrences are released by a flush; they must not keep a process up
  }

  #push(entry: Entry): void {
    if (this.#waiting.length >= this.#maxWaiting) {
      this.#dropped += entry.occurrences;
      return;
    }
    this.#waiting.push(entry);
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#defer(this.#runOne);
  }

  /** One capture per loop turn: a burst of them never holds the loop for more than one. */
  readonly #runOne = (): void => {
    this.#scheduled = false;
    const entry = this.#waiting.shift();
    if (entry) {
      const dropped = this.#dropped;
      this.#dropped = 0;
      try {
        this.#beforeRun?.();
        entry.send({ occurrences: entry.occurrences, dropped });
      } catch {
        // a capture must not break the loop turn it runs in; capture.ts already guards each
      }
    }
    if (this.#waiting.length > 0) {
      this.#scheduled = true;
      this.#defer(this.#runOne);
    } else {
      for (const done of this.#onEmpty.splice(0)) done();
    }
  };
}
