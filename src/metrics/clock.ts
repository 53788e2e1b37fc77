/**
 * Time for the reporters: a monotonic `now()` and unref'd one-shot timers, injected so unit tests
 * can drive reporting with a fake clock instead of waiting.
 *
 * The metrics code uses the global `performance` and loads node:perf_hooks only when it needs it:
 * every worker loads this code (looppool/worker exports ResourceReporter), and an import would
 * load perf_hooks at the worker's start (~1-2 ms of CPU) even when no metrics are reported.
 */

/** A scheduled callback; `cancel()` is safe to call more than once. */
export interface ClockTimer {
  cancel(): void;
}

/** Where the reporters read the time and schedule their next tick. */
export interface Clock {
  /** Milliseconds from an arbitrary origin; never goes backwards. */
  now(): number;
  /** Run `callback` once after `ms`. The timer must not keep the process alive. */
  setTimer(callback: () => void, ms: number): ClockTimer;
}

/** The real clock: `performance.now()` and `setTimeout(...).unref()`. */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => performance.now(),
  setTimer(callback: () => void, ms: number): ClockTimer {
    const timer = setTimeout(callback, ms);
    // A reporter must never be the reason a process stays up (looppool's ResourceReporter
    // ran as a daemon coroutine for the same reason).
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
});

/**
 * Runs `tick` every `interval` ms with a chained timer: the next tick is scheduled only once the
 * previous one (which may be async) has settled, so slow ticks never overlap. Ticks keep to the
 * grid set at `start()` (start + k × interval): a timer set `interval` after each tick settled
 * drifted by the tick's own time (a pool report waits for its pidusage reading, about 5 ms), and
 * against statsd's flush a drifting report lands twice in one flush and in none of the next (a
 * counter read 0, then double). A tick that ran past its next slot skips to the slot after.
 * `tick` must not throw; a rejection is ignored here (the reporters catch and report their own errors).
 */
export class Ticker {
  readonly #clock: Clock;
  readonly #interval: number;
  readonly #tick: () => void | Promise<void>;
  #timer: ClockTimer | undefined;
  #running = false;
  /** When the next tick is due, on the clock. */
  #due = 0;

  constructor(clock: Clock, interval: number, tick: () => void | Promise<void>) {
    this.#clock = clock;
    this.#interval = interval;
    this.#tick = tick;
  }

  get isRunning(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#due = this.#clock.now() + this.#interval;
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #schedule(): void {
    if (!this.#running) return;
    const now = this.#clock.now();
    if (this.#due <= now) this.#due += Math.ceil((now - this.#due + 1) / this.#interval) * this.#interval;
    this.#timer = this.#clock.setTimer(() => void this.#run(), Math.min(this.#due - now, this.#interval));
  }

  async #run(): Promise<void> {
    this.#timer = undefined;
    try {
      await this.#tick();
    } catch {
      // never reached with the reporters' ticks; a ticker must survive anyway
    }
    this.#due += this.#interval; // the slot after the one that just ran (a timer may fire a fraction of a ms early)
    this.#schedule();
  }
}
