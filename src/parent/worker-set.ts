/**
 * The pool's worker processes by number: spawning, replacing a dead one (same number, new pid)
 * with exponential backoff while replacements keep failing to start, and waiting for them all
 * to be gone.
 */
import type { ResolvedPoolOptions } from '../options.ts';
import { WorkerHandle, type HandleEvents } from './worker-handle.ts';

const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 30_000;

export class WorkerSet {
  /** Index = worker number; undefined while a replacement is pending. Also the dispatcher's slots. */
  readonly handles: (WorkerHandle | undefined)[];
  restarts = 0;
  readonly #options: ResolvedPoolOptions;
  readonly #events: HandleEvents;
  readonly #timers: (NodeJS.Timeout | undefined)[];
  readonly #failures: number[];

  constructor(options: ResolvedPoolOptions, events: HandleEvents) {
    this.#options = options;
    this.#events = events;
    this.handles = new Array<WorkerHandle | undefined>(options.size).fill(undefined);
    this.#timers = new Array<NodeJS.Timeout | undefined>(options.size).fill(undefined);
    this.#failures = new Array<number>(options.size).fill(0);
  }

  spawnAll(): void {
    for (let n = 0; n < this.handles.length; n++) this.spawn(n);
  }

  spawn(n: number): WorkerHandle {
    const handle = new WorkerHandle(n, this.#options, this.#events);
    this.handles[n] = handle;
    return handle;
  }

  /** A handle became ready: its slot's failure streak is over. */
  started(handle: WorkerHandle): void {
    this.#failures[handle.number] = 0;
  }

  /** A handle exited: forget it (and count a failed start). */
  exited(handle: WorkerHandle): void {
    if (this.handles[handle.number] === handle) this.handles[handle.number] = undefined;
    if (handle.initError) this.#failures[handle.number] = (this.#failures[handle.number] ?? 0) + 1;
  }

  /** Replace worker `n`, at once after a crash, with backoff while its replacements fail to start. */
  respawn(n: number): void {
    if (this.#timers[n] || this.handles[n]) return;
    const failures = this.#failures[n] ?? 0;
    const delay = failures === 0 ? 0 : Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
    this.restarts++;
    this.#timers[n] = setTimeout(() => {
      this.#timers[n] = undefined;
      this.spawn(n);
    }, delay);
  }

  cancelRespawns(): void {
    for (let n = 0; n < this.#timers.length; n++) {
      clearTimeout(this.#timers[n]);
      this.#timers[n] = undefined;
    }
  }

  isRespawning(n: number): boolean {
    return this.#timers[n] !== undefined;
  }

  live(): WorkerHandle[] {
    return this.handles.filter((h): h is WorkerHandle => h !== undefined && h.state !== 'exited');
  }

  /** No process left and none about to be started. */
  get empty(): boolean {
    return this.live().length === 0 && this.#timers.every((t) => t === undefined);
  }
}
