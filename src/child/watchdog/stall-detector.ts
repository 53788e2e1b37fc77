/**
 * Decides, from the main thread's last heartbeat, when a blocked episode starts. Pure: the
 * watchdog thread feeds it the heartbeat timestamp and the current time on each poll.
 */
export class StallDetector {
  readonly #thresholdMs: number;
  /** The heartbeat value of the episode already reported; a new beat ends the episode. */
  #reportedBeat: number | undefined;

  /** @param thresholdMs a loop silent for at least this long is blocked. */
  constructor(thresholdMs: number) {
    this.#thresholdMs = thresholdMs;
  }

  /**
   * One poll. Returns how long the loop has been blocked (ms) the first time an episode passes
   * the threshold, and `undefined` otherwise (healthy, or an episode already reported).
   * @param lastBeat time of the main thread's last heartbeat (ms, same clock as `now`).
   */
  observe(lastBeat: number, now: number): number | undefined {
    if (lastBeat !== this.#reportedBeat) this.#reportedBeat = undefined;
    const silentMs = now - lastBeat;
    if (silentMs < this.#thresholdMs || this.#reportedBeat !== undefined) return undefined;
    this.#reportedBeat = lastBeat;
    return silentMs;
  }
}
