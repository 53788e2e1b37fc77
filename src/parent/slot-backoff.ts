/**
 * How long each worker slot waits before its replacement starts: at once after a worker that
 * lived, then 100 ms, 200 ms, 400 ms … up to 30 s while its replacements keep failing to start
 * (or die right after their start), reset once one lives.
 */
import { monotonicMs } from '../internal/monotonic.ts';
import type { WorkerHandle } from './worker-handle.ts';

const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 30_000;
/**
 * A worker that dies (not for a stop or a recycle) sooner than this after it became ready, and
 * finished no task, counts as a failed start for its slot's backoff: a worker that crashes right
 * after each start (a timer in initialize(), a rejection it left for later) was replaced at once,
 * ten times a second. One that finished a task proved its start: what killed it came with its
 * tasks, and a backoff doubled at each such death left a pool whose tasks crash it now and then
 * idle for up to 30 s with tasks queued.
 */
const STABLE_MS = 1000;

export class SlotBackoff {
  /** Failed starts (and deaths right after a start) in a row, by slot. */
  readonly #failures: number[];
  /** When each slot's worker last became ready (`monotonicMs()`); undefined for a slot never ready. */
  readonly #readyAt: (number | undefined)[] = [];

  constructor(size: number) {
    this.#failures = new Array<number>(size).fill(0);
  }

  /** Slot `n`'s worker became ready: its backoff starts over once it has lived STABLE_MS or finished a task. */
  ready(n: number): void {
    this.#readyAt[n] = monotonicMs();
  }

  /** Whether slot `n` has had a worker ready, ever. */
  everReady(n: number): boolean {
    return this.#readyAt[n] !== undefined;
  }

  /** `handle` exited: a failed start, or a death right after its start, counts against its slot; any other exit clears it. */
  exited(handle: WorkerHandle): void {
    const n = handle.number;
    const diedAtStart =
      handle.exitReason !== 'stop' && handle.exitReason !== 'recycle' && handle.tasks.counts.done === 0 && monotonicMs() - (this.#readyAt[n] ?? 0) < STABLE_MS;
    this.#failures[n] = handle.initError || diedAtStart ? (this.#failures[n] ?? 0) + 1 : 0;
  }

  /** Milliseconds before slot `n`'s replacement starts. */
  delay(n: number): number {
    const failures = this.#failures[n] ?? 0;
    return failures === 0 ? 0 : Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
  }
}
