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
 * previous one (which may be async) has settled, so slow ticks never overlap. `tick` must not
 * throw; a rejection is ignored here (the reporters catch and report their own errors).
 */
export class Ticker {
  readonly #clock: Clock;
  readonly #interval: number;
  readonly #tick: () => void | Promise<void>;
  #timer: ClockTimer | undefined;
  #running = false;

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
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = this.#clock.setTimer(() => void this.#run(), this.#interval);
  }

  async #run(): Promise<void> {
    this.#timer = undefined;
    try {
      await this.#tick();
    } catch {
      // never reached with the reporters' ticks; a ticker must survive anyway
    }
    this.#schedule();
  }
}
